package dev.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.TlsRptRecord.Direction;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** TLS reports in the store, on both backends: the key (V5), newest first, filters, one report, and the upgrade. */
class TlsRptStoreTest {
    @TempDir Path dir;
    static final Instant D1 = Instant.parse("2026-11-30T00:00:00Z");
    static final Instant D2 = Instant.parse("2026-12-01T00:00:00Z");

    static TlsRptRecord in(String org, String id, String domain, Instant start, long ok, long failed) {
        return new TlsRptRecord(start.plusSeconds(90_000), Direction.IN, id, org, domain, start,
                start.plusSeconds(86_399), ok, failed, "https POST from 192.0.2.1", "accepted",
                "{\"report-id\":\"" + id + "\"}");
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void sameReportIdFromTwoOrganizationsIsTwoReportsAndEachIsStoredOnce(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a")) {
            TlsRptRecord google = in("Google Inc.", D1 + "_a.example", "a.example", D1, 10, 1);
            TlsRptRecord other = in("Other Co", D1 + "_a.example", "a.example", D1, 20, 0);
            TlsRptRecord newer = in("Google Inc.", D2 + "_a.example", "a.example", D2, 30, 3);
            TlsRptRecord relay = in("Google Inc.", D2 + "_b.example", "b.example", D2, 5, 0);
            TlsRptRecord sent = new TlsRptRecord(D2.plusSeconds(4000), Direction.OUT, "ours-1", "mx.gw.example",
                    "bank.example", D1, D2, 7, 0, "mailto:tlsrpt@bank.example", "queued", "{}");
            store.write(List.of(google, other, newer, relay, sent));
            store.write(List.of(google, other)); // sent again: stored once
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM tlsrpt_report")).isEqualTo(5);

            List<TlsRptRecord> all = store.tlsRptReports(null, null, null, 100, false);
            assertThat(all).extracting(TlsRptRecord::reportId).startsWith(D2 + "_a.example", D2 + "_b.example",
                    "ours-1"); // newest window first; ties by when recorded, newest first
            assertThat(all).allSatisfy(r -> assertThat(r.json()).isNull());
            assertThat(store.tlsRptReports(Direction.IN, "a.example", null, 100, true))
                    .extracting(TlsRptRecord::organization).containsExactlyInAnyOrder("Google Inc.", "Google Inc.",
                            "Other Co");
            assertThat(store.tlsRptReports(Direction.IN, null, D2, 100, true)).hasSize(2)
                    .allSatisfy(r -> assertThat(r.json()).startsWith("{\"report-id\""));
            assertThat(store.tlsRptReports(Direction.OUT, null, null, 100, false)).singleElement()
                    .satisfies(r -> assertThat(r.peer()).isEqualTo("mailto:tlsrpt@bank.example"));
            assertThat(store.tlsRptReports(null, null, null, 2, false)).hasSize(2);

            assertThat(store.tlsRptReport(D1 + "_a.example", null, null, null)).hasSize(2);
            assertThat(store.tlsRptReport(D1 + "_a.example", "Other Co", null, Direction.IN)).singleElement()
                    .isEqualTo(other);
            assertThat(store.tlsRptReport("nothing", null, null, null)).isEmpty();
            assertThat(store.tlsRptKnown(Direction.IN, "Other Co", D1 + "_a.example", "a.example")).isTrue();
            assertThat(store.tlsRptKnown(Direction.IN, "Third Co", D1 + "_a.example", "a.example")).isFalse();
            assertThat(store.tlsRptKnown(Direction.OUT, "Other Co", D1 + "_a.example", "a.example")).isFalse();
        }
    }

    /** A store with reports from before V5 (organization nullable, not in the key) keeps them through the upgrade. */
    @ParameterizedTest @EnumSource(Backend.class)
    void reportsStoredBeforeTheNewKeySurviveTheUpgrade(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        Flyway.configure(getClass().getClassLoader()).dataSource(url, null, null)
                .locations("classpath:db/audit/common").table("audit_schema_history").target("3").load().migrate();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO tlsrpt_report (gateway, at, direction, report_id, organization, policy_domain, "
                    + "start_at, end_at, successful, failed, peer, outcome, report_json) VALUES ('gw-a', 5, 'OUT', "
                    + "'r1', NULL, 'bank.example', 1, 2, 3, 4, 'mailto:x@bank.example', 'queued', '{}')");
            if (!c.getAutoCommit()) c.commit();
        }
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a")) {
            assertThat(store.tlsRptReport("r1", null, null, null)).singleElement().satisfies(r -> {
                assertThat(r.organization()).isNull();
                assertThat(r.successful()).isEqualTo(3);
                assertThat(r.json()).isEqualTo("{}");
            });
            store.write(List.of(in("Org", "r1", "bank.example", D1, 1, 0)));
            assertThat(store.tlsRptReports(null, "bank.example", null, 10, false)).hasSize(2);
        }
    }
}
