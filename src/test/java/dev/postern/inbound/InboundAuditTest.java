package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.Verification;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.smtp.HopCounter;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12: what an inbound SMTP session leaves in the audit, over real sessions with a started gateway: one TLS
 * session record per session (TLS with a client certificate, clear text, a failed handshake), and one message
 * record per queued message naming that session.
 */
class InboundAuditTest {
    @TempDir static Path dir;
    static final RecordingAudit audit = new RecordingAudit();
    static Gateway gw;
    static InetSocketAddress mx;
    static KeyMaterial partnerCert;
    static KeyMaterial strangerCert;

    @BeforeAll static void start() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Partner CA", Certificates.KeyType.EC_P256,
                Duration.ofDays(30));
        partnerCert = Certificates.issue(ca, List.of("gw.partner.example"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(10));
        strangerCert = Certificates.selfSigned(List.of("gw.partner.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(10));
        Path caFile = dir.resolve("partner-ca.pem");
        Pem.write(ca, caFile, dir.resolve("partner-ca.key"));
        Config.ListenerTls request = new Config.ListenerTls(false, Config.ClientCertificates.REQUEST, caFile,
                "TLSv1.2", List.of(), 0);
        Config c = TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test"))
                .withListeners(List.of(new Config.Listener(new InetSocketAddress("127.0.0.1", 0), Config.Role.MX,
                        request)));
        gw = Gateway.start(c, audit);
        mx = gw.boundAddresses().getFirst();
    }

    @AfterAll static void stop() {
        if (gw != null) gw.close();
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** MAIL, RCPT, DATA with {@code headers}; returns the queue id. */
    static String send(SmtpTestClient c, String headers) throws IOException {
        assertThat(c.command("MAIL FROM:<alice@partner.example>").code()).isEqualTo(250);
        assertThat(c.command("RCPT TO:<bob@postern.test>").code()).isEqualTo(250);
        assertThat(c.command("DATA").code()).isEqualTo(354);
        c.send(headers + "\r\nHello.\r\n.\r\n");
        SmtpTestClient.Response done = c.read();
        assertThat(done.code()).isEqualTo(250);
        return done.last().substring(done.last().lastIndexOf(' ') + 1);
    }

    /** The session record whose EHLO name is {@code ehlo} (each test uses its own). */
    static TlsSessionRecord session(String ehlo) {
        return audit.await(TlsSessionRecord.class, r -> ehlo.equals(r.ehloName()));
    }

    /** The group the client forces, in TLS 1.3 (ServerHello) and TLS 1.2 (ServerKeyExchange), as the gateway wrote it. */
    @Test void keyExchangeGroupOfEachHandshake() throws Exception {
        record Case(String protocol, List<String> groups, String expected) {}
        // The gateway's certificate is EC P-256: in TLS 1.2 its curve must be offered too (the client's order decides).
        for (Case c : List.of(new Case("TLSv1.3", List.of("secp384r1"), "secp384r1"),
                new Case("TLSv1.3", List.of("secp521r1", "x25519"), "secp521r1"),
                new Case("TLSv1.2", List.of("secp384r1", "secp256r1"), "secp384r1"))) {
            String ehlo = "group-" + c.protocol() + "-" + c.expected() + ".partner.example";
            try (SmtpTestClient client = SmtpTestClient.connect(mx)) {
                client.read();
                client.command("EHLO before.partner.example");
                String protocol = client.startTls(p -> {
                    p.setProtocols(new String[] {c.protocol()});
                    p.setNamedGroups(c.groups().toArray(String[]::new));
                });
                assertThat(protocol).isEqualTo(c.protocol());
                client.command("EHLO " + ehlo);
                client.command("QUIT");
            }
            assertThat(session(ehlo).keyExchangeGroup()).as(c.toString()).isEqualTo(c.expected());
        }
    }

    @Test void tlsSessionWithAVerifiedClientCertificate() throws Exception {
        String id;
        String protocol;
        String cipher;
        int clientPort;
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            clientPort = c.socket().getLocalPort();
            c.read();
            c.command("EHLO before-tls.partner.example");
            protocol = c.startTls(partnerCert);
            cipher = ((SSLSocket) c.socket()).getSession().getCipherSuite();
            c.command("EHLO tls.partner.example");
            id = send(c, "Subject: x\r\nMessage-ID:\r\n <folded@partner.example>\r\n");
            c.command("QUIT");
        }
        TlsSessionRecord s = session("tls.partner.example");
        assertThat(s.direction()).isEqualTo(TlsSessionRecord.Direction.IN);
        assertThat(s.endpoint()).isEqualTo("mx 127.0.0.1:" + mx.getPort());
        assertThat(s.peerIp()).isEqualTo("127.0.0.1");
        assertThat(s.peerPort()).isEqualTo(clientPort);
        assertThat(s.protocol()).isEqualTo(protocol);
        assertThat(s.cipher()).isEqualTo(cipher);
        assertThat(s.cipherBits()).isIn(128, 256);
        assertThat(s.keyExchangeGroup()).as("the JSSE client's first choice, read from the gateway's ServerHello")
                .isEqualTo("x25519");
        assertThat(s.resumed()).isFalse();
        assertThat(s.sni()).as("JSSE sends no SNI for \"localhost\" (no dot)").isNull();
        assertThat(s.reverseDns()).isNull();
        assertThat(s.peerChain()).hasSize(partnerCert.chain().size());
        assertThat(s.peerChain().getFirst().sha256()).isEqualTo(sha256(partnerCert.leaf().getEncoded()));
        assertThat(s.peerChain().getFirst().subject()).isEqualTo("CN=gw.partner.example");
        assertThat(s.peerChain().getFirst().pem()).startsWith("-----BEGIN CERTIFICATE-----");
        assertThat(s.verification()).isEqualTo(Verification.VERIFIED);
        assertThat(s.verificationReason()).contains("CN=gw.partner.example");
        assertThat(s.clientCertificate()).isEqualTo("verified");
        assertThat(s.noTls()).isNull();
        assertThat(s.policy().level()).isEqualTo("may");
        assertThat(s.policy().source()).isEqualTo("listener");
        assertThat(s.policy().mode()).isEqualTo("enforce");

        MessageRecord m = audit.await(MessageRecord.class, r -> r.queueId().equals(id));
        assertThat(m.sessionId()).isEqualTo(s.id());
        assertThat(m.messageId()).isEqualTo("folded@partner.example");
        assertThat(m.sender()).isEqualTo("alice@partner.example");
        assertThat(m.recipients()).containsExactly("bob@postern.test");
        assertThat(m.size()).isGreaterThan(0);
        assertThat(m.clientIp()).isEqualTo("127.0.0.1");
        assertThat(m.ehloName()).isEqualTo("tls.partner.example");
        assertThat(m.authUser()).isNull();
        assertThat(m.clientCertificate()).isEqualTo("CN=gw.partner.example");
        assertThat(m.requireTls()).isFalse();
        assertThat(m.origin()).isEqualTo("smtp");
        assertThat(audit.of(TlsSessionRecord.class, r -> r.id().equals(s.id()))).as("one record per session")
                .hasSize(1);
    }

    @Test void anUntrustedClientCertificateIsRecordedAsFailed() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.startTls(strangerCert);
            c.command("EHLO stranger.partner.example");
            c.command("QUIT");
        }
        TlsSessionRecord s = session("stranger.partner.example");
        assertThat(s.protocol()).isNotNull();
        assertThat(s.verification()).isEqualTo(Verification.FAILED);
        assertThat(s.verificationReason()).isNotBlank();
        assertThat(s.clientCertificate()).startsWith("untrusted: ");
        assertThat(s.peerChain().getFirst().sha256()).isEqualTo(sha256(strangerCert.leaf().getEncoded()));
    }

    @Test void clearTextSessionIsRecordedAsNotOffered() throws Exception {
        String withoutId;
        String huge;
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO clear.partner.example");
            withoutId = send(c, "Subject: no id\r\n");
            huge = send(c, "Message-ID: <" + "x".repeat(5000) + "@partner.example>\r\n");
            c.command("QUIT");
        }
        TlsSessionRecord s = session("clear.partner.example");
        assertThat(s.protocol()).isNull();
        assertThat(s.cipher()).isNull();
        assertThat(s.cipherBits()).isEqualTo(-1);
        assertThat(s.noTls()).isEqualTo(NoTls.NOT_OFFERED);
        assertThat(s.verification()).isEqualTo(Verification.NOT_CHECKED);
        assertThat(s.peerChain()).isEmpty();
        assertThat(s.clientCertificate()).isNull();

        MessageRecord none = audit.await(MessageRecord.class, r -> r.queueId().equals(withoutId));
        assertThat(none.messageId()).isNull();
        assertThat(none.sessionId()).isEqualTo(s.id());
        assertThat(none.clientCertificate()).isNull();
        MessageRecord big = audit.await(MessageRecord.class, r -> r.queueId().equals(huge));
        assertThat(big.messageId()).hasSizeLessThan(HopCounter.MAX_MESSAGE_ID).startsWith("xxxx");
    }

    /**
     * Connections that say nothing (a port scan, a load balancer's TCP check) are not TLS sessions worth a record:
     * thousands of them must not fill the store nor count as sessions in clear text.
     */
    @Test void aConnectionThatNeverGreetsIsNotRecorded() throws Exception {
        java.util.function.Supplier<Long> silent = () -> audit.of(TlsSessionRecord.class).stream()
                .filter(r -> r.ehloName() == null && r.noTls() == NoTls.NOT_OFFERED).count();
        long before = silent.get();
        for (int i = 0; i < 50; i++) {
            try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
                c.read();
            }
        }
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO after.silent.example");
            c.command("QUIT");
        }
        session("after.silent.example");
        Thread.sleep(300); // the silent sessions ended before that one began; give their threads a moment more
        assertThat(silent.get()).isEqualTo(before);
    }

    @Test void failedHandshakeIsRecorded() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO broken.partner.example");
            assertThat(c.command("STARTTLS").code()).isEqualTo(220);
            c.sendBytes("this is not a TLS ClientHello\r\n".getBytes(StandardCharsets.US_ASCII));
            c.isClosedByServer();
        }
        TlsSessionRecord s = session("broken.partner.example");
        assertThat(s.protocol()).isNull();
        assertThat(s.noTls()).isEqualTo(NoTls.HANDSHAKE_FAILED);
        assertThat(s.noTlsDetail()).isNotBlank();
        assertThat(s.verification()).isEqualTo(Verification.NOT_CHECKED);
    }

    /** Conscrypt says which key-exchange group the handshake used (the JDK's JSSE cannot). */
    @Test void conscryptNamesTheKeyExchangeGroup() throws Exception {
        RecordingAudit own = new RecordingAudit();
        Config c = TestConfigs.withTlsProvider(TestConfigs.gateway(dir.resolve("conscrypt"), "gw.test",
                Set.of("postern.test")), Config.TlsProvider.CONSCRYPT);
        try (Gateway g = Gateway.start(c, own); SmtpTestClient client = SmtpTestClient.connect(
                g.boundAddresses().getFirst())) {
            client.read();
            client.command("EHLO conscrypt.partner.example");
            client.startTls();
            client.command("QUIT");
        }
        TlsSessionRecord s = own.await(TlsSessionRecord.class, r -> r.ehloName() != null);
        assertThat(s.protocol()).isNotNull();
        assertThat(s.keyExchangeGroup()).isNotBlank();
    }
}
