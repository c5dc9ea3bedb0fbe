package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.peers.Level;
import dev.postern.peers.PeerLevels;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 13, downgrade memory inbound, with a real client over real TLS: mail from partner.example over STARTTLS teaches
 * the gateway "encrypted"; a later plain session with that MAIL FROM domain is refused at MAIL FROM (refuse) or
 * accepted with a downgrade alert in the log and the audit (flag). Plain sessions never teach anything.
 */
class SenderMemoryTest {
    @TempDir Path data;
    final RecordingAudit audit = new RecordingAudit();
    final Logger sessionLog = (Logger) LoggerFactory.getLogger(Session.class);
    final ListAppender<ILoggingEvent> log = new ListAppender<>();

    @BeforeEach void listen() {
        log.start();
        sessionLog.addAppender(log);
    }

    @AfterEach void stop() {
        sessionLog.detachAppender(log);
    }

    List<String> logLines() {
        synchronized (log) {
            return log.list.stream().map(dev.postern.testkit.LogLines::line).toList();
        }
    }

    Gateway start(Config.MemoryMode inbound) throws Exception {
        Config c = TestConfigs.gateway(data, "gw.a.example", Set.of("a.example"));
        return Gateway.start(c.withPeerMemory(c.peerMemory().withModes(Config.MemoryMode.REFUSE, inbound)), audit);
    }

