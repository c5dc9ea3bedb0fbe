package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates.KeyType;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A real gateway, in-process: its certificate files are replaced on disk while it runs. New sessions must get the new
 * certificate within a few seconds, open sessions must go on, and broken files must change nothing.
 */
class GatewayCertificateReloadTest {
    @TempDir Path data;
    @TempDir Path files;
    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    final Logger logger = (Logger) LoggerFactory.getLogger(ReloadingServerContext.class);

    @BeforeEach void listen() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach void stopListening() {
        logger.detachAppender(logged);
    }

    @Test void newSessionsGetTheNewCertificateOpenSessionsGoOnAndBrokenFilesChangeNothing() throws Exception {
        Path cert = files.resolve("gw.crt");
        Path key = files.resolve("gw.key");
        KeyMaterial a = certificate("a.gw.example");
        KeyMaterial b = certificate("b.gw.example");
        Pem.write(a, cert, key);
        Config config = TestConfigs.withTls(TestConfigs.gateway(data, "gw.example", Set.of("example.com")), cert, key);

        try (Gateway gateway = Gateway.start(config)) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            InetSocketAddress submissions = gateway.boundAddresses().get(2);
            assertThat(startTlsCertificate(mx)).isEqualTo(a.leaf());
            assertThat(implicitTlsCertificate(submissions)).isEqualTo(a.leaf());

            try (SmtpTestClient open = SmtpTestClient.connect(mx)) {
                open.read();
                open.command("EHLO client.example");
                open.startTls();
                assertThat(peer(open)).isEqualTo(a.leaf());
                assertThat(open.command("EHLO client.example").code()).isEqualTo(250);

                replace(b, cert, key);

                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                        .until(() -> startTlsCertificate(mx).equals(b.leaf()));
                assertThat(implicitTlsCertificate(submissions)).isEqualTo(b.leaf());

                // The session opened before the change is still alive and still on certificate A.
                assertThat(open.command("NOOP").code()).isEqualTo(250);
                assertThat(peer(open)).isEqualTo(a.leaf());
                assertThat(open.command("MAIL FROM:<alice@client.example>").code()).isEqualTo(250);
                assertThat(open.command("RCPT TO:<bob@example.com>").code()).isEqualTo(250);
                assertThat(open.command("DATA").code()).isEqualTo(354);
                assertThat(open.command("Subject: across a reload\r\n\r\nhello\r\n.").code()).isEqualTo(250);
            }

            // Broken replacement: certificate C with B's key. B goes on being served, the gateway goes on working.
            KeyMaterial c = certificate("c.gw.example");
            replace(new KeyMaterial(b.key(), c.chain()), cert, key);
            await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(250))
                    .until(() -> startTlsCertificate(mx).equals(b.leaf()));
            assertThat(implicitTlsCertificate(submissions)).isEqualTo(b.leaf());
            assertThat(errors()).singleElement().asString().contains("key does not match certificate")
                    .contains("still serving CN=b.gw.example");

            // Fixed: C with its own key.
            replace(c, cert, key);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> startTlsCertificate(mx).equals(c.leaf()));
            assertThat(errors()).hasSize(1);
        }
    }

    @Test void theGeneratedSelfSignedCertificateIsWatchedToo() throws Exception {
        try (Gateway gateway = Gateway.start(TestConfigs.gateway(data, "gw.example", Set.of("example.com")))) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            Path cert = data.resolve("tls/self-signed.crt");
            Path key = data.resolve("tls/self-signed.key");
            X509Certificate generated = Pem.readCertificates(cert).getFirst();
            assertThat(startTlsCertificate(mx)).isEqualTo(generated);

            KeyMaterial renewed = certificate("gw.example");
            replace(renewed, cert, key);

            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> startTlsCertificate(mx).equals(renewed.leaf()));
        }
    }

    private static KeyMaterial certificate(String host) {
        return Certificates.selfSigned(List.of(host), KeyType.EC_P256, Duration.ofDays(30));
    }

    /** As an administrator would: write each file next to its target, then rename it over the target. */
    private static void replace(KeyMaterial material, Path cert, Path key) throws Exception {
        Path stagedCert = cert.resolveSibling(cert.getFileName() + ".new");
        Path stagedKey = key.resolveSibling(key.getFileName() + ".new");
        Pem.write(material, stagedCert, stagedKey);
        Files.move(stagedCert, cert, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Files.move(stagedKey, key, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static X509Certificate startTlsCertificate(InetSocketAddress mx) throws Exception {
        try (SmtpTestClient client = SmtpTestClient.connect(mx)) {
            assertThat(client.read().code()).isEqualTo(220);
            client.command("EHLO client.example");
            client.startTls();
            X509Certificate seen = peer(client);
            assertThat(client.command("EHLO client.example").code()).isEqualTo(250);
            client.command("QUIT");
            return seen;
        }
    }

    private static X509Certificate implicitTlsCertificate(InetSocketAddress submissions) throws Exception {
        try (SmtpTestClient client = SmtpTestClient.connectTls(submissions)) {
            assertThat(client.read().code()).isEqualTo(220);
            X509Certificate seen = peer(client);
            client.command("QUIT");
            return seen;
        }
    }

    private static X509Certificate peer(SmtpTestClient client) throws Exception {
        return (X509Certificate) ((SSLSocket) client.socket()).getSession().getPeerCertificates()[0];
    }

    private List<String> errors() {
        return logged.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }
}
