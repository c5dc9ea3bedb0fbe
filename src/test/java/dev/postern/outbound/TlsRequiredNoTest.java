package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.MessageRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.DnsResolver;
import dev.postern.local.MaildirDelivery;
import dev.postern.queue.Envelope;
import dev.postern.queue.RetrySchedule;
import dev.postern.queue.Spool;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.tls.Pem;
import dev.postern.tls.TestPki;
import dev.postern.tlsrpt.Aggregate;
import dev.postern.tlsrpt.Report;
import dev.postern.tlsrpt.ReportMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code TLS-Required: No} (RFC 8689 §3, §4.2.2) on loopback: read from the header section, kept with the message,
 * and honoured only against recipient-side policy (here an MTA-STS policy stood in through {@link TlsPolicies}),
 * never against the administrator's static policy; ignored when MAIL FROM has REQUIRETLS (§4.1).
 */
class TlsRequiredNoTest {
    @TempDir static Path dir;

    static final String FROM = "alice@a.example";

    static String message(String subject, String tlsRequiredField) {
        return "From: " + FROM + "\r\nTo: bob@b.example\r\nSubject: " + subject + "\r\n"
                + (tlsRequiredField == null ? "" : tlsRequiredField + "\r\n")
                + "Message-ID: <" + subject + "@a.example>\r\n\r\ntext\r\n";
    }

