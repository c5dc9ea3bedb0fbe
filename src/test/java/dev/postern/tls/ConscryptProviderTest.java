package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gateway, in-process, with {@code [tls] provider = "conscrypt"}: JDK clients get TLS 1.3 over STARTTLS and
 * implicit TLS, a client certificate is asked for, seen and judged, a TLS 1.2 client offering only CBC suites is
 * refused, mail is delivered, and a second connection from the same client context resumes its session.
 */
class ConscryptProviderTest {
    @TempDir static Path dir;
    static Gateway gateway;
    static InetSocketAddress mx;          // asks for client certificates, judged against the partner CA
    static InetSocketAddress submissions; // implicit TLS
    static InetSocketAddress strong;      // min_cipher_bits = 256
    static KeyMaterial partnerCa;
    static KeyMaterial partnerCert;

    @BeforeAll static void start() throws Exception {
        partnerCa = Certificates.certificateAuthority("Partner CA", Certificates.KeyType.EC_P256, Duration.ofDays(30));
        partnerCert = Certificates.issue(partnerCa, List.of("gw.partner.example"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(10));
        Path caFile = dir.resolve("partner-ca.pem");
        Pem.write(partnerCa, caFile, dir.resolve("partner-ca.key"));
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        Config.ListenerTls request = new Config.ListenerTls(false, Config.ClientCertificates.REQUEST, caFile,
                "TLSv1.2", List.of(), 0);
        Config.ListenerTls bits256 = new Config.ListenerTls(false, Config.ClientCertificates.NONE, null, "TLSv1.2",
                List.of(), 256);
        Config c = TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test")).withListeners(List.of(
                new Config.Listener(any, Config.Role.MX, request), new Config.Listener(any, Config.Role.SUBMISSIONS),
                new Config.Listener(any, Config.Role.MX, bits256)));
        gateway = Gateway.start(TestConfigs.withTlsProvider(c, Config.TlsProvider.CONSCRYPT));
        mx = gateway.boundAddresses().get(0);
        submissions = gateway.boundAddresses().get(1);
        strong = gateway.boundAddresses().get(2);
    }

    @AfterAll static void stop() {
        if (gateway != null) gateway.close();
    }

    @Test void startTlsAndImplicitTlsNegotiateTls13WithAStrongSuite() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.startTls()).isEqualTo("TLSv1.3");
            assertThat(suite(c)).isIn("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        }
        try (SmtpTestClient c = SmtpTestClient.connectTls(submissions)) {
            assertThat(c.read().code()).isEqualTo(220);
            SSLSession session = ((SSLSocket) c.socket()).getSession();
            assertThat(session.getProtocol()).isEqualTo("TLSv1.3");
            assertThat(session.getCipherSuite()).isIn("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
        }
    }

    /**
     * Conscrypt 2.9 sets one certificate per connection, so of the generated EC and RSA ones only the EC one is
     * served: ECDSA-capable clients get it, an RSA-only client is refused (the JDK's provider would serve it RSA).
     */
    @Test void ofTheGeneratedCertificatesTheEcOneIsServed() throws Exception {
        java.security.cert.X509Certificate ec = Pem.readCertificates(dir.resolve("data/tls/self-signed.crt")).getFirst();
        for (ClientShape client : GatewayMultipleCertificatesTest.EC_CLIENTS) {
            assertThat(client.implicitTls(submissions)).as("%s", client).isEqualTo(ec);
            assertThat(client.startTls(strong)).as("%s", client).isEqualTo(ec);
        }
        assertThatThrownBy(() -> ClientShape.rsaOnly("TLSv1.3").implicitTls(submissions))
                .isInstanceOf(SSLHandshakeException.class);
    }

    @Test void tls12PrefersTheServersAeadOrder() throws Exception {
        SSLContext context = SmtpTestClient.trustAll();
        try (SSLSocket tls = implicitTls(context, new String[] {"TLSv1.2"}, new String[] {
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"})) {
            assertThat(tls.getSession().getProtocol()).isEqualTo("TLSv1.2");
            assertThat(tls.getSession().getCipherSuite()).isEqualTo("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
        }
    }

    @Test void aTls12ClientOfferingOnlyCbcIsRefused() {
        for (InetSocketAddress where : List.of(mx, submissions)) {
            assertThatThrownBy(() -> {
                if (where == submissions) {
                    implicitTls(SmtpTestClient.trustAll(), new String[] {"TLSv1.2"}, new String[] {
                            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"}).close();
                    return;
                }
                try (SmtpTestClient c = SmtpTestClient.connect(where)) {
                    c.read();
                    c.command("EHLO client.test");
                    assertThat(c.command("STARTTLS").code()).isEqualTo(220);
                    SSLSocket tls = (SSLSocket) SmtpTestClient.trustAll().getSocketFactory()
                            .createSocket(c.socket(), "localhost", where.getPort(), true);
                    tls.setEnabledProtocols(new String[] {"TLSv1.2"});
                    tls.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
                            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"});
                    tls.startHandshake();
                }
            }).as("CBC only to %s", where).isInstanceOf(SSLHandshakeException.class);
        }
    }

    /**
     * BoringSSL's TLS 1.3 suites cannot be switched off one by one, so a listener's min_cipher_bits (or ciphers) is
     * enforced on the negotiated session: a client that only offers AES-128 gets no SMTP reply, just a closed
     * connection, as when the JDK refuses the handshake.
     */
    @Test void aListenersCipherConstraintHoldsForTls13Too() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(strong)) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.command("STARTTLS").code()).isEqualTo(220);
            SSLSocket tls = (SSLSocket) SmtpTestClient.trustAll().getSocketFactory()
                    .createSocket(c.socket(), "localhost", strong.getPort(), true);
            tls.setEnabledProtocols(new String[] {"TLSv1.3"});
            tls.setEnabledCipherSuites(new String[] {"TLS_AES_128_GCM_SHA256"});
            boolean refused;
            try {
                tls.startHandshake();
                tls.getOutputStream().write("EHLO client.test\r\n".getBytes(StandardCharsets.US_ASCII));
                tls.getOutputStream().flush();
                refused = tls.getInputStream().read() < 0;
            } catch (IOException e) {
                refused = true;
            }
            assertThat(refused).as("AES-128 on a min_cipher_bits = 256 listener").isTrue();
        }
        try (SmtpTestClient c = SmtpTestClient.connect(strong)) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.startTls()).isEqualTo("TLSv1.3");
            assertThat(suite(c)).isIn("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        }
    }

    @Test void aClientCertificateIsSeenJudgedAndTheMessageDelivered() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.startTls(partnerCert)).isEqualTo("TLSv1.3");
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<a@partner.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<certified@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: conscrypt\r\n\r\nhi\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
        }
        Path box = dir.resolve("data/mail/postern.test/certified/new");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.isDirectory(box) && count(box) == 1);
        String stored;
        try (Stream<Path> s = Files.list(box)) {
            stored = Files.readString(s.findFirst().orElseThrow(), StandardCharsets.UTF_8);
        }
        assertThat(stored).contains("\t(Client CN \"gw.partner.example\", Issuer \"Partner CA\" (verified OK))\r\n")
                .contains("Subject: conscrypt").contains("TLS_AES_256_GCM_SHA384");
    }

    @Test void aSecondConnectionFromTheSameClientContextResumes() throws Exception {
        SSLContext context = SmtpTestClient.trustAll();
        SSLSession first;
        try (SSLSocket tls = implicitTls(context, new String[] {"TLSv1.3"}, null)) {
            first = tls.getSession();
            readGreeting(tls); // TLS 1.3 tickets arrive after the handshake, with the first application data
        }
        try (SSLSocket tls = implicitTls(context, new String[] {"TLSv1.3"}, null)) {
            SSLSession second = tls.getSession();
            readGreeting(tls);
            assertThat(second.getCreationTime()).as("resumed: the session of the first connection")
                    .isEqualTo(first.getCreationTime());
        }
    }

    private static SSLSocket implicitTls(SSLContext context, String[] protocols, String[] suites) throws IOException {
        Socket plain = new Socket();
        plain.connect(submissions, 5000);
        plain.setSoTimeout(10_000);
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain, "localhost", submissions.getPort(),
                true);
        tls.setEnabledProtocols(protocols);
        if (suites != null) tls.setEnabledCipherSuites(suites);
        try {
            tls.startHandshake();
        } catch (IOException e) {
            tls.close();
            throw e;
        }
        return tls;
    }

    private static void readGreeting(SSLSocket tls) throws IOException {
        byte[] buffer = new byte[512];
        assertThat(tls.getInputStream().read(buffer)).isPositive();
        assertThat(new String(buffer, StandardCharsets.US_ASCII)).startsWith("220");
    }

    private static String suite(SmtpTestClient c) {
        return ((SSLSocket) c.socket()).getSession().getCipherSuite();
    }

    private static long count(Path p) throws IOException {
        try (Stream<Path> s = Files.list(p)) {
            return s.count();
        }
    }
}
