package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two gateways on loopback: A relays to B, by static route and by MX; what arrives must be what was sent. */
class RelayIntegrationTest {
    @TempDir Path dataA;
    @TempDir Path dataB;

    static final String BODY = "From: alice@a.example\r\nTo: bob@b.example\r\nSubject: relay test\r\n"
            + "Message-ID: <1@a.example>\r\n\r\nHello Bob,\r\n.a line starting with a dot\r\n..two dots\r\n"
            + "8-bit: caf\u00e9\r\nbye\r\n";

    @Test void relaysByStaticRouteOverStartTlsByteExact() throws Exception {
        try (Gateway b = Gateway.start(TestConfigs.gateway(dataB, "mx.b.example", Set.of("b.example")))) {
            int portB = b.boundAddresses().getFirst().getPort();
            Config a = TestConfigs.withRelay(TestConfigs.gateway(dataA, "gw.a.example", Set.of("a.example")),
                    Set.of("b.example"), Map.of("b.example", new Config.Route("127.0.0.1", portB, false)));
            try (Gateway gwA = Gateway.start(a)) {
                send(gwA.boundAddresses().getFirst(), "alice@a.example", "bob@b.example", BODY);
                String stored = awaitMail(dataB, "bob@b.example");
                assertRelayed(stored);
                await().atMost(Duration.ofSeconds(10)).until(() -> gwA.spool().list().isEmpty());
            }
        }
    }

    @Test void relaysByMxLookupAgainstALoopbackDnsServer() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             Gateway b = Gateway.start(TestConfigs.gateway(dataB, "mx.b.example", Set.of("b.example")))) {
            int portB = b.boundAddresses().getFirst().getPort();
            dns.mx("b.example", 20, "mx2.b.example").mx("b.example", 10, "mx1.b.example")
                    .a("mx1.b.example", "127.0.0.1").a("mx2.b.example", "127.0.0.2");
            Config a = TestConfigs.withDns(TestConfigs.withRelay(
                    TestConfigs.gateway(dataA, "gw.a.example", Set.of("a.example")), Set.of("b.example"), Map.of()),
                    dns.address(), portB);
            try (Gateway gwA = Gateway.start(a)) {
                send(gwA.boundAddresses().getFirst(), "alice@a.example", "bob@b.example", BODY);
                assertRelayed(awaitMail(dataB, "bob@b.example"));
            }
        }
    }

    @Test void nullMxBouncesToTheSender() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start()) {
            dns.nullMx("nomail.example");
            Config a = TestConfigs.withDns(TestConfigs.withRelay(
                    TestConfigs.gateway(dataA, "gw.a.example", Set.of("a.example")), Set.of("nomail.example"),
                    Map.of()), dns.address(), 25);
            try (Gateway gwA = Gateway.start(a)) {
                send(gwA.boundAddresses().getFirst(), "alice@a.example", "x@nomail.example", BODY);
                String dsn = awaitMail(dataA, "alice@a.example");
                assertThat(dsn).contains("multipart/report", "report-type=delivery-status",
                        "Final-Recipient: rfc822; x@nomail.example", "Action: failed", "Status: 5.1.10",
                        "null MX", "Subject: relay test");
                await().atMost(Duration.ofSeconds(10)).until(() -> gwA.spool().list().isEmpty());
            }
        }
    }

    private static void assertRelayed(String stored) {
        // B's Maildir copy: Delivered-To, B's Received (from A, over TLS), A's Received (from the client), then
        // the message exactly as the client sent it.
        assertThat(stored).startsWith("Delivered-To: bob@b.example\r\nReceived: from gw.a.example ([127.0.0.1])\r\n"
                + "\t(using TLSv1.3 with cipher ");
        int second = stored.indexOf("Received: from client.test ([127.0.0.1])\r\n\t(using TLSv1.3 with cipher ");
        assertThat(second).isPositive();
        assertThat(stored).endsWith(BODY);
        String headers = stored.substring(0, stored.length() - BODY.length());
        assertThat(headers.split("\r\n(?!\t)")).hasSize(3);
    }

    static void send(InetSocketAddress to, String from, String rcpt, String body) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(to)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls();
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<" + from + "> BODY=8BITMIME").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            StringBuilder stuffed = new StringBuilder();
            for (String line : body.split("\r\n", -1)) {
                if (!stuffed.isEmpty()) stuffed.append("\r\n");
                stuffed.append(line.startsWith(".") ? "." + line : line);
            }
            c.send(stuffed + ".\r\n");
            assertThat(c.read().code()).isEqualTo(250);
        }
    }

    static String awaitMail(Path data, String rcpt) throws IOException {
        int at = rcpt.indexOf('@');
        Path dir = data.resolve("mail").resolve(rcpt.substring(at + 1)).resolve(rcpt.substring(0, at)).resolve("new");
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.isDirectory(dir) && count(dir) > 0);
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.toList();
            return Files.readString(files.getFirst(), StandardCharsets.UTF_8);
        }
    }

    private static long count(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}
