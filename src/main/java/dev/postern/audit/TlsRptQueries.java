package dev.postern.audit;

import dev.postern.audit.TlsRptRecord.Direction;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The questions asked of {@code tlsrpt_report}: SMTP TLS reports sent (OUT) and received (IN). Newest first means by
 * the report's window ({@code start_at}), then by when it was recorded. Every gateway's rows are read.
 */
final class TlsRptQueries {
    private static final String COLUMNS = "at, direction, report_id, organization, policy_domain, start_at, end_at, "
            + "successful, failed, peer, outcome";

    private final Connection db;

    TlsRptQueries(Connection db) {
        this.db = db;
    }

    /** Reports newest first, with their JSON or without it (null); each filter may be null. */
    List<TlsRptRecord> list(Direction direction, String domain, Instant since, int limit, boolean withJson)
            throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + (withJson ? ", report_json" : ", NULL")
                + " FROM tlsrpt_report WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        where(sql, args, "direction", direction == null ? null : direction.name());
        where(sql, args, "policy_domain", domain);
        if (since != null) {
            sql.append(" AND COALESCE(start_at, at) >= ?");
            args.add(since.toEpochMilli());
        }
        sql.append(" ORDER BY start_at DESC, at DESC, report_id LIMIT ?");
        args.add(limit);
        return query(sql.toString(), args);
    }

    /** The reports with this report-id (and organization, domain, direction when given), with their JSON. */
    List<TlsRptRecord> find(String reportId, String organization, String domain, Direction direction)
            throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + ", report_json FROM tlsrpt_report "
                + "WHERE report_id = ?");
        List<Object> args = new ArrayList<>(List.of(JdbcAuditStore.text(reportId)));
        where(sql, args, "organization", organization);
        where(sql, args, "policy_domain", domain);
        where(sql, args, "direction", direction == null ? null : direction.name());
        sql.append(" ORDER BY start_at DESC, at DESC LIMIT 100");
        return query(sql.toString(), args);
    }

    /** Whether a report with this key is stored (by any gateway). */
    boolean known(Direction direction, String organization, String reportId, String domain) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("SELECT 1 FROM tlsrpt_report WHERE direction = ? "
                + "AND organization = ? AND report_id = ? AND policy_domain = ? LIMIT 1")) {
            p.setString(1, direction.name());
            p.setString(2, JdbcAuditStore.text(organization));
            p.setString(3, JdbcAuditStore.text(reportId));
            p.setString(4, JdbcAuditStore.text(domain));
            try (ResultSet rs = p.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Adds "AND column = ?" for a filter that is given, its value as the store keeps text. */
    private static void where(StringBuilder sql, List<Object> args, String column, String value) {
        if (value == null) return;
        sql.append(" AND ").append(column).append(" = ?");
        args.add(JdbcAuditStore.text(value));
    }

    private List<TlsRptRecord> query(String sql, List<Object> args) throws SQLException {
        List<TlsRptRecord> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement(sql)) {
            for (int i = 0; i < args.size(); i++) p.setObject(i + 1, args.get(i));
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    String org = rs.getString(4);
                    out.add(new TlsRptRecord(JdbcAuditStore.instant(rs, 1), Direction.valueOf(rs.getString(2)),
                            rs.getString(3), org == null || org.isEmpty() ? null : org, rs.getString(5),
                            JdbcAuditStore.instant(rs, 6), JdbcAuditStore.instant(rs, 7), rs.getLong(8),
                            rs.getLong(9), rs.getString(10), rs.getString(11), rs.getString(12)));
                }
            }
        }
        return out;
    }
}
