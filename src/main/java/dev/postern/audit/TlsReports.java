package dev.postern.audit;

import dev.postern.audit.TlsReport.DomainShares;
import dev.postern.audit.TlsReport.Enforced;
import dev.postern.audit.TlsReport.Part;
import dev.postern.audit.TlsReport.Shares;
import dev.postern.audit.TlsReport.Usage;
import dev.postern.audit.TlsSessionRecord.Direction;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The queries behind {@link TlsReport} and {@link SeenCertificate}. The database counts (GROUP BY), Java only adds
 * the groups up, so a year of records costs one pass per figure. The definitions are in docs/audit.md; keep the two
 * in step.
 */
final class TlsReports {
    /** A session's class; {@code s} is a LEFT JOINed tls_session, so a missing record is "unknown". */
    private static final String CLASS = "CASE WHEN s.id IS NULL THEN 'unknown' WHEN s.protocol IS NULL THEN 'clear' "
            + "WHEN s.verification = 'VERIFIED' THEN 'verified' ELSE 'unverified' END";
    /** Policy levels that require TLS, and testing mode: {@link TlsSessionRecord.PolicyApplied#enforcing()}. */
    static final String ENFORCING = "(s.policy_level IN ('"
            + String.join("', '", TlsSessionRecord.PolicyApplied.ENFORCING_LEVELS) + "') OR s.policy_mode = 'testing')";
    /** {@link DeliveryRecord#securityStatus()}. */
    static final String TLS_STATUS = "(d.status LIKE '4.7.%' OR d.status LIKE '5.7.%')";
    private static final int TOP_CLEAR = 10;

    private final Connection db;

    TlsReports(Connection db) {
        this.db = db;
    }

    /**
     * The messages of one direction since a time ({@code ?}), counted by {@code key} (an expression over {@code d},
     * the delivery, out, or {@code m}, the message, in; its own {@code ?}s are bound first), class, TLS version and
     * cipher: the one definition of "messages" that the report and the timeline ({@link DashboardQueries}) share.
     * With {@code byDomain} a last {@code ?} is the domain (out: the recipient's, in: the sender's).
     */
    static String messagesSql(boolean out, String key, boolean byDomain) {
        String filter = !byDomain ? "" : (out ? " AND d.domain = ?" : " AND m.sender_domain = ?");
        return out
                // a delivered recipient, classified by the session it used; no session named: clear text
                ? "SELECT " + key + ", CASE WHEN d.tls_session_id IS NULL THEN 'clear' ELSE " + CLASS + " END, "
                        + "s.protocol, s.cipher, COUNT(*) FROM delivery d LEFT JOIN tls_session s "
                        + "ON s.gateway = d.gateway AND s.id = d.tls_session_id WHERE d.at >= ? "
                        + "AND d.outcome = 'DELIVERED' AND COALESCE(d.mx_host, '') <> 'local'" + filter
                        + " GROUP BY 1, 2, 3, 4"
                // a message received over SMTP, classified by the session it came in
                : "SELECT " + key + ", " + CLASS + ", s.protocol, s.cipher, COUNT(*) FROM message m "
                        + "LEFT JOIN tls_session s ON s.gateway = m.gateway AND s.id = m.session_id "
                        + "WHERE m.at >= ? AND m.origin = 'smtp'" + filter + " GROUP BY 1, 2, 3, 4";
    }

    TlsReport report(Instant since, Instant until, String domain, Direction direction) throws SQLException {
        List<Part> parts = new ArrayList<>();
        for (Direction d : Direction.values()) {
            if (direction == null || direction == d) parts.add(part(d, since, domain));
        }
        return new TlsReport(since, until, domain, parts);
    }

    /** Counts by domain, class, protocol and cipher, from one grouped query. */
    record Group(String domain, String cls, String protocol, String cipher, long count) { }

