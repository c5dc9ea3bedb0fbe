package dev.postern.audit;

import static dev.postern.testkit.AuditSamples.SINCE;
import static dev.postern.testkit.AuditSamples.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.audit.TlsReport.Shares;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.testkit.AuditSamples;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's questions over known traffic ({@link AuditSamples#knownTraffic()}): the timeline's buckets add up to
 * the report's totals over the same window, in both directions and on both databases; the policy events and the
 * partner certificate are the records that were written.
 */
class DashboardQueriesTest {
    @TempDir Path dir;

    static Shares messages(TlsReport r, Direction d) {
        return r.directions().stream().filter(p -> p.direction() == d).findFirst().orElseThrow().messages();
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void theBucketsAddUpToTheReportOfTheSameWindow(Backend backend) throws Exception {
        try (JdbcAuditStore store = TlsReportTest.filled(backend, dir)) {
            // up to now, by day and by week (the traffic is months old); then by 15 minutes and by hour up to just
            // after it: the early records fall in another bucket than T0's
            Instant until = T0.plus(Duration.ofHours(1));
            for (Duration bucket : List.of(Duration.ofDays(1), Duration.ofDays(7), Duration.ofMinutes(15),
                    Duration.ofHours(1))) {
                TlsTimeline t = bucket.toDays() > 0 ? store.timeline(SINCE.minus(Duration.ofHours(2)), bucket)
                        : store.timeline(SINCE.minus(Duration.ofHours(2)), until, bucket);
                assertThat(t.since().toEpochMilli() % bucket.toMillis()).as("aligned").isZero();
                assertThat(t.bucketLength()).isEqualTo(bucket);
                TlsReport report = store.report(t.since(), null, null);
                for (Direction d : Direction.values()) {
                    assertThat(t.total(d)).as(d + " by " + bucket).isEqualTo(messages(report, d));
                }
                for (int i = 1; i < t.buckets().size(); i++) {
                    assertThat(t.buckets().get(i).start()).isEqualTo(t.buckets().get(i - 1).start().plus(bucket));
                }
                assertThat(t.buckets().getLast().start()).isBeforeOrEqualTo(t.until())
                        .isAfter(t.until().minus(bucket));
            }
            // the bucket holding T0 is the report since SINCE (which leaves out the early records); the early one
            // holds exactly those: one verified delivery out, one clear-text message in
            TlsTimeline t = store.timeline(SINCE.minus(Duration.ofHours(2)), until, Duration.ofMinutes(15));
            Instant t0Bucket = Instant.ofEpochMilli(T0.toEpochMilli() / 900_000 * 900_000);
            TlsTimeline.Bucket at = t.buckets().stream().filter(b -> b.start().equals(t0Bucket)).findFirst()
                    .orElseThrow();
            TlsReport since = store.report(SINCE, null, null);
            assertThat(at.out()).isEqualTo(messages(since, Direction.OUT)).isEqualTo(new Shares(20, 3, 6, 10, 1));
            assertThat(at.in()).isEqualTo(messages(since, Direction.IN)).isEqualTo(new Shares(9, 2, 3, 4, 0));
            Instant earlyBucket = Instant.ofEpochMilli(SINCE.minusSeconds(1).toEpochMilli() / 900_000 * 900_000);
            TlsTimeline.Bucket early = t.buckets().stream().filter(b -> b.start().equals(earlyBucket)).findFirst()
                    .orElseThrow();
            assertThat(early.out()).isEqualTo(new Shares(1, 0, 0, 1, 0));
            assertThat(early.in()).isEqualTo(new Shares(1, 1, 0, 0, 0));
            long empty = t.buckets().stream().filter(b -> b.in().total() == 0 && b.out().total() == 0).count();
            assertThat(empty).isEqualTo(t.buckets().size() - 2);
        }
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void policyEventsAndPartnerCertificate(Backend backend) throws Exception {
        try (JdbcAuditStore store = TlsReportTest.filled(backend, dir)) {
            List<PolicyEvent> events = store.policyEvents(SINCE, 50);
            // three TLS failures at bank.example, one clear-text delivery naming no session at old.example; not the
            // 4.4.1 deferral, not the clear deliveries over sessions that said why, not the records before SINCE
            assertThat(events).extracting(PolicyEvent::kind, PolicyEvent::recipient, PolicyEvent::status)
                    .containsExactlyInAnyOrder(
                            org.assertj.core.groups.Tuple.tuple("failure", "f0@bank.example", "4.7.5"),
                            org.assertj.core.groups.Tuple.tuple("failure", "f0@bank.example", "4.7.5"),
                            org.assertj.core.groups.Tuple.tuple("failure", "f1@bank.example", "5.7.10"),
                            org.assertj.core.groups.Tuple.tuple("downgrade", "c@old.example", "2.0.0"));
            assertThat(store.policyEvents(SINCE, 2)).hasSize(2);

            PartnerCertificate c = store.partnerCertificate("bank.example").orElseThrow();
            assertThat(c.subject()).isEqualTo("CN=mx.bank.example");
            assertThat(c.notAfter()).isEqualTo(Instant.ofEpochMilli(T0.plusSeconds(86400 * 60).toEpochMilli()));
            assertThat(c.seen()).isEqualTo(T0);
            assertThat(store.partnerCertificate("old.example")).isEmpty();
        }
    }

    @ParameterizedTest @EnumSource(names = "SQLITE")
    void tooManyOrTooShortBucketsAreRefused(Backend backend) throws Exception {
        try (JdbcAuditStore store = TlsReportTest.filled(backend, dir)) {
            assertThatThrownBy(() -> store.timeline(T0.minus(Duration.ofDays(30)), Duration.ofMinutes(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 2000");
            assertThatThrownBy(() -> store.timeline(T0, Duration.ofSeconds(10)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1m");
        }
    }
}
