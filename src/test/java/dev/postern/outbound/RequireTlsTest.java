package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.awaitMailbox;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.stuff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.MessageRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.TestDnsServer;
import dev.postern.queue.Envelope;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * REQUIRETLS (RFC 8689) end to end on loopback: the gateway offers it only inside TLS, keeps the flag with the
 * message, and hands the message on only over verified TLS to a next hop that advertises REQUIRETLS, else 5.7.30.
 */
class RequireTlsTest {
    @TempDir static Path dir;

    static final String FROM = "alice@a.example";
    static Path caFile;
    static Issued root;
    static Issued peer;

    @BeforeAll static void pki() throws Exception {
        root = TestPki.root("RequireTls Root");
        peer = TestPki.cert("loopback").issuer(root).ip("127.0.0.1").build();
        caFile = dir.resolve("root.pem");
        Pem.write(root.material(), caFile, dir.resolve("root.key"));
    }

    /** Submits over STARTTLS with MAIL ... REQUIRETLS; returns the queue id. */
    static String submitRequireTls(Gateway gw, String rcpt) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            c.read();
            assertThat(c.command("EHLO client.test").lines()).noneMatch(l -> l.contains("REQUIRETLS"));
            assertThat(c.command("MAIL FROM:<" + FROM + "> REQUIRETLS").last())
                    .startsWith("530 5.7.10 REQUIRETLS needs TLS");
            c.startTls();
            assertThat(c.command("EHLO client.test").lines()).anyMatch(l -> l.endsWith("REQUIRETLS"));
            assertThat(c.command("MAIL FROM:<" + FROM + "> REQUIRETLS=yes").last()).startsWith("501 5.5.4");
            assertThat(c.command("MAIL FROM:<" + FROM + "> REQUIRETLS").code()).isEqualTo(250);
            return rcptAndData(c, rcpt, "requiretls");
        }
    }

    /** RCPT TO and DATA after an accepted MAIL; returns the queue id. */
    static String rcptAndData(SmtpTestClient c, String rcpt, String subject) throws Exception {
        return rcptAndContent(c, rcpt, body(subject, "text"));
    }

    /** RCPT TO and DATA of {@code content} (CRLF lines) after an accepted MAIL; returns the queue id. */
    static String rcptAndContent(SmtpTestClient c, String rcpt, String content) throws Exception {
        assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
        assertThat(c.command("DATA").code()).isEqualTo(354);
        c.send(stuff(content) + ".\r\n");
        String last = c.read().last();
        assertThat(last).startsWith("250");
        c.command("QUIT");
        return last.substring(last.lastIndexOf(' ') + 1);
    }

    /** An enforced policy at {@code level} with the test CA. */
    static TlsPolicy policy(TlsLevel level) {
        return new TlsPolicy(level, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0, TlsPolicy.LEVEL_KEY_FLOOR,
                List.of(), caFile, List.of(), null, null);
    }

    static Config config(Path data, int port, TlsLevel level) {
        return Outbound.relayingTo(data, port, "b.example")
                .withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY), Map.of("b.example", policy(level))));
    }

    /** b.example by its MX records from {@code dns}, port {@code port}, under verify with the test CA. */
    static Config byMx(Path data, TestDnsServer dns, int port) {
        return TestConfigs.withDns(TestConfigs.withRelay(TestConfigs.gateway(data, Outbound.HOSTNAME,
                Set.of("a.example")), Set.of("b.example"), Map.of()), dns.address(), port)
                .withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                        Map.of("b.example", policy(TlsLevel.VERIFY))));
    }

    @Test void deliveredWithRequireTlsToAVerifiedHopThatAdvertisesIt() throws Exception {
        Path data = dir.resolve("ok");
        var audit = new RecordingAudit();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().extensions("REQUIRETLS").starttls(peer.material()).start();
             Gateway gw = Gateway.start(config(data, server.port(), TlsLevel.VERIFY), audit)) {
            String id = submitRequireTls(gw, "bob@b.example");
            eventually().until(() -> !server.delivered().isEmpty());
            var t = server.delivered().getFirst();
            assertThat(t.usedTls()).isTrue();
            assertThat(t.mailParameters()).contains("REQUIRETLS");
            eventually().until(() -> audit.all().stream().anyMatch(r -> r instanceof MessageRecord));
            MessageRecord m = audit.all().stream().filter(r -> r instanceof MessageRecord)
                    .map(r -> (MessageRecord) r).filter(r -> r.queueId().equals(id)).findFirst().orElseThrow();
            assertThat(m.requireTls()).isTrue();
        }
    }

    @Test void bouncedWhenTheHopDoesNotAdvertiseRequireTls() throws Exception {
        Path data = dir.resolve("noext");
        var audit = new RecordingAudit();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().starttls(peer.material()).start();
             Gateway gw = Gateway.start(config(data, server.port(), TlsLevel.VERIFY), audit)) {
            String id = submitRequireTls(gw, "bob@b.example");
            String bounce = String.join("\n", awaitMailbox(data, FROM, 1));
            assertThat(bounce).contains("5.7.30").contains("does not advertise REQUIRETLS");
            assertThat(server.transactions()).as("nothing of the message was sent")
                    .noneMatch(x -> x.mailFrom() != null);
            // the DSN quotes the original's headers: it carries REQUIRETLS too (RFC 8689 §4.2.2)
            assertThat(audit.of(MessageRecord.class)).filteredOn(m -> ("bounce of " + id).equals(m.origin()))
                    .singleElement().extracting(MessageRecord::requireTls).isEqualTo(true);
        }
    }

    @Test void theFlagIsSpooledAndAMessageWithoutItHasNone() throws Exception {
        Path data = dir.resolve("spooled");
        var audit = new RecordingAudit();
        try (Gateway gw = Gateway.start(config(data, Outbound.closedPort(), TlsLevel.VERIFY), audit)) {
            String id = submitRequireTls(gw, "bob@b.example");
            Envelope env = awaitEnvelope(gw, id, e -> true);
            assertThat(env.requireTls()).isTrue();
            String plain = submitOverTls(gw, "carol@b.example");
            assertThat(awaitEnvelope(gw, plain, e -> true).requireTls()).isFalse();
            assertThat(audit.of(MessageRecord.class)).filteredOn(m -> m.queueId().equals(id)).singleElement()
                    .extracting(MessageRecord::requireTls).isEqualTo(true);
            assertThat(audit.of(MessageRecord.class)).filteredOn(m -> m.queueId().equals(plain)).singleElement()
                    .extracting(MessageRecord::requireTls).isEqualTo(false);
        }
    }

    /** RFC 8689 §4.2.1: no host left that can take it, so a DSN at once (5.7.10: no TLS-protected session). */
    @Test void bouncedNeverSentInClearTextWhenTheHopHidesStartTls() throws Exception {
        Path data = dir.resolve("plain");
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().extensions("REQUIRETLS").start();
             Gateway gw = Gateway.start(config(data, server.port(), TlsLevel.VERIFY))) {
            submitRequireTls(gw, "bob@b.example");
            String bounce = String.join("\n", awaitMailbox(data, FROM, 1));
            assertThat(bounce).contains("Status: 5.7.10").contains("does not offer STARTTLS");
            assertThat(server.connections()).as("one try, no retry in clear text").hasSize(1);
            assertThat(server.transactions()).noneMatch(x -> x.mailFrom() != null);
        }
    }

    /**
     * Issue 17: a next hop that closes the connection in the middle of the handshake has not answered (JSSE reports
     * the EOF as an SSLException, which was taken for a TLS refusal and bounced the message at once): it is a cut,
     * so the message waits for a retry (4.7.10), never in clear text, and goes once the handshake works.
     */
    @Test void aHandshakeCutMidwayWaitsForARetry() throws Exception {
        Path data = dir.resolve("cut");
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().extensions("REQUIRETLS").starttls(peer.material())
                .startTlsFailure(ScriptedSmtpServer.StartTlsFailure.CLOSE_DURING_HANDSHAKE).start();
             Gateway gw = Gateway.start(config(data, server.port(), TlsLevel.VERIFY))) {
            String id = submitRequireTls(gw, "bob@b.example");
            Envelope env = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() >= 1);
            assertThat(env.recipients().getFirst().lastResult()).startsWith("451 4.7.10")
                    .contains("TLS handshake failed: Remote host terminated the handshake");
            assertThat(Outbound.mailbox(data, FROM)).as("no bounce").isEmpty();
            server.startTlsFailure(ScriptedSmtpServer.StartTlsFailure.NONE);
            eventually().until(() -> server.delivered().size() == 1);
            assertThat(server.transactions()).allMatch(ScriptedSmtpServer.Transaction::usedTls);
            assertThat(Outbound.mailbox(data, FROM)).isEmpty();
        }
    }

    /**
     * A host that could not be asked (nobody listens) may yet take the message as asked: it waits (4.7.10) instead of
     * bouncing because the other host offers no STARTTLS, and never goes in clear text meanwhile.
     */
    @Test void waitsWhileAnotherHostCouldNotBeAsked() throws Exception {
        Path data = dir.resolve("waits");
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer plain = ScriptedSmtpServer.create().hostname("mx1.b.example").pipelining()
                     .enhancedStatusCodes().extensions("REQUIRETLS").start()) {
            // mx2 (127.0.0.3) has nothing listening on the port
            dns.mx("b.example", 10, "mx1.b.example").mx("b.example", 20, "mx2.b.example")
                    .a("mx1.b.example", "127.0.0.1").a("mx2.b.example", "127.0.0.3");
            try (Gateway gw = Gateway.start(byMx(data, dns, plain.port()))) {
                String id = submitRequireTls(gw, "bob@b.example");
                Envelope env = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() >= 1);
                assertThat(env.recipients().getFirst().lastResult()).startsWith("451 4.7.10")
                        .contains("does not offer STARTTLS");
                assertThat(plain.transactions()).noneMatch(x -> x.mailFrom() != null);
                assertThat(Outbound.mailbox(data, FROM)).as("no bounce yet").isEmpty();
            }
        }
    }

    @Test void anMxWithoutRequireTlsIsSkippedForTheNextOne() throws Exception {
        Path data = dir.resolve("mx");
        KeyMaterial mxCert = TestPki.cert("mx.b.example").issuer(root).dns("mx1.b.example", "mx2.b.example").build()
                .material();
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer preferred = ScriptedSmtpServer.create().hostname("mx1.b.example").pipelining()
                     .enhancedStatusCodes().starttls(mxCert).start();
             ScriptedSmtpServer backup = ScriptedSmtpServer.create().hostname("mx2.b.example").pipelining()
                     .enhancedStatusCodes().extensions("REQUIRETLS").starttls(mxCert)
                     .start(new InetSocketAddress("127.0.0.2", preferred.port()))) {
            dns.mx("b.example", 10, "mx1.b.example").mx("b.example", 20, "mx2.b.example")
                    .a("mx1.b.example", "127.0.0.1").a("mx2.b.example", "127.0.0.2");
            try (Gateway gw = Gateway.start(byMx(data, dns, preferred.port()))) {
                submitRequireTls(gw, "bob@b.example");
                eventually().until(() -> backup.delivered().size() == 1);
                assertThat(backup.delivered().getFirst().mailParameters()).contains("REQUIRETLS");
                assertThat(preferred.connections()).hasSize(1);
                assertThat(preferred.transactions()).noneMatch(x -> x.mailFrom() != null);
                assertThat(Outbound.mailbox(data, FROM)).as("no bounce").isEmpty();
            }
        }
    }

    /** A client of the gateway's MX listener after STARTTLS and a second EHLO. */
    static SmtpTestClient overTls(Gateway gw) throws Exception {
        SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst());
        c.read();
        c.command("EHLO client.test");
        c.startTls();
        c.command("EHLO client.test");
        return c;
    }

    /** A message over STARTTLS without REQUIRETLS, after one with it on another connection. */
    static String submitOverTls(Gateway gw, String rcpt) throws Exception {
        try (SmtpTestClient c = overTls(gw)) {
            assertThat(c.command("MAIL FROM:<" + FROM + "> REQUIRETLS").code()).isEqualTo(250);
            assertThat(c.command("RSET").code()).isEqualTo(250); // RSET forgets the flag
            assertThat(c.command("MAIL FROM:<" + FROM + ">").code()).isEqualTo(250);
            return rcptAndData(c, rcpt, "plain");
        }
    }

    @Test void bouncedUnderAnOpportunisticPolicyWithoutConnecting() throws Exception {
        Path data = dir.resolve("may");
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().extensions("REQUIRETLS").starttls(peer.material()).start();
             Gateway gw = Gateway.start(config(data, server.port(), TlsLevel.MAY))) {
            submitRequireTls(gw, "bob@b.example");
            String bounce = String.join("\n", awaitMailbox(data, FROM, 1));
            assertThat(bounce).contains("5.7.30").contains("does not verify the next hop");
            assertThat(server.transactions()).as("never sent, least of all in clear text")
                    .noneMatch(x -> x.mailFrom() != null);
        }
    }
}
