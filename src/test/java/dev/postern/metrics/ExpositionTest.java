package dev.postern.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.audit.CertificateSummary;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueState;
import dev.postern.queue.Spool;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scrape is valid Prometheus text whatever the records carried (a partner's certificate subject and a next hop's
 * name are chosen by others), and the label sets stay bounded however many sessions, domains and certificates pass.
 */
class ExpositionTest {
    @TempDir Path data;

    Metrics metrics() throws Exception {
        Spool spool = Spool.open(data.resolve("queue"));
        return new Metrics(new Metrics.Sources(spool::census, () -> null, List::of));
    }

    static TlsSessionRecord out(String id, String endpoint, String subject, String sha, Instant notAfter,
                                String level, TlsSessionRecord.Verification v) {
        var leaf = new CertificateSummary(subject, List.of(), "CN=ca", Instant.now().minus(1, ChronoUnit.DAYS),
                notAfter, "EC", 256, sha, sha, null);
        return new TlsSessionRecord(id, Instant.now(), TlsSessionRecord.Direction.OUT, endpoint, "192.0.2.1", 25,
                "mx", null, "TLSv1.3", "TLS_AES_128_GCM_SHA256", 128, "x25519", false, null, List.of(leaf), v, null,
                "not-asked", null, null, new TlsSessionRecord.PolicyApplied(level, "static", "", "enforce", List.of()));
    }

    static DeliveryRecord delivery(String session, String recipient, DeliveryRecord.Outcome outcome, String status) {
        return new DeliveryRecord(Instant.now(), QueueIds.next(), recipient, 1, "mx", 10, "192.0.2.1", 25, session,
                null, List.of(), outcome, status, "", null, List.of());
    }

    @Test void hostileTextInLabelsIsEscapedAndEveryLineParses() throws Exception {
        Metrics m = metrics();
        String subject = "CN=evil\"}\n# TYPE x counter\nx 1\\,O=ünï\u0000";
        m.observer().record(out("s1", "mx.evil\"\n.example:25", subject, "ab".repeat(32),
                Instant.now().plus(3, ChronoUnit.DAYS), "verify", TlsSessionRecord.Verification.VERIFIED));
        m.observer().record(delivery("s1", "a@b\"\n.example", DeliveryRecord.Outcome.DEFERRED, "4.7.5"));
        String text = m.scrape();
        PromText p = PromText.parse(text);
        var cert = p.find("postern_certificate_expiry_days", "owner", "partner");
        assertThat(cert).hasSize(1);
        assertThat(cert.getFirst().labels()).containsEntry("subject", subject)
                .containsEntry("endpoint", "mx.evil\"\n.example:25").containsEntry("sha256", "ab".repeat(8));
        assertThat(cert.getFirst().value()).isBetween(2.99, 3.0);
        assertThat(p.value("postern_enforced_failures_total", "domain", "b\"\n.example")).isEqualTo(1);
        assertThat(p.names()).doesNotContain("x");
    }

