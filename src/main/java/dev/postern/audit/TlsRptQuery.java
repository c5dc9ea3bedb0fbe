package dev.postern.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The questions behind the SMTP TLS reports (RFC 8460) this gateway sends: of one gateway's records in
 * {@code [start, end)}, the outbound sessions with a report policy type, grouped ({@link TlsRptGroup}), for the
 * recipient domains a delivery was attempted to in that period (a delivery record to a domain other than a local
 * one). A session is joined to its domain by its own {@code policy_domain}, not through deliveries: one that failed
 * its policy's checks has no delivery naming it.
 */
final class TlsRptQuery {
    private static final String DOMAINS = "SELECT DISTINCT d.domain FROM delivery d WHERE d.gateway = ? AND d.at >= ? "
            + "AND d.at < ? AND COALESCE(d.mx_host, '') <> 'local'";

    private final Connection db;

    TlsRptQuery(Connection db) {
        this.db = db;
    }

    /** The domains of {@link #DOMAINS}, sorted. */
    List<String> domains(String gateway, Instant start, Instant end) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement(DOMAINS + " ORDER BY 1")) {
            bind(p, gateway, start, end);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** The groups of sessions, by domain, type, result, host (and for failures address, greeting name, reason). */
    List<TlsRptGroup> groups(String gateway, Instant start, Instant end) throws SQLException {
        String failed = "s.result_type IS NOT NULL";
        String reason = "CASE WHEN " + failed + " THEN COALESCE(s.no_tls_detail, s.verification_reason) END";
        String sql = "SELECT s.policy_domain, s.policy_type, s.result_type, s.endpoint, "
                + "CASE WHEN " + failed + " THEN s.peer_ip END, CASE WHEN " + failed + " THEN s.ehlo_name END, "
                + reason + ", COUNT(*) FROM tls_session s WHERE s.gateway = ? AND s.at >= ? AND s.at < ? "
                + "AND s.direction = 'OUT' AND s.policy_type IS NOT NULL AND s.policy_domain IN (" + DOMAINS + ") "
                + "GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7";
        List<TlsRptGroup> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement(sql)) {
            bind(p, gateway, start, end);
            p.setString(4, gateway);
            p.setLong(5, start.toEpochMilli());
            p.setLong(6, end.toEpochMilli());
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    out.add(new TlsRptGroup(rs.getString(1), rs.getString(2), rs.getString(3), host(rs.getString(4)),
                            rs.getString(5), rs.getString(6), rs.getString(7), rs.getLong(8)));
                }
            }
        }
        return out;
    }

    private static void bind(PreparedStatement p, String gateway, Instant start, Instant end) throws SQLException {
        p.setString(1, gateway);
        p.setLong(2, start.toEpochMilli());
        p.setLong(3, end.toEpochMilli());
    }

    /** "mx1.bank.example:25" → "mx1.bank.example"; "[2001:db8::1]:25" → "[2001:db8::1]". */
    private static String host(String endpoint) {
        if (endpoint == null) return null;
        int colon = endpoint.lastIndexOf(':');
        return colon > 0 && endpoint.indexOf(']') < colon ? endpoint.substring(0, colon) : endpoint;
    }
}
