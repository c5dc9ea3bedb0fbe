package dev.postern.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The questions asked of the {@code probe} table: each domain's latest probe, and one domain's history. */
final class ProbeQueries {
    private static final String COLUMNS = "p.at, p.domain, p.ok, p.trigger_by, p.policy_level, p.policy_source, "
            + "p.host, p.ip, p.port, p.tls_session_id, p.protocol, p.cipher, p.verification, p.problem, "
            + "p.hosts_tried, p.millis";
    /** The most rows one history answers: a year of hourly probes is 8,760. */
    static final int MAX_HISTORY = 10_000;

    private final Connection db;

    ProbeQueries(Connection db) {
        this.db = db;
    }

    /** The newest probe of each domain (of any gateway in the store), by domain. */
    List<ProbeRecord> latest() throws SQLException {
        Map<String, ProbeRecord> out = new LinkedHashMap<>();
        String sql = "SELECT " + COLUMNS + " FROM probe p JOIN (SELECT domain, MAX(at) AS at FROM probe GROUP BY "
                + "domain) m ON p.domain = m.domain AND p.at = m.at ORDER BY p.domain";
        try (PreparedStatement p = db.prepareStatement(sql); ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                ProbeRecord r = row(rs);
                out.putIfAbsent(r.domain(), r); // two probes of the same millisecond: one is enough
            }
        }
        return List.copyOf(out.values());
    }

    /** The probes of {@code domain} since {@code since}, newest first, at most {@link #MAX_HISTORY}. */
    List<ProbeRecord> history(String domain, Instant since) throws SQLException {
        List<ProbeRecord> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement("SELECT " + COLUMNS + " FROM probe p WHERE p.domain = ? "
                + "AND p.at >= ? ORDER BY p.at DESC LIMIT " + MAX_HISTORY)) {
            p.setString(1, domain);
            p.setLong(2, JdbcAuditStore.millis(since));
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) out.add(row(rs));
            }
        }
        return out;
    }

    private static ProbeRecord row(ResultSet rs) throws SQLException {
        return new ProbeRecord(JdbcAuditStore.instant(rs, 1), rs.getString(2), rs.getInt(3) != 0, rs.getString(4),
                rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getInt(9), rs.getString(10),
                rs.getString(11), rs.getString(12), rs.getString(13), rs.getString(14),
                JdbcAuditStore.list(rs.getString(15)), rs.getLong(16));
    }
}