    /** One session: EHLO, STARTTLS when asked, MAIL FROM; the MAIL reply, and the message sent when it was 250. */
    static SmtpTestClient.Response send(Gateway gw, boolean tls, String from) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.partner.example").code()).isEqualTo(250);
            if (tls) {
                c.startTls();
                assertThat(c.command("EHLO client.partner.example").code()).isEqualTo(250);
            }
            SmtpTestClient.Response mail = c.command("MAIL FROM:<" + from + ">");
            if (mail.code() == 250) {
                assertThat(c.command("RCPT TO:<bob@a.example>").code()).isEqualTo(250);
                assertThat(c.command("DATA").code()).isEqualTo(354);
                SmtpTestClient.Response done = c.command("Subject: hi\r\n\r\nHello\r\n.");
                assertThat(done.code()).as(done.text()).isEqualTo(250);
            }
            c.command("QUIT");
            return mail;
        }
    }

    /** The local deliveries are done: nothing writes into the data directory after the test. */
    static void awaitDelivered(Gateway gw) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15))
                .until(() -> gw.spool().list().isEmpty());
    }

    @Test void refuseAPlainSessionFromADomainSeenOverTls() throws Exception {
        try (Gateway gw = start(Config.MemoryMode.REFUSE)) {
            // plain first: accepted, and teaches nothing (anyone can claim any sender in clear text)
            assertThat(send(gw, false, "alice@Partner.Example").code()).isEqualTo(250);
            assertThat(PeerLevels.read(data)).isEmpty();

            assertThat(send(gw, true, "alice@partner.example").code()).isEqualTo(250);
            assertThat(PeerLevels.read(data)).singleElement().satisfies(l -> {
                assertThat(l.domain()).isEqualTo("partner.example");
                assertThat(l.in().level()).isEqualTo(Level.ENCRYPTED);
                assertThat(l.out()).isNull();
            });

            SmtpTestClient.Response refused = send(gw, false, "mallory@PARTNER.example");
            assertThat(refused.code()).isEqualTo(530);
            assertThat(refused.last()).startsWith("530 5.7.0 Must issue a STARTTLS command first: mail from "
                    + "partner.example has come over TLS before");
            assertThat(logLines()).anySatisfy(l -> assertThat(l).contains("downgrade alert from=<mallory@",
                    "action=refused", "policy-source=memory", "postern domains forget partner.example --direction in"));
            TlsSessionRecord s = audit.await(TlsSessionRecord.class, r -> r.policy() != null
                    && "memory".equals(r.policy().source()));
            assertThat(s.direction()).isEqualTo(TlsSessionRecord.Direction.IN);
            assertThat(s.policy().mode()).isEqualTo("enforce");
            assertThat(s.policy().sourceDetail()).startsWith("downgrade: partner.example was seen at encrypted since ");

            // other domains are not concerned
            assertThat(send(gw, false, "someone@other.example").code()).isEqualTo(250);
            awaitDelivered(gw);
        }
    }

    @Test void flagAcceptsAndMarksTheSession() throws Exception {
        try (Gateway gw = start(Config.MemoryMode.FLAG)) {
            assertThat(send(gw, true, "alice@partner.example").code()).isEqualTo(250);
            assertThat(send(gw, false, "alice@partner.example").code()).isEqualTo(250);
            assertThat(logLines()).anySatisfy(l -> assertThat(l).contains(
                    "downgrade alert from=<alice@partner.example>", "action=\"flagged (accepted)\""));
            TlsSessionRecord s = audit.await(TlsSessionRecord.class, r -> r.policy() != null
                    && "memory".equals(r.policy().source()));
            assertThat(s.policy().mode()).isEqualTo("testing");
            assertThat(s.policy().wouldFail()).singleElement().asString()
                    .startsWith("downgrade: partner.example was seen at encrypted since ")
                    .endsWith("this session has no TLS");
            // accepted in a plain session: the level stays
            assertThat(PeerLevels.read(data).getFirst().in().level()).isEqualTo(Level.ENCRYPTED);
            awaitDelivered(gw);
        }
    }

    @Test void offLetsEverythingThrough() throws Exception {
        try (Gateway gw = start(Config.MemoryMode.OFF)) {
            assertThat(send(gw, true, "alice@partner.example").code()).isEqualTo(250);
            assertThat(send(gw, false, "alice@partner.example").code()).isEqualTo(250);
            assertThat(logLines()).noneMatch(l -> l.contains("downgrade alert"));
            awaitDelivered(gw);
        }
    }

    @Test void aTrustedCertificateForAnotherNameDoesNotRaiseASenderDomainToVerified() throws Exception {
        // Two partners share a CA the listener trusts. Mallory (gw.mallory.example) sends as partner.example: that
        // must not make partner.example "verified" (its own mail without a certificate would then get 550 5.7.1).
        dev.postern.tls.KeyMaterial ca = dev.postern.tls.Certificates.certificateAuthority("Shared CA",
                dev.postern.tls.Certificates.KeyType.EC_P256, java.time.Duration.ofDays(30));
        dev.postern.tls.KeyMaterial mallory = dev.postern.tls.Certificates.issue(ca, List.of("gw.mallory.example"),
                dev.postern.tls.Certificates.KeyType.EC_P256, java.time.Instant.now().minusSeconds(60),
                java.time.Duration.ofDays(10));
        dev.postern.tls.KeyMaterial partner = dev.postern.tls.Certificates.issue(ca, List.of("gw.partner.example"),
                dev.postern.tls.Certificates.KeyType.EC_P256, java.time.Instant.now().minusSeconds(60),
                java.time.Duration.ofDays(10));
        Path caFile = data.resolveSibling(data.getFileName() + "-ca.pem");
        dev.postern.tls.Pem.write(ca, caFile, data.resolveSibling(data.getFileName() + "-ca.key"));
        Config c = TestConfigs.gateway(data, "gw.a.example", Set.of("a.example"));
        c = c.withListeners(List.of(new Config.Listener(new java.net.InetSocketAddress("127.0.0.1", 0),
                Config.Role.MX, new Config.ListenerTls(false, Config.ClientCertificates.REQUEST, caFile, "TLSv1.2",
                        List.of(), 0))));
        c = c.withPeerMemory(c.peerMemory().withModes(Config.MemoryMode.REFUSE, Config.MemoryMode.REFUSE));
        try (Gateway gw = Gateway.start(c, audit)) {
            assertThat(sendWith(gw, mallory, "mallory@partner.example").code()).isEqualTo(250);
            assertThat(PeerLevels.read(data).getFirst().in().level()).isEqualTo(Level.ENCRYPTED);
            assertThat(send(gw, true, "alice@partner.example").code()).as("no certificate, TLS as before")
                    .isEqualTo(250);
            // the domain's own certificate (a name under it) does raise it
            assertThat(sendWith(gw, partner, "alice@partner.example").code()).isEqualTo(250);
            assertThat(PeerLevels.read(data).getFirst().in().level()).isEqualTo(Level.VERIFIED);
            awaitDelivered(gw);
        }
    }

    /** One session over STARTTLS with client certificate {@code cert}: the MAIL reply, the message sent on 250. */
    static SmtpTestClient.Response sendWith(Gateway gw, dev.postern.tls.KeyMaterial cert, String from)
            throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            c.command("EHLO client.example");
            c.startTls(cert);
            c.command("EHLO client.example");
            SmtpTestClient.Response mail = c.command("MAIL FROM:<" + from + ">");
            if (mail.code() == 250) {
                assertThat(c.command("RCPT TO:<bob@a.example>").code()).isEqualTo(250);
                assertThat(c.command("DATA").code()).isEqualTo(354);
                assertThat(c.command("Subject: hi\r\n\r\nHello\r\n.").code()).isEqualTo(250);
            }
            c.command("QUIT");
            return mail;
        }
    }
}
