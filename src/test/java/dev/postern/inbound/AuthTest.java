package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.auth.PasswordFile;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SMTP AUTH (RFC 4954) on a real gateway: only inside TLS, only on submission, relay for the authenticated. */
class AuthTest {
    @TempDir static Path data;
    static Gateway gateway;
    static InetSocketAddress mx;
    static InetSocketAddress submission;

    @BeforeAll static void start() throws Exception {
        PasswordFile.empty().with("alice", "correct horse".toCharArray()).save(PasswordFile.defaultPath(data));
        Config c = TestConfigs.gateway(data, "gw.test", Set.of("postern.test"));
        // No relay networks: only AUTH opens relaying here.
        c = new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                List.of(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), c.routes());
        gateway = Gateway.start(c);
        mx = gateway.boundAddresses().get(0);
        submission = gateway.boundAddresses().get(1);
    }

    @AfterAll static void stop() {
        gateway.close();
    }

    static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static SmtpTestClient tls(InetSocketAddress where) throws Exception {
        SmtpTestClient c = SmtpTestClient.connect(where);
        c.read();
        c.command("EHLO client.test");
        c.startTls();
        return c;
    }

    @Test void authIsOfferedOnlyInsideTlsOnSubmission() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(submission)) {
            c.read();
            assertThat(c.command("EHLO client.test").lines()).noneMatch(l -> l.contains("AUTH"));
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).startsWith("538 5.7.11");
        }
        try (SmtpTestClient c = tls(submission)) {
            assertThat(c.command("EHLO client.test").lines()).contains("250-AUTH SCRAM-SHA-256 PLAIN LOGIN");
        }
        try (SmtpTestClient c = tls(mx)) {
            assertThat(c.command("EHLO client.test").lines()).noneMatch(l -> l.contains("AUTH"));
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).startsWith("503 5.5.1");
        }
    }

    @Test void plainWithTheRightPasswordRelaysAndIsRecorded() throws Exception {
        try (SmtpTestClient c = tls(submission)) {
            c.command("EHLO client.test");
            c.command("MAIL FROM:<alice@postern.test>");
            assertThat(c.command("RCPT TO:<bob@far.example>").last()).isEqualTo("554 5.7.1 Relay access denied");
            c.command("RSET");
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).startsWith("235 2.7.0");
            assertThat(c.command("MAIL FROM:<alice@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<bob@far.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<carol@postern.test>").code()).isEqualTo(250);
            c.command("DATA");
            c.send("Subject: auth\r\n\r\nhi\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
        }
        Path box = data.resolve("mail/postern.test/carol/new");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.isDirectory(box) && Files.list(box).count() == 1);
        try (Stream<Path> s = Files.list(box)) {
            String stored = Files.readString(s.findFirst().orElseThrow(), StandardCharsets.UTF_8);
            assertThat(stored).contains("\t(Authenticated sender: alice)\r\n", "with ESMTPSA id ");
        }
    }

    @Test void loginExchangeAndWrongPasswords() throws Exception {
        try (SmtpTestClient c = tls(submission)) {
            c.command("EHLO client.test");
            assertThat(c.command("AUTH LOGIN").last()).isEqualTo("334 VXNlcm5hbWU6");
            assertThat(c.command(Base64.getEncoder().encodeToString("alice".getBytes())).last())
                    .isEqualTo("334 UGFzc3dvcmQ6");
            assertThat(c.command(Base64.getEncoder().encodeToString("wrong".getBytes())).last())
                    .startsWith("535 5.7.8");
            assertThat(c.command("AUTH PLAIN " + plain("mallory", "x")).last()).startsWith("535 5.7.8");
            assertThat(c.command("AUTH PLAIN").last()).isEqualTo("334 ");
            assertThat(c.command("*").last()).startsWith("501 5.0.0");
            assertThat(c.command("AUTH CRAM-MD5").last()).startsWith("504 5.5.4");
            assertThat(c.command("AUTH LOGIN").code()).isEqualTo(334);
            c.command(Base64.getEncoder().encodeToString("alice".getBytes()));
            assertThat(c.command(Base64.getEncoder().encodeToString("correct horse".getBytes())).last())
                    .startsWith("235 2.7.0");
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).startsWith("503 5.5.1");
        }
    }
}
