package dev.postern.audit;

import dev.postern.audit.TlsReport.Shares;
import dev.postern.audit.TlsReports.Group;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The questions the dashboard asks besides the report: TLS coverage per time bucket (the report's own message query,
 * {@link TlsReports#messagesSql}, grouped by bucket instead of domain, so the two cannot disagree), recent policy
 * failures and downgrades, and the certificate a partner presented last.
 */
final class DashboardQueries {
    /** More buckets than this is a window too long for its bucket (a chart of 1,000 points is already dense). */
    static final int MAX_BUCKETS = 2000;

    private final TlsReports reports;

    DashboardQueries(Connection db) {
        this.reports = new TlsReports(db);
    }

    TlsTimeline timeline(Instant from, Instant until, Duration bucket) throws SQLException {
        long size = bucket.toMillis();
        if (size < 60_000) throw new IllegalArgumentException("bucket: expected at least 1m, got " + bucket);
        long start = Math.floorDiv(from.toEpochMilli(), size) * size;
        long count = Math.floorDiv(until.toEpochMilli() - start, size) + 1;
        if (count > MAX_BUCKETS) {
            throw new IllegalArgumentException("bucket: " + count + " buckets in the window, expected at most "
                    + MAX_BUCKETS + " (a longer bucket or a shorter window)");
        }
        Shares[][] counts = new Shares[(int) count][2];
        for (Shares[] row : counts) {
            row[0] = Shares.NONE;
            row[1] = Shares.NONE;
        }
        for (boolean out : new boolean[] {false, true}) {
            String at = out ? "d.at" : "m.at";
            String sql = TlsReports.messagesSql(out, "(" + at + " - ?) / ?", false);
            for (Group g : reports.groups(sql, start, size, start)) {
                int i = (int) Long.parseLong(g.domain());
                if (i < 0 || i >= count) continue; // written after "until" was taken: the next look shows it
                counts[i][out ? 1 : 0] = counts[i][out ? 1 : 0].plus(TlsReports.shares(g));
            }
        }
        List<TlsTimeline.Bucket> buckets = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            buckets.add(new TlsTimeline.Bucket(Instant.ofEpochMilli(start + i * size), counts[i][0], counts[i][1]));
        }
        return new TlsTimeline(Instant.ofEpochMilli(start), until, bucket, buckets);
    }

    /**
     * Delivery attempts since {@code since}, newest first, at most {@code limit}: not delivered with a TLS status
     * (4.7.x, 5.7.x) or without TLS for a reason (the enforced links' "failed" of the report), not delivered under
     * a level the downgrade memory set, and delivered in clear text for a reason under a policy other than "none".
     */
    List<PolicyEvent> policyEvents(Instant since, int limit) throws SQLException {
        String failed = "(d.outcome <> 'DELIVERED' AND (" + TlsReports.TLS_STATUS + " OR d.no_tls_reason IS NOT NULL "
                + "OR s.policy_source = 'memory'))";
        String downgraded = "(d.outcome = 'DELIVERED' AND d.no_tls_reason IS NOT NULL "
                + "AND COALESCE(s.policy_level, '') <> 'none')";
        String sql = "SELECT d.at, CASE WHEN d.outcome = 'DELIVERED' THEN 'downgrade' WHEN s.policy_source = 'memory' "
                + "THEN 'memory' ELSE 'failure' END, d.gateway, d.queue_id, d.recipient, d.domain, d.mx_host, "
                + "d.outcome, d.status, d.reason, d.no_tls_reason, s.policy_level, s.policy_source, s.policy_mode "
                + "FROM delivery d LEFT JOIN tls_session s ON s.gateway = d.gateway AND s.id = d.tls_session_id "
                + "WHERE d.at >= ? AND (" + failed + " OR " + downgraded + ") ORDER BY d.at DESC, d.queue_id, "
                + "d.recipient LIMIT ?";
        List<PolicyEvent> out = new ArrayList<>();
        try (PreparedStatement p = reports.prepare(sql, since.toEpochMilli(), limit); ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                out.add(new PolicyEvent(JdbcAuditStore.instant(rs, 1), rs.getString(2), rs.getString(3),
                        rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                        rs.getString(9), rs.getString(10), rs.getString(11), rs.getString(12), rs.getString(13),
                        rs.getString(14)));
            }
        }
        return out;
    }

    /** The leaf certificate of the latest delivery attempt to {@code domain} that recorded one. */
    Optional<PartnerCertificate> partnerCertificate(String domain) throws SQLException {
        String sql = "SELECT c.sha256, c.subject, c.not_after, d.at, d.mx_host FROM delivery d "
                + "JOIN session_certificate c ON c.gateway = d.gateway AND c.session_id = d.tls_session_id "
                + "AND c.position = 0 WHERE d.domain = ? ORDER BY d.at DESC LIMIT 1";
        try (PreparedStatement p = reports.prepare(sql, domain); ResultSet rs = p.executeQuery()) {
            if (!rs.next()) return Optional.empty();
            return Optional.of(new PartnerCertificate(domain, rs.getString(1), rs.getString(2),
                    JdbcAuditStore.instant(rs, 3), JdbcAuditStore.instant(rs, 4), rs.getString(5)));
        }
    }
}