    /** The static policy {@code encrypt} for b.example: the administrator's, which no header relaxes. */
    @Test void aStaticPolicyIsNotRelaxedByTheHeader() throws Exception {
        Path data = dir.resolve("static");
        var audit = new RecordingAudit();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().start(); // no STARTTLS
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example").withOutboundTls(
                     new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                             Map.of("b.example", TlsPolicy.of(TlsLevel.ENCRYPT)))), audit)) {
            String id = Outbound.submit(gw, FROM, List.of("bob@b.example"),
                    message("static", "tls-required :\r\n\tNO  "));
            Envelope env = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() >= 1);
            assertThat(env.tlsRequiredNo()).isTrue();
            assertThat(env.recipients().getFirst().lastResult()).startsWith("451 4.7.10")
                    .contains("does not offer STARTTLS");
            assertThat(server.transactions()).as("never in clear text").noneMatch(x -> x.mailFrom() != null);
            assertThat(audit.of(MessageRecord.class)).filteredOn(m -> m.queueId().equals(id)).singleElement()
                    .satisfies(m -> {
                        assertThat(m.tlsRequiredNo()).isTrue();
                        assertThat(m.requireTls()).isFalse();
                    });
        }
    }

    /** RFC 8689 §4.1: with REQUIRETLS on MAIL FROM the header is ignored, but kept in the content. */
    @Test void requireTlsWinsOverTheHeader() throws Exception {
        Path data = dir.resolve("both");
        var audit = new RecordingAudit();
        var root = TestPki.root("TLS-Required Root");
        var peer = TestPki.cert("loopback").issuer(root).ip("127.0.0.1").build();
        Path ca = dir.resolve("root.pem");
        Pem.write(root.material(), ca, dir.resolve("root.key"));
        TlsPolicy verify = new TlsPolicy(TlsLevel.VERIFY, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                TlsPolicy.LEVEL_KEY_FLOOR, List.of(), ca, List.of(), null, null);
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().extensions("REQUIRETLS").starttls(peer.material()).start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example").withOutboundTls(
                     new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY), Map.of("b.example", verify))), audit)) {
            String id;
            try (SmtpTestClient c = RequireTlsTest.overTls(gw)) {
                assertThat(c.command("MAIL FROM:<" + FROM + "> REQUIRETLS").code()).isEqualTo(250);
                id = RequireTlsTest.rcptAndContent(c, "bob@b.example", message("both", "TLS-Required: No"));
            }
            eventually().until(() -> server.delivered().size() == 1);
            assertThat(server.delivered().getFirst().mailParameters()).contains("REQUIRETLS");
            assertThat(server.delivered().getFirst().text()).contains("TLS-Required: No");
            assertThat(audit.of(MessageRecord.class)).filteredOn(m -> m.queueId().equals(id)).singleElement()
                    .satisfies(m -> {
                        assertThat(m.requireTls()).isTrue();
                        assertThat(m.tlsRequiredNo()).isFalse();
                    });
        }
    }

    /**
     * An MTA-STS policy in enforce mode (stood in: {@link TlsPolicies#resolve(String, Instant)} answers it, as the
     * MTA-STS source will) requires verified TLS of b.example's host, which offers no STARTTLS. The message with
     * {@code TLS-Required: No} goes anyway, in clear text (§4.2.2: "do not fail if this is unsuccessful"), under the
     * administrator's policy (may); the same message without the field waits (4.7.10), never in clear text.
     */
    @Test void aRecipientSidePolicyIsSetAsideForTheMessageThatAsks() throws Exception {
        Path data = dir.resolve("mta-sts");
        try (StoodInMtaSts f = StoodInMtaSts.open(data)) {
            f.scheduler().start(List.of());
            String relaxed = queue(f.spool(), f.scheduler(), "relaxed", true);
            String strict = queue(f.spool(), f.scheduler(), "strict", false);
            eventually().until(() -> f.server().delivered().size() == 1 && f.spool().find(relaxed).isEmpty()
                    && f.spool().find(strict).map(e -> e.envelope().recipients().getFirst().attempts() >= 1)
                    .orElse(false));
            var t = f.server().delivered().getFirst();
            assertThat(t.text()).contains("Subject: relaxed");
            assertThat(t.usedTls()).as("in clear text, because the header said so").isFalse();
            Envelope waiting = f.spool().find(strict).orElseThrow().envelope();
            assertThat(waiting.recipients().getFirst().lastResult()).startsWith("451 4.7.10")
                    .contains("mta-sts").contains("does not offer STARTTLS");
            assertThat(f.server().transactions()).noneMatch(x -> x.text() != null && x.text().contains("strict"));
            assertThat(f.log().lines()).anyMatch(l -> l.contains("id=" + relaxed) && l.contains("tls-required=no")
                    && l.contains("the mta-sts policy is set aside") && l.contains("result=delivered"));
        }
    }

    /**
     * Mail of Postern's own through {@link Scheduler#submit}: a TLS report (RFC 8460 §5.3, made as the sender makes
     * it) carries {@code TLS-Required: No}, read from its header section as for received mail, so its envelope has
     * the flag and it gets through the stood-in MTA-STS policy in clear text; an alert-like message without the field
     * gets no flag and waits (4.7.10), never in clear text.
     */
    @Test void ownMailIsFlaggedByItsTlsRequiredField() throws Exception {
        Path data = dir.resolve("submit");
        try (StoodInMtaSts f = StoodInMtaSts.open(data)) {
            Report report = new Report("Postern", Aggregate.range(java.time.LocalDate.parse("2026-12-02")), null,
                    "tlsrpt.20261202.b.example@a.example", List.of(new Report.PolicyResult(new Report.Policy(
                    Report.PolicyType.STS, null, "b.example", null), new Report.Summary(0, 1), List.of())));
            byte[] mail = ReportMessage.mail(report, ReportMessage.gzip(ReportMessage.json(report)),
                    "tlsrpt@a.example", "tls@b.example", "a.example", "1.tlsrpt@a.example", Instant.now());
            String relaxed = f.scheduler().submit("", List.of("tls@b.example"), mail, "1.tlsrpt@a.example",
                    "tls-rpt report");
            String strict = f.scheduler().submit("", List.of("bob@b.example"), message("alert", null)
                    .getBytes(StandardCharsets.US_ASCII), "alert@a.example", "alert");
            // read back from the f.spool() before any attempt: the flag is the envelope's, written with it
            assertThat(f.spool().find(relaxed).orElseThrow().envelope().tlsRequiredNo()).isTrue();
            assertThat(f.spool().find(strict).orElseThrow().envelope().tlsRequiredNo()).isFalse();
            f.scheduler().start(List.of());
            eventually().until(() -> f.server().delivered().size() == 1 && f.spool().find(relaxed).isEmpty()
                    && f.spool().find(strict).map(e -> e.envelope().recipients().getFirst().attempts() >= 1)
                    .orElse(false));
            var t = f.server().delivered().getFirst();
            assertThat(t.text()).contains("TLS-Report-Domain: b.example", "TLS-Required: No");
            assertThat(t.usedTls()).as("in clear text, because the report said so").isFalse();
            assertThat(f.spool().find(strict).orElseThrow().envelope().recipients().getFirst().lastResult())
                    .startsWith("451 4.7.10").contains("does not offer STARTTLS");
            assertThat(f.server().transactions()).noneMatch(x -> x.text() != null && x.text().contains("alert"));
            assertThat(f.log().lines()).anyMatch(l -> l.contains("id=" + relaxed) && l.contains("origin=")
                    && l.contains("tls-required=no"));
        }
    }

    /** The one rule (RFC 8689 §3, §8.4): recipient-side and learned policies yield, the administrator's never. */
    @Test void theRuleSetsAsideOnlyRecipientSideSources() {
        for (TlsPolicies.SourceKind kind : TlsPolicies.SourceKind.values()) {
            assertThat(TlsPolicies.setAside(kind, false)).as(kind.word()).isFalse();
        }
        assertThat(List.of(TlsPolicies.SourceKind.values())).filteredOn(k -> TlsPolicies.setAside(k, true))
                .containsExactlyInAnyOrder(TlsPolicies.SourceKind.DANE, TlsPolicies.SourceKind.MTA_STS,
                        TlsPolicies.SourceKind.MEMORY);
        // today's sources are all the administrator's: the flag changes nothing they resolve
        TlsPolicies policies = new TlsPolicies(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                Map.of("b.example", TlsPolicy.of(TlsLevel.ENCRYPT))), new PolicyOverrides(dir.resolve("rule")));
        Instant now = Instant.now();
        assertThat(policies.resolve("b.example", now, true)).isEqualTo(policies.resolve("b.example", now));
        assertThat(policies.resolve("c.example", now, true)).isEqualTo(policies.resolve("c.example", now));
    }

    /**
     * b.example's host on loopback without STARTTLS, and a scheduler (not started) over a spool in {@code data}
     * relaying b.example there under an MTA-STS policy in enforce mode, stood in ({@link TlsPolicies#resolve(String,
     * Instant)} answers it, as the MTA-STS source will): verified TLS; the scheduler's log lines caught.
     */
    record StoodInMtaSts(ScriptedSmtpServer server, Outbound.SchedulerLog log, Spool spool, Scheduler scheduler)
            implements AutoCloseable {
        static StoodInMtaSts open(Path data) throws Exception {
            ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                    .enhancedStatusCodes().start();
            Spool spool = Spool.open(data.resolve("queue"));
            return new StoodInMtaSts(server, new Outbound.SchedulerLog(), spool,
                    enforcedSts(data, spool, server.port()));
        }

        @Override public void close() throws Exception {
            try (server; log; spool; scheduler) { } // closed in reverse: the scheduler first
        }
    }

    static Scheduler enforcedSts(Path data, Spool spool, int port) throws Exception {
        Path ca = data.resolve("sts-root.pem");
        java.nio.file.Files.createDirectories(data);
        Pem.write(TestPki.root("STS Root").material(), ca, data.resolve("sts-root.key"));
        TlsPolicy enforced = new TlsPolicy(TlsLevel.SECURE, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                TlsPolicy.LEVEL_KEY_FLOOR, List.of(), ca, List.of(), null, null);
        Config config = Outbound.relayingTo(data, port, "b.example");
        TlsPolicies policies = new TlsPolicies(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY), Map.of()),
                new PolicyOverrides(data)) {
            @Override public Resolved resolve(String domain, Instant now) {
                return new Resolved(domain, enforced, "mta-sts policy id 20261202 (stood in)", Optional.empty(),
                        SourceKind.MTA_STS);
            }
        };
        DnsResolver dns = new DnsResolver(List.of(), Duration.ofSeconds(2));
        SmtpClient client = new SmtpClient(Outbound.HOSTNAME, Duration.ofSeconds(5), Duration.ofSeconds(10),
                Duration.ofSeconds(10));
        return new Scheduler(spool, new Router(config::routeFor, dns, 25), dns, client, policies,
                new MaildirDelivery(data.resolve("mail"), Outbound.HOSTNAME),
                new Scheduler.Settings(Outbound.HOSTNAME, Set.of("a.example"), new RetrySchedule(
                        Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofDays(1)), null, 4, 2));
    }

    /** Puts a message into the spool as the inbound side would, with the header's flag, and hands it on. */
    static String queue(Spool spool, Scheduler scheduler, String subject, boolean tlsRequiredNo) throws Exception {
        byte[] content = message(subject, tlsRequiredNo ? "TLS-Required: No" : null)
                .getBytes(StandardCharsets.US_ASCII);
        Instant now = Instant.now();
        try (Spool.Incoming in = spool.receive()) {
            in.body().write(content);
            Envelope env = new Envelope(in.id(), FROM, List.of(Envelope.Recipient.pending("bob@b.example")), now,
                    "client.test ([127.0.0.1])", "7BIT", false, content.length, now, false, 0, false, tlsRequiredNo);
            in.commit(env);
            scheduler.enqueue(env);
            return in.id();
        }
    }
}