    private Part part(Direction direction, Instant since, String domain) throws SQLException {
        boolean out = direction == Direction.OUT;
        String messagesSql = messagesSql(out, out ? "d.domain" : "m.sender_domain", domain != null);
        String carried = domain == null ? "" : out
                ? " AND EXISTS (SELECT 1 FROM delivery d WHERE d.gateway = s.gateway AND d.tls_session_id = s.id "
                        + "AND d.domain = ?)"
                : " AND EXISTS (SELECT 1 FROM message m WHERE m.gateway = s.gateway AND m.session_id = s.id "
                        + "AND m.sender_domain = ?)";
        String sessionsSql = "SELECT '', " + CLASS + ", s.protocol, s.cipher, COUNT(*) FROM tls_session s "
                + "WHERE s.direction = ? AND s.at >= ?" + carried + " GROUP BY 2, 3, 4";

        List<Group> messages = groups(messagesSql, since.toEpochMilli(), domain);
        List<Group> sessions = groups(sessionsSql, direction.name(), since.toEpochMilli(), domain);

        Map<String, Shares> byDomain = new TreeMap<>();
        Map<String, long[]> protocols = new LinkedHashMap<>();
        Map<String, long[]> ciphers = new LinkedHashMap<>();
        Shares messageTotal = Shares.NONE;
        for (Group g : messages) {
            Shares one = shares(g);
            messageTotal = messageTotal.plus(one);
            byDomain.merge(g.domain, one, Shares::plus);
            use(protocols, g.protocol, g.count, 0);
            use(ciphers, g.cipher, g.count, 0);
        }
        Shares sessionTotal = Shares.NONE;
        for (Group g : sessions) {
            sessionTotal = sessionTotal.plus(shares(g));
            use(protocols, g.protocol, g.count, 1);
            use(ciphers, g.cipher, g.count, 1);
        }
        List<DomainShares> domains = new ArrayList<>();
        byDomain.forEach((k, v) -> domains.add(new DomainShares(k, v)));
        domains.sort(Comparator.comparingLong((DomainShares x) -> -x.messages().total())
                .thenComparing(DomainShares::domain));
        List<DomainShares> topClear = domains.stream().filter(x -> x.messages().clear() > 0)
                .sorted(Comparator.comparingLong((DomainShares x) -> -x.messages().clear())
                        .thenComparing(DomainShares::domain))
                .limit(TOP_CLEAR).toList();
        return new Part(direction, messageTotal, sessionTotal, domains, usage(protocols), usage(ciphers),
                out ? enforced(since, domain) : List.of(), topClear);
    }

    static Shares shares(Group g) {
        long n = g.count;
        return switch (g.cls) {
            case "clear" -> new Shares(n, n, 0, 0, 0);
            case "unverified" -> new Shares(n, 0, n, 0, 0);
            case "verified" -> new Shares(n, 0, 0, n, 0);
            default -> new Shares(n, 0, 0, 0, n);
        };
    }

    /** Adds to a TLS version's or cipher's messages (slot 0) or sessions (slot 1); clear text has neither. */
    private static void use(Map<String, long[]> map, String name, long count, int slot) {
        if (name != null) map.computeIfAbsent(name, k -> new long[2])[slot] += count;
    }

    private static List<Usage> usage(Map<String, long[]> map) {
        List<Usage> out = new ArrayList<>();
        map.forEach((k, v) -> out.add(new Usage(k, v[0], v[1])));
        out.sort(Comparator.comparingLong((Usage u) -> -u.messages()).thenComparingLong(u -> -u.sessions())
                .thenComparing(Usage::name));
        return out;
    }