    @Test void theReaderRefusesWhatPrometheusWould() {
        assertThatThrownBy(() -> PromText.parse("a 1\n")).hasMessageContaining("before its TYPE");
        assertThatThrownBy(() -> PromText.parse("# TYPE a gauge\na{l=\"\\x\"} 1\n")).hasMessageContaining("escape");
        assertThatThrownBy(() -> PromText.parse("# TYPE a gauge\na 1\na 2\n")).hasMessageContaining("twice");
        assertThatThrownBy(() -> PromText.parse("# TYPE a gauge\na one\n"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(PromText.parse("# TYPE a_total counter\n# HELP a_total x\\ny\na_total{l=\"\\\"\"} 1 123\n")
                .value("a_total", "l", "\"")).isEqualTo(1);
    }

    @Test void labelSetsStayBounded() throws Exception {
        Metrics m = metrics();
        var observer = m.observer();
        Instant end = Instant.now().plus(30, ChronoUnit.DAYS);
        // many domains failing with 5.7.1: the first MAX_DOMAINS get a label, the rest count as "other"
        for (int i = 0; i < RecordMeter.MAX_DOMAINS + 50; i++) {
            observer.record(delivery(null, "x@d" + i + ".example", DeliveryRecord.Outcome.BOUNCED, "5.7.1"));
        }
        // many certificates, unverified and opportunistic, and a few verified partners seen first
        for (int i = 0; i < 5; i++) {
            observer.record(out("v" + i, "partner" + i + ":25", "CN=partner" + i, "%064d".formatted(i), end,
                    "verify", TlsSessionRecord.Verification.VERIFIED));
        }
        for (int i = 0; i < PartnerCertificates.MAX + 100; i++) {
            observer.record(out("o" + i, "mx" + i + ":25", "CN=mx" + i, "%064x".formatted(i + 1000), end, "may",
                    TlsSessionRecord.Verification.FAILED));
        }
        // inbound messages whose sessions never end on record
        for (int i = 0; i < RecordMeter.MAX_PENDING + 7; i++) {
            observer.record(new MessageRecord(Instant.now(), QueueIds.next(), null, "a@x", List.of("b@y"), 1,
                    "in" + i, "192.0.2.9", "client", null, null, false, "smtp"));
        }
        PromText p = PromText.parse(m.scrape());
        assertThat(p.find("postern_enforced_failures_total")).hasSize(RecordMeter.MAX_DOMAINS + 1);
        assertThat(p.value("postern_enforced_failures_total", "domain", "other")).isEqualTo(50);
        var certs = p.find("postern_certificate_expiry_days", "owner", "partner");
        assertThat(certs).hasSize(PartnerCertificates.MAX);
        assertThat(certs).extracting(s -> s.labels().get("endpoint")).as("verified partners are kept")
                .contains("partner0:25", "partner4:25").doesNotContain("mx0:25");
        assertThat(p.value("postern_messages_total", "direction", "in", "tls", "unknown")).isEqualTo(7);
        assertThat(p.samples.size()).as("bounded")
                .isLessThan((RecordMeter.MAX_DOMAINS + 1) * 5 + PartnerCertificates.MAX + 200);
    }

    @Test void aRenewedCertificateReplacesTheOldOneAtItsEndpoint() throws Exception {
        Metrics m = metrics();
        Instant soon = Instant.now().plus(2, ChronoUnit.DAYS);
        Instant later = Instant.now().plus(90, ChronoUnit.DAYS);
        m.observer().record(out("a", "mx.p.example:25", "CN=mx.p.example", "1".repeat(64), soon, "verify",
                TlsSessionRecord.Verification.VERIFIED));
        m.observer().record(out("b", "mx.p.example:25", "CN=mx.p.example", "2".repeat(64), later, "verify",
                TlsSessionRecord.Verification.VERIFIED));
        var certs = PromText.parse(m.scrape()).find("postern_certificate_expiry_days", "owner", "partner");
        assertThat(certs).singleElement().satisfies(s -> {
            assertThat(s.labels()).containsEntry("sha256", "2".repeat(16));
            assertThat(s.value()).isBetween(89.9, 90.0);
        });
    }

    @Test void queueGaugesCountEachStateFromTheFileNames() throws Exception {
        Spool spool = Spool.open(data.resolve("queue"));
        Metrics m = new Metrics(new Metrics.Sources(spool::census, () -> null, List::of));
        PromText empty = PromText.parse(m.scrape());
        assertThat(empty.value("postern_queue_messages", "state", "active")).isZero();
        assertThat(empty.value("postern_queue_oldest_age_seconds", "state", "deferred")).isZero();
        Thread.sleep(Metrics.QUEUE_CACHE.toMillis()); // the empty scan is reused until then
        String first = null;
        for (int i = 0; i < 3; i++) {
            try (Spool.Incoming in = spool.receive()) {
                in.body().write("Subject: x\r\n\r\nx\r\n".getBytes());
                in.commit(new Envelope(in.id(), "a@x.example", List.of(Envelope.Recipient.pending("b@y.example")),
                        Instant.now(), "c", "7BIT", false, 10, Instant.now(), false, 0));
                if (first == null) first = in.id();
            }
            if (i == 0) Thread.sleep(1500);
        }
        Envelope held = spool.find(first).orElseThrow().envelope();
        spool.update(held, QueueState.HOLD);
        PromText p = PromText.parse(m.scrape());
        assertThat(p.value("postern_queue_messages", "state", "active")).isEqualTo(2);
        assertThat(p.value("postern_queue_messages", "state", "hold")).isEqualTo(1);
        assertThat(p.value("postern_queue_messages", "state", "deferred")).isZero();
        assertThat(p.value("postern_queue_oldest_age_seconds", "state", "hold")).isBetween(1.5, 5.0);
        assertThat(p.value("postern_queue_oldest_age_seconds", "state", "active")).isBetween(0.0, 1.0);
        spool.close();
    }
}
