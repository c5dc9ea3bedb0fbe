package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.ResolverConfig;

/**
 * Issue 12: the client's forward-confirmed reverse DNS name in the session record and the Received header, with a
 * real DNS server on loopback. Each test connects from its own loopback address (127.0.0.N), whose PTR it sets.
 */
class InboundReverseDnsTest {
    @TempDir static Path dir;
    static final RecordingAudit audit = new RecordingAudit();
    static TestDnsServer dns;
    static Gateway gw;
    static InetSocketAddress mx;

    @BeforeAll static void start() throws Exception {
        dns = TestDnsServer.start();
        Config c = TestConfigs.withDns(TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test")),
                dns.address(), 25); // DNS timeout 2 s
        gw = Gateway.start(c, audit);
        mx = gw.boundAddresses().getFirst();
    }

    @AfterAll static void stop() {
        if (gw != null) gw.close();
        if (dns != null) dns.close();
    }

    /** EHLO {@code ehlo} and QUIT from {@code from}; returns the session's record. */
    static TlsSessionRecord session(String from, String ehlo) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx, InetAddress.ofLiteral(from))) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO " + ehlo).code()).isEqualTo(250);
            c.command("QUIT");
        }
        return audit.await(TlsSessionRecord.class, r -> ehlo.equals(r.ehloName()));
    }

    @Test void ptrThatResolvesBackIsRecorded() throws Exception {
        dns.ptr("127.0.0.1", "client.example").a("client.example", "127.0.0.1");
        TlsSessionRecord s = session("127.0.0.1", "confirmed.test");
        assertThat(s.peerIp()).isEqualTo("127.0.0.1");
        assertThat(s.reverseDns()).isEqualTo("client.example");
    }

    @Test void ptrThatDoesNotResolveBackIsNotRecorded() throws Exception {
        dns.ptr("127.0.0.2", "forged.example").a("forged.example", "192.0.2.1");
        TlsSessionRecord s = session("127.0.0.2", "forged.test");
        assertThat(s.peerIp()).isEqualTo("127.0.0.2");
        assertThat(s.reverseDns()).isNull();
        assertThat(dns.udpQueryCount() + dns.tcpQueryCount()).as("the lookups were made").isGreaterThan(0);
    }

    @Test void aDnsServerThatNeverAnswersDelaysNothing() throws Exception {
        dns.silent("3.0.0.127.in-addr.arpa");
        long start = System.nanoTime();
        Duration greeting;
        Duration ehlo;
        try (SmtpTestClient c = SmtpTestClient.connect(mx, InetAddress.ofLiteral("127.0.0.3"))) {
            assertThat(c.read().code()).isEqualTo(220);
            greeting = Duration.ofNanos(System.nanoTime() - start);
            long sent = System.nanoTime();
            assertThat(c.command("EHLO silent.test").code()).isEqualTo(250);
            ehlo = Duration.ofNanos(System.nanoTime() - sent);
            c.command("QUIT");
        }
        // The DNS timeout is 2 s: a dialogue that waited for the lookup would take that long.
        assertThat(greeting).isLessThan(Duration.ofMillis(500));
        assertThat(ehlo).isLessThan(Duration.ofMillis(500));
        TlsSessionRecord s = audit.await(TlsSessionRecord.class, r -> "silent.test".equals(r.ehloName()));
        assertThat(s.reverseDns()).isNull();
    }

    /** The name is in the Received header once the lookup has ended (here: from a first session, cached). */
    @Test void receivedHeaderNamesTheConfirmedName() throws Exception {
        dns.ptr("127.0.0.4", "sender.example").a("sender.example", "127.0.0.4");
        assertThat(session("127.0.0.4", "first.test").reverseDns()).isEqualTo("sender.example");
        try (SmtpTestClient c = SmtpTestClient.connect(mx, InetAddress.ofLiteral("127.0.0.4"))) {
            c.read();
            c.command("EHLO second.test");
            assertThat(c.command("MAIL FROM:<a@sender.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<rdns@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: x\r\n\r\nHello.\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
            c.command("QUIT");
        }
        Path box = dir.resolve("data/mail/postern.test/rdns/new");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> Files.isDirectory(box)
                && list(box).size() == 1);
        String stored = Files.readString(list(box).getFirst(), StandardCharsets.UTF_8);
        assertThat(stored).contains("Received: from second.test (sender.example [127.0.0.4])\r\n\tby gw.test ");
    }

    static List<Path> list(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    /**
     * Without [dns] servers the system's resolvers would be asked, and a loopback client is never looked up there.
     * dnsjava's "system" resolver is pointed at a test server on loopback (property dns.server) to see that no
     * query comes.
     */
    @Test void noLookupOfLoopbackWithoutConfiguredServers() throws Exception {
        try (TestDnsServer system = TestDnsServer.start()) {
            system.ptr("127.0.0.5", "system.example").a("system.example", "127.0.0.5");
            String before = System.getProperty("dns.server");
            System.setProperty("dns.server", "127.0.0.1:" + system.port());
            ResolverConfig.refresh();
            RecordingAudit own = new RecordingAudit();
            Gateway g = null;
            try {
                assertThat(ResolverConfig.getCurrentConfig().servers()).containsExactly(system.address());
                Config c = TestConfigs.gateway(dir.resolve("data-system"), "gw.test", Set.of("postern.test"));
                assertThat(c.dns().servers()).isEmpty();
                g = Gateway.start(c, own);
                try (SmtpTestClient client = SmtpTestClient.connect(g.boundAddresses().getFirst(),
                        InetAddress.ofLiteral("127.0.0.5"))) {
                    client.read();
                    client.command("EHLO system.test");
                    client.command("QUIT");
                }
                TlsSessionRecord s = own.await(TlsSessionRecord.class, r -> "system.test".equals(r.ehloName()));
                assertThat(s.reverseDns()).isNull();
                Thread.sleep(200); // a lookup started at accept would have reached the server by now
                assertThat(system.udpQueryCount() + system.tcpQueryCount()).isZero();
            } finally {
                if (g != null) g.close();
                if (before == null) System.clearProperty("dns.server");
                else System.setProperty("dns.server", before);
                ResolverConfig.refresh();
            }
        }
    }
}