    /**
     * Delivery attempts (any outcome) whose session was held to a policy that requires TLS or tests one, and attempts
     * that failed with a TLS status (4.7.x, 5.7.x), whether or not a session was recorded: a refused TLS requirement
     * often ends before a session exists.
     */
    private List<Enforced> enforced(Instant since, String domain) throws SQLException {
        String sql = "SELECT d.domain, d.outcome, CASE WHEN " + TLS_STATUS + " OR d.no_tls_reason IS NOT NULL "
                + "THEN 1 ELSE 0 END, CASE WHEN s.policy_mode = 'testing' AND s.policy_would_fail <> '[]' THEN 1 "
                + "ELSE 0 END, COUNT(*) FROM delivery d LEFT JOIN tls_session s ON s.gateway = d.gateway "
                + "AND s.id = d.tls_session_id WHERE d.at >= ?" + (domain == null ? "" : " AND d.domain = ?")
                + " AND (" + ENFORCING + " OR (d.outcome <> 'DELIVERED' AND " + TLS_STATUS + ")) GROUP BY 1, 2, 3, 4";
        Map<String, long[]> byDomain = new TreeMap<>();
        try (PreparedStatement p = prepare(sql, since.toEpochMilli(), domain); ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                long[] v = byDomain.computeIfAbsent(rs.getString(1), k -> new long[4]);
                long n = rs.getLong(5);
                boolean delivered = rs.getString(2).equals("DELIVERED");
                v[0] += n;
                if (delivered) v[1] += n;
                if (!delivered && rs.getInt(3) == 1) v[2] += n;
                if (rs.getInt(4) == 1) v[3] += n;
            }
        }
        List<Enforced> out = new ArrayList<>();
        byDomain.forEach((k, v) -> out.add(new Enforced(k, v[0], v[1], v[2], v[3])));
        out.sort(Comparator.comparingLong((Enforced e) -> -e.attempts()).thenComparing(Enforced::domain));
        return out;
    }

    List<Group> groups(String sql, Object... args) throws SQLException {
        List<Group> out = new ArrayList<>();
        try (PreparedStatement p = prepare(sql, args); ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                out.add(new Group(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5)));
            }
        }
        return out;
    }

    /** Binds the arguments in order, leaving out a null last one (the optional domain). */
    PreparedStatement prepare(String sql, Object... args) throws SQLException {
        PreparedStatement p = db.prepareStatement(sql);
        int i = 1;
        for (Object a : args) {
            if (a != null) p.setObject(i++, a);
        }
        return p;
    }

    static List<SeenCertificate> certificatesSeen(Connection db, Instant expiringBefore) throws SQLException {
        String sql = "SELECT c.sha256, c.subject, c.sans, c.issuer, c.not_before, c.not_after, c.key_type, "
                + "c.key_bits, s.direction, s.endpoint, s.peer_ip, s.gateway, COUNT(*), MIN(s.at), MAX(s.at) "
                + "FROM session_certificate c JOIN tls_session s ON s.gateway = c.gateway AND s.id = c.session_id "
                + "WHERE c.position = 0" + (expiringBefore == null ? "" : " AND c.not_after < ?")
                + " GROUP BY c.sha256, c.subject, c.sans, c.issuer, c.not_before, c.not_after, c.key_type, "
                + "c.key_bits, s.direction, s.endpoint, s.peer_ip, s.gateway";
        Map<String, SeenCertificate> bySha = new LinkedHashMap<>();
        try (PreparedStatement p = new TlsReports(db).prepare(sql,
                expiringBefore == null ? null : expiringBefore.toEpochMilli()); ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                SeenCertificate.Peer peer = new SeenCertificate.Peer(Direction.valueOf(rs.getString(9)),
                        rs.getString(10), rs.getString(11), rs.getString(12), rs.getLong(13),
                        JdbcAuditStore.instant(rs, 14), JdbcAuditStore.instant(rs, 15));
                SeenCertificate one = new SeenCertificate(rs.getString(1), rs.getString(2),
                        JdbcAuditStore.list(rs.getString(3)), rs.getString(4), JdbcAuditStore.instant(rs, 5),
                        JdbcAuditStore.instant(rs, 6), rs.getString(7), rs.getInt(8), peer.firstSeen(),
                        peer.lastSeen(), peer.sessions(), List.of(peer));
                bySha.merge(one.sha256(), one, TlsReports::merge);
            }
        }
        List<SeenCertificate> out = new ArrayList<>();
        for (SeenCertificate c : bySha.values()) {
            List<SeenCertificate.Peer> peers = new ArrayList<>(c.peers());
            peers.sort(Comparator.comparing(SeenCertificate.Peer::lastSeen).reversed());
            out.add(new SeenCertificate(c.sha256(), c.subject(), c.sans(), c.issuer(), c.notBefore(), c.notAfter(),
                    c.keyType(), c.keyBits(), c.firstSeen(), c.lastSeen(), c.sessions(), peers));
        }
        out.sort(Comparator.comparing(SeenCertificate::notAfter, Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparing(SeenCertificate::subject, Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparing(SeenCertificate::sha256));
        return out;
    }

    private static SeenCertificate merge(SeenCertificate a, SeenCertificate b) {
        List<SeenCertificate.Peer> peers = new ArrayList<>(a.peers());
        peers.addAll(b.peers());
        return new SeenCertificate(a.sha256(), a.subject(), a.sans(), a.issuer(), a.notBefore(), a.notAfter(),
                a.keyType(), a.keyBits(), min(a.firstSeen(), b.firstSeen()), max(a.lastSeen(), b.lastSeen()),
                a.sessions() + b.sessions(), peers);
    }

    private static Instant min(Instant a, Instant b) { return a.isBefore(b) ? a : b; }

    private static Instant max(Instant a, Instant b) { return a.isAfter(b) ? a : b; }
}
