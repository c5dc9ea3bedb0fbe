package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern serve --data DIR} without a config file, as the README's quick start runs it: the three loopback
 * listeners on their fixed ports, mail for postern.test into a Maildir, and self-signed certificates (EC and RSA)
 * generated on the first start and reused on the next. Skipped when ports 2525, 2587 or 2465 are taken on this machine.
 */
class EmbeddedDefaultTest {
    private static final Map<String, InetSocketAddress> DEFAULT_LISTENERS = Map.of(
            "mx", new InetSocketAddress("127.0.0.1", 2525),
            "submission", new InetSocketAddress("127.0.0.1", 2587),
            "submissions", new InetSocketAddress("127.0.0.1", 2465));

    @TempDir Path data;
    @TempDir Path logs;

    @Test @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void servesOnTheDefaultPortsDeliversLocallyAndKeepsItsCertificate() throws Exception {
        assumePortsFree();
        byte[] certificate;
        byte[] key;
        byte[] rsaCertificate;
        byte[] rsaKey;
        byte[] presented;
        try (GatewayProcess first = GatewayProcess.start(data, logs, "first", "serve", "--data", data.toString())) {
            Map<String, InetSocketAddress> listeners = awaitListening(first);
            assertThat(listeners).as("%s", first.output()).containsExactlyInAnyOrderEntriesOf(DEFAULT_LISTENERS);
            assertThat(first.stdout()).contains("is running; data in " + data.toRealPath(),
                    "Configuration: embedded default", "Local domains: localhost, postern.test");

            presented = sendOverStartTls("user@postern.test", "Subject: hello from the embedded default test");
            Path inbox = data.resolve("mail/postern.test/user/new");
            await().atMost(Duration.ofSeconds(15)).until(() -> files(inbox).size() == 1);
            String stored = Files.readString(files(inbox).getFirst(), StandardCharsets.UTF_8);
            assertThat(stored).startsWith("Delivered-To: user@postern.test\r\nReceived: from client.test ([127.0.0.1])")
                    .contains("with ESMTPS id ", "Subject: hello from the embedded default test\r\n")
                    .endsWith("\r\nthe body\r\n");

            Path tls = data.resolve("tls");
            certificate = Files.readAllBytes(tls.resolve("self-signed.crt"));
            key = Files.readAllBytes(tls.resolve("self-signed.key"));
            rsaCertificate = Files.readAllBytes(tls.resolve("self-signed-rsa.crt"));
            rsaKey = Files.readAllBytes(tls.resolve("self-signed-rsa.key"));
            assertThat(parse(certificate).getPublicKey().getAlgorithm()).isEqualTo("EC");
            assertThat(parse(rsaCertificate).getPublicKey().getAlgorithm()).isEqualTo("RSA");
            assertThat(first.stdout() + first.stderr()).contains("generated a self-signed EC P-256 certificate",
                    "generated a self-signed RSA 2048 certificate");
            assertThat(new String(certificate, StandardCharsets.US_ASCII)).startsWith("-----BEGIN CERTIFICATE-----");
            assertThat(presented).as("the listener presents the generated certificate")
                    .isEqualTo(parse(certificate).getEncoded());
            assertThat(first.stop()).as("orderly stop\n%s", first.output()).isIn(0, 143);
        }
        assertThat(data.resolve("control.sock")).as("control socket removed on stop").doesNotExist();

        try (GatewayProcess second = GatewayProcess.start(data, logs, "second", "serve", "--data", data.toString())) {
            assertThat(awaitListening(second)).containsExactlyInAnyOrderEntriesOf(DEFAULT_LISTENERS);
            assertThat(sendOverStartTls("user@postern.test", "Subject: second start")).as("same certificate")
                    .isEqualTo(presented);
            assertThat(Files.readAllBytes(data.resolve("tls/self-signed.crt"))).isEqualTo(certificate);
            assertThat(Files.readAllBytes(data.resolve("tls/self-signed.key"))).isEqualTo(key);
            assertThat(Files.readAllBytes(data.resolve("tls/self-signed-rsa.crt"))).isEqualTo(rsaCertificate);
            assertThat(Files.readAllBytes(data.resolve("tls/self-signed-rsa.key"))).isEqualTo(rsaKey);
            assertThat(second.stdout() + second.stderr()).doesNotContain("generated a self-signed");
            await().atMost(Duration.ofSeconds(15)).until(() ->
                    files(data.resolve("mail/postern.test/user/new")).size() == 2);
            assertThat(second.stop()).isIn(0, 143);
        }
    }

    /** Skips (does not fail) when another program holds one of the default ports. */
    private static void assumePortsFree() {
        for (InetSocketAddress a : DEFAULT_LISTENERS.values()) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true); // as the gateway binds: a port in TIME_WAIT is free
                s.bind(a);
            } catch (IOException e) {
                Assumptions.abort("port " + a.getPort() + " is in use on this machine: " + e.getMessage());
            }
        }
    }

    /** As {@link GatewayProcess#awaitListening}, but a port taken meanwhile by someone else skips the test. */
    private static Map<String, InetSocketAddress> awaitListening(GatewayProcess p) throws Exception {
        try {
            return p.awaitListening(Duration.ofSeconds(20));
        } catch (GatewayProcess.NotStarted e) {
            if (p.stderr().contains("cannot listen on 127.0.0.1:")) {
                Assumptions.abort("a default port was taken while the test ran: " + p.stderr().strip());
            }
            throw e;
        }
    }

    /** One message over STARTTLS to 127.0.0.1:2525; returns the certificate the server presented (DER). */
    private static byte[] sendOverStartTls(String rcpt, String subject) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), 2525))) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").text()).contains("STARTTLS");
            assertThat(c.startTls()).isEqualTo("TLSv1.3");
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<someone@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send(subject + "\r\n\r\nthe body\r\n.\r\n");
            assertThat(c.read().last()).startsWith("250 2.0.0 Ok: queued as ");
            assertThat(c.command("QUIT").code()).isEqualTo(221);
            return ((SSLSocket) c.socket()).getSession().getPeerCertificates()[0].getEncoded();
        }
    }

    private static X509Certificate parse(byte[] pem) throws Exception {
        try (InputStream in = new java.io.ByteArrayInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
