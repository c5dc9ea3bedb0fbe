package dev.postern.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.audit.TlsSessionRecord.Verification;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/**
 * The audit store over JDBC: SQLite (embedded, the default) or PostgreSQL (shared by several gateways). The schema is
 * made and upgraded by Flyway from {@code db/audit/}. One connection, used by one thread at a time (the methods are
 * synchronized): the writer's, or a reader's (the CLI opens a store of its own).
 *
 * <p>Writes are idempotent: every row has a natural key and is inserted with {@code ON CONFLICT DO NOTHING}, so a
 * batch replayed from the spill file after a crash adds nothing twice.
 */
public final class JdbcAuditStore implements AuditStore, AuditReader {
    private static final ObjectMapper JSON = RecordCodec.JSON;
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() { };
    /** How long SQLite waits for the other process's lock (the CLI reads while the gateway writes). */
    static final int SQLITE_BUSY_TIMEOUT_MS = 10_000;
    private static final int KNOWN_CERTIFICATES_MAX = 10_000;

    private final String url;
    private final Properties props;
    private final String gateway;
    private final boolean sqlite;
    /** The connection; null after it broke (PostgreSQL restarted, network): the next call connects again. */
    private Connection db;
    /** Leaf certificates whose PEM is stored already: their insert is skipped. */
    private final Set<String> knownCertificates = new HashSet<>();

    private JdbcAuditStore(String url, Properties props, Connection db, String gateway, boolean sqlite) {
        this.url = url;
        this.props = props;
        this.db = db;
        this.gateway = gateway;
        this.sqlite = sqlite;
    }

    /**
     * Connects, creates or upgrades the schema, and returns the store whose rows carry {@code gatewayName}.
     *
     * @param user     null for the URL's or the driver's default
     * @param password null when none
     * @throws AuditStoreException one line that says which store and why (unreachable, refused, bad schema)
     */
    public static JdbcAuditStore open(String jdbcUrl, String user, String password, String gatewayName)
            throws AuditStoreException {
        boolean sqlite;
        if (jdbcUrl.startsWith("jdbc:sqlite:")) {
            sqlite = true;
        } else if (jdbcUrl.startsWith("jdbc:postgresql:")) {
            sqlite = false;
        } else {
            throw new AuditStoreException("audit store " + shown(jdbcUrl)
                    + ": unsupported URL, expected jdbc:sqlite:FILE or jdbc:postgresql://HOST/DATABASE", null);
        }
        Properties props = new Properties();
        if (user != null) props.setProperty("user", user);
        if (password != null) props.setProperty("password", password);
        if (sqlite) {
            // WAL: readers (the CLI) do not block the writer; NORMAL: a commit is durable at the next checkpoint,
            // enough for a record (the spill file covers the gateway's own crash).
            props.setProperty("journal_mode", "WAL");
            props.setProperty("synchronous", "NORMAL");
            props.setProperty("busy_timeout", Integer.toString(SQLITE_BUSY_TIMEOUT_MS));
        } else {
            props.setProperty("connectTimeout", "10");
            props.setProperty("reWriteBatchedInserts", "true"); // a batch goes as multi-row INSERTs
            props.setProperty("ApplicationName", "postern audit");
        }
        Connection c = null;
        try {
            c = connect(jdbcUrl, props);
            migrate(jdbcUrl, props, sqlite);
            return new JdbcAuditStore(jdbcUrl, props, c, gatewayName, sqlite);
        } catch (SQLException | FlywayException e) {
            closeQuietly(c);
            throw new AuditStoreException("audit store " + shown(jdbcUrl) + ": " + (c == null ? "cannot connect: "
                    : "cannot migrate the schema: ") + oneLine(e), e);
        }
    }

    private static Connection connect(String url, Properties props) throws SQLException {
        Connection c = DriverManager.getConnection(url, props);
        c.setAutoCommit(false);
        return c;
    }

    /** Creates or upgrades the schema; Flyway takes connections of its own (and a lock, so gateways may race). */
    private static void migrate(String url, Properties props, boolean sqlite) {
        List<String> locations = new ArrayList<>(List.of("classpath:db/audit/common"));
        String vendor = "db/audit/" + (sqlite ? "sqlite" : "postgresql");
        if (JdbcAuditStore.class.getClassLoader().getResource(vendor) != null) locations.add("classpath:" + vendor);
        Flyway.configure(JdbcAuditStore.class.getClassLoader())
                .dataSource(new DriverDataSource(url, props))
                .locations(locations.toArray(String[]::new))
                .table("audit_schema_history")
                .load()
                .migrate();
    }

    /** The connection, made again when the last one broke. */
    private Connection db() throws SQLException {
        if (db == null) db = connect(url, props);
        return db;
    }

    /** After a failure: keeps the connection if it still works, else drops it so the next call reconnects. */
    private void afterFailure() {
        if (db == null) return;
        rollbackQuietly();
        boolean valid;
        try {
            valid = db.isValid(2);
        } catch (SQLException e) {
            valid = false;
        }
        if (!valid) {
            closeQuietly(db);
            db = null;
        }
    }

    /**
     * Whether a failed write is the data's fault, not the store's: SQL state class 22 (data exception) or 23
     * (integrity constraint) from PostgreSQL, SQLite's TOOBIG, CONSTRAINT, MISMATCH and RANGE, or an exception while
     * binding a record's values. Writing the same records again cannot succeed; a connection that broke can.
     */
    static boolean refused(Exception e) {
        if (e instanceof RuntimeException) return true;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (!(t instanceof SQLException s)) continue;
            for (SQLException x = s; x != null; x = x.getNextException()) {
                String state = x.getSQLState();
                if (state != null && (state.startsWith("22") || state.startsWith("23"))) return true;
                if (x instanceof org.sqlite.SQLiteException l) {
                    int primary = l.getResultCode().code & 0xff;
                    if (primary == 18 || primary == 19 || primary == 20 || primary == 25) return true;
                }
            }
        }
        return false;
    }

    /** The URL without its query string, which may hold a password. */
    static String shown(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q);
    }

    /** The first line of the innermost message that says something. */
    static String oneLine(Throwable e) {
        String best = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) best = t.getMessage();
            if (t.getCause() == t) break;
        }
        return best == null ? e.getClass().getSimpleName() : Spill.oneLine(best);
    }

    public String gateway() { return gateway; }

    // ---- writing

    private static final String INSERT_SESSION = "INSERT INTO tls_session (gateway, id, at, direction, endpoint, "
            + "peer_ip, peer_port, ehlo_name, reverse_dns, protocol, cipher, cipher_bits, key_exchange_group, resumed, "
            + "sni, verification, verification_reason, client_certificate, no_tls, no_tls_detail, policy_level, "
            + "policy_source, policy_source_detail, policy_mode, policy_would_fail, policy_domain, policy_type, "
            + "result_type) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_CHAIN = "INSERT INTO session_certificate (gateway, session_id, position, "
            + "subject, sans, issuer, not_before, not_after, key_type, key_bits, sha256, spki_sha256) "
            + "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_PEM = "INSERT INTO certificate (sha256, pem) VALUES (?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_MESSAGE = "INSERT INTO message (gateway, queue_id, at, message_id, sender, "
            + "sender_domain, size, session_id, client_ip, ehlo_name, auth_user, client_certificate, require_tls, "
            + "origin, tls_required_no) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_RECIPIENT = "INSERT INTO message_recipient (gateway, queue_id, position, "
            + "recipient, at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_DELIVERY = "INSERT INTO delivery (gateway, queue_id, recipient, attempt, at, "
            + "domain, mx_host, mx_preference, ip, port, tls_session_id, no_tls_reason, replies, outcome, status, "
            + "reason, dsn_queue_id, hosts_tried) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_ADMIN = "INSERT INTO admin_action (gateway, at, actor, action, target, detail) "
            + "VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING";

    private static final String INSERT_ALERT = "INSERT INTO alert (gateway, at, alert_key, kind, subject, state, summary, "
            + "detail) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_PROBE = "INSERT INTO probe (gateway, at, domain, ok, trigger_by, policy_level, "
            + "policy_source, host, ip, port, tls_session_id, protocol, cipher, verification, problem, hosts_tried, "
            + "millis) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";
    private static final String INSERT_TLSRPT = "INSERT INTO tlsrpt_report (gateway, at, direction, report_id, "
            + "organization, policy_domain, start_at, end_at, successful, failed, peer, outcome, report_json) "
            + "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";

    @Override public synchronized void write(List<AuditRecord> batch) throws AuditStoreException {
        if (batch.isEmpty()) return;
        Set<String> newPems = new HashSet<>();
        try (PreparedStatement session = db().prepareStatement(INSERT_SESSION);
             PreparedStatement chain = db().prepareStatement(INSERT_CHAIN);
             PreparedStatement pem = db().prepareStatement(INSERT_PEM);
             PreparedStatement message = db().prepareStatement(INSERT_MESSAGE);
             PreparedStatement recipient = db().prepareStatement(INSERT_RECIPIENT);
             PreparedStatement delivery = db().prepareStatement(INSERT_DELIVERY);
             PreparedStatement admin = db().prepareStatement(INSERT_ADMIN);
             PreparedStatement alert = db().prepareStatement(INSERT_ALERT);
             PreparedStatement probe = db().prepareStatement(INSERT_PROBE);
             PreparedStatement tlsrpt = db().prepareStatement(INSERT_TLSRPT)) {
            int[] used = new int[10];
            for (AuditRecord r : batch) {
                switch (r) {
                    case TlsSessionRecord s -> {
                        addSession(session, s);
                        used[0]++;
                        for (int i = 0; i < s.peerChain().size(); i++) {
                            CertificateSummary c = s.peerChain().get(i);
                            addChain(chain, s.id(), i, c);
                            used[1]++;
                            if (c.pem() != null && !knownCertificates.contains(c.sha256()) && newPems.add(c.sha256())) {
                                setText(pem, 1, c.sha256());
                                pem.setString(2, c.pem()); // base64 lines, never cut: it is the evidence
                                pem.addBatch();
                                used[2]++;
                            }
                        }
                    }
                    case MessageRecord m -> {
                        addMessage(message, m);
                        used[3]++;
                        for (int i = 0; i < m.recipients().size(); i++) {
                            setText(recipient, 1, gateway);
                            setText(recipient, 2, m.queueId());
                            recipient.setInt(3, i);
                            setText(recipient, 4, m.recipients().get(i));
                            recipient.setLong(5, millis(m.at()));
                            recipient.addBatch();
                            used[4]++;
                        }
                    }
                    case DeliveryRecord d -> {
                        addDelivery(delivery, d);
                        used[5]++;
                    }
                    case AdminRecord a -> {
                        setText(admin, 1, gateway);
                        admin.setLong(2, millis(a.at()));
                        setText(admin, 3, a.actor() == null ? "" : a.actor());
                        setText(admin, 4, a.action().name());
                        setText(admin, 5, a.target() == null ? "" : a.target());
                        setText(admin, 6, a.detail());
                        admin.addBatch();
                        used[6]++;
                    }
                    case AlertRecord a -> {
                        setText(alert, 1, gateway);
                        alert.setLong(2, millis(a.at()));
                        setText(alert, 3, a.key());
                        setText(alert, 4, a.kind().name());
                        setText(alert, 5, a.subject() == null ? "" : a.subject());
                        setText(alert, 6, a.state().name());
                        setText(alert, 7, a.summary() == null ? "" : a.summary());
                        setText(alert, 8, a.detail());
                        alert.addBatch();
                        used[7]++;
                    }
                    case ProbeRecord pr -> {
                        addProbe(probe, pr);
                        used[8]++;
                    }
                    case TlsRptRecord t -> {
                        addTlsRpt(tlsrpt, t);
                        used[9]++;
                    }
                }
            }
            PreparedStatement[] all = {session, chain, pem, message, recipient, delivery, admin, alert, probe, tlsrpt};
            for (int i = 0; i < all.length; i++) {
                if (used[i] > 0) all[i].executeBatch();
            }
            db().commit();
        } catch (SQLException | RuntimeException e) {
            afterFailure();
            throw new AuditStoreException("audit store: cannot write " + batch.size() + " records: " + oneLine(e), e,
                    refused(e));
        }
        if (knownCertificates.size() + newPems.size() > KNOWN_CERTIFICATES_MAX) knownCertificates.clear();
        knownCertificates.addAll(newPems);
    }

    private void addSession(PreparedStatement p, TlsSessionRecord s) throws SQLException {
        setText(p, 1, gateway);
        setText(p, 2, s.id());
        p.setLong(3, millis(s.at()));
        setText(p, 4, s.direction().name());
        setText(p, 5, s.endpoint());
        setText(p, 6, s.peerIp());
        p.setInt(7, s.peerPort());
        setText(p, 8, s.ehloName());
        setText(p, 9, s.reverseDns());
        setText(p, 10, s.protocol());
        setText(p, 11, s.cipher());
        p.setInt(12, s.cipherBits());
        setText(p, 13, s.keyExchangeGroup());
        p.setInt(14, s.resumed() ? 1 : 0);
        setText(p, 15, s.sni());
        setText(p, 16, s.verification().name());
        setText(p, 17, s.verificationReason());
        setText(p, 18, s.clientCertificate());
        setText(p, 19, s.noTls() == null ? null : s.noTls().name());
        setText(p, 20, s.noTlsDetail());
        PolicyApplied policy = s.policy();
        setText(p, 21, policy == null ? null : policy.level());
        setText(p, 22, policy == null ? null : policy.source());
        setText(p, 23, policy == null ? null : policy.sourceDetail());
        setText(p, 24, policy == null ? null : policy.mode());
        p.setString(25, policy == null ? null : jsonText(policy.wouldFail()));
        setText(p, 26, s.policyDomain());
        setText(p, 27, s.policyType());
        setText(p, 28, s.resultType());
        p.addBatch();
    }

    private void addChain(PreparedStatement p, String sessionId, int position, CertificateSummary c)
            throws SQLException {
        setText(p, 1, gateway);
        setText(p, 2, sessionId);
        p.setInt(3, position);
        setText(p, 4, c.subject());
        p.setString(5, jsonText(c.sans()));
        setText(p, 6, c.issuer());
        setMillis(p, 7, c.notBefore());
        setMillis(p, 8, c.notAfter());
        setText(p, 9, c.keyType());
        p.setInt(10, c.keyBits());
        setText(p, 11, c.sha256());
        setText(p, 12, c.spkiSha256());
        p.addBatch();
    }

    private void addMessage(PreparedStatement p, MessageRecord m) throws SQLException {
        setText(p, 1, gateway);
        setText(p, 2, m.queueId());
        p.setLong(3, millis(m.at()));
        setText(p, 4, m.messageId());
        setText(p, 5, m.sender() == null ? "" : m.sender());
        String sender = m.sender() == null ? "" : m.sender();
        setText(p, 6, sender.substring(sender.lastIndexOf('@') + 1));
        p.setLong(7, m.size());
        setText(p, 8, m.sessionId());
        setText(p, 9, m.clientIp());
        setText(p, 10, m.ehloName());
        setText(p, 11, m.authUser());
        setText(p, 12, m.clientCertificate());
        p.setInt(13, m.requireTls() ? 1 : 0);
        setText(p, 14, m.origin());
        p.setInt(15, m.tlsRequiredNo() ? 1 : 0);
        p.addBatch();
    }

    private void addDelivery(PreparedStatement p, DeliveryRecord d) throws SQLException {
        setText(p, 1, gateway);
        setText(p, 2, d.queueId());
        setText(p, 3, d.recipient());
        p.setInt(4, d.attempt());
        p.setLong(5, millis(d.at()));
        setText(p, 6, d.domain());
        setText(p, 7, d.mxHost());
        p.setInt(8, d.mxPreference());
        setText(p, 9, d.ip());
        p.setInt(10, d.port());
        setText(p, 11, d.tlsSessionId());
        setText(p, 12, d.noTlsReason());
        p.setString(13, jsonText(d.replies()));
        setText(p, 14, d.outcome().name());
        setText(p, 15, d.status());
        setText(p, 16, d.reason());
        setText(p, 17, d.dsnQueueId());
        p.setString(18, jsonText(d.hostsTried()));
        p.addBatch();
    }

    private void addProbe(PreparedStatement p, ProbeRecord r) throws SQLException {
        setText(p, 1, gateway);
        p.setLong(2, millis(r.at()));
        setText(p, 3, r.domain());
        p.setInt(4, r.ok() ? 1 : 0);
        setText(p, 5, r.trigger() == null ? "" : r.trigger());
        setText(p, 6, r.policyLevel());
        setText(p, 7, r.policySource());
        setText(p, 8, r.host());
        setText(p, 9, r.ip());
        p.setInt(10, r.port());
        setText(p, 11, r.tlsSessionId());
        setText(p, 12, r.protocol());
        setText(p, 13, r.cipher());
        setText(p, 14, r.verification());
        setText(p, 15, r.problem());
        p.setString(16, jsonText(r.hostsTried()));
        p.setLong(17, r.millis());
        p.addBatch();
    }

    /** A received report's JSON is kept whole up to {@link #MAX_REPORT_JSON} characters (the receiver caps size). */
    static final int MAX_REPORT_JSON = 1 << 20;

    private void addTlsRpt(PreparedStatement p, TlsRptRecord t) throws SQLException {
        setText(p, 1, gateway);
        p.setLong(2, millis(t.at()));
        setText(p, 3, t.direction().name());
        setText(p, 4, t.reportId() == null ? "" : t.reportId());
        setText(p, 5, t.organization() == null ? "" : t.organization()); // in the key since V5
        setText(p, 6, t.policyDomain() == null ? "" : t.policyDomain());
        setMillis(p, 7, t.start());
        setMillis(p, 8, t.end());
        p.setLong(9, t.successful());
        p.setLong(10, t.failed());
        setText(p, 11, t.peer());
        setText(p, 12, t.outcome());
        String json = t.json();
        p.setString(13, json == null || json.length() <= MAX_REPORT_JSON ? json : json.substring(0, MAX_REPORT_JSON));
        p.addBatch();
    }

    // ---- retention

    /** A row to prune: its table's key and its time, so the oldest of all tables go first. */
    private record Old(String table, long at, Object[] key) { }

    private static final Map<String, String> KEYS = new LinkedHashMap<>();
    static {
        KEYS.put("tls_session", "id");
        KEYS.put("message", "queue_id");
        KEYS.put("delivery", "queue_id, recipient, attempt");
        KEYS.put("admin_action", "at, actor, action, target");
        KEYS.put("alert", "at, alert_key, state");
        KEYS.put("probe", "at, domain, trigger_by");
        KEYS.put("tlsrpt_report", "direction, report_id, organization, policy_domain");
    }

    @Override public synchronized int prune(Instant cutoff, int limit) throws AuditStoreException {
        if (limit <= 0) return 0;
        try {
            List<Old> old = new ArrayList<>();
            for (var e : KEYS.entrySet()) {
                String[] cols = e.getValue().split(", ");
                try (PreparedStatement q = db().prepareStatement("SELECT at, " + e.getValue() + " FROM " + e.getKey()
                        + " WHERE gateway = ? AND at < ? ORDER BY at LIMIT ?")) {
                    q.setString(1, gateway);
                    q.setLong(2, millis(cutoff));
                    q.setInt(3, limit);
                    try (ResultSet rs = q.executeQuery()) {
                        while (rs.next()) {
                            Object[] key = new Object[cols.length];
                            for (int i = 0; i < cols.length; i++) key[i] = rs.getObject(i + 2);
                            old.add(new Old(e.getKey(), rs.getLong(1), key));
                        }
                    }
                }
            }
            old.sort((a, b) -> Long.compare(a.at, b.at));
            List<Old> gone = old.subList(0, Math.min(limit, old.size()));
            delete(gone);
            // Certificates only the pruned sessions named (every gateway's sessions count: the table is shared).
            try (PreparedStatement p = db().prepareStatement("DELETE FROM certificate WHERE NOT EXISTS (SELECT 1 FROM "
                    + "session_certificate c WHERE c.sha256 = certificate.sha256)")) {
                p.executeUpdate();
            }
            db().commit();
            knownCertificates.clear();
            return gone.size();
        } catch (SQLException e) {
            afterFailure();
            throw new AuditStoreException("audit store: cannot prune: " + oneLine(e), e);
        }
    }

    /** Deletes the rows (and their chains and recipients) in one JDBC batch per statement. */
    private void delete(List<Old> rows) throws SQLException {
        Map<String, PreparedStatement> statements = new LinkedHashMap<>();
        try {
            for (Old o : rows) {
                for (String sql : deletes(o.table)) {
                    PreparedStatement p = statements.get(sql);
                    if (p == null) statements.put(sql, p = db().prepareStatement(sql));
                    p.setString(1, gateway);
                    for (int i = 0; i < o.key.length; i++) p.setObject(i + 2, o.key[i]);
                    p.addBatch();
                }
            }
            for (PreparedStatement p : statements.values()) p.executeBatch();
        } finally {
            for (PreparedStatement p : statements.values()) p.close();
        }
    }

    /** The statements that delete one row of {@code table} by its key, children first. */
    private static List<String> deletes(String table) {
        StringBuilder where = new StringBuilder("gateway = ?");
        for (String c : KEYS.get(table).split(", ")) where.append(" AND ").append(c).append(" = ?");
        String own = "DELETE FROM " + table + " WHERE " + where;
        return switch (table) {
            case "tls_session" -> List.of("DELETE FROM session_certificate WHERE gateway = ? AND session_id = ?", own);
            case "message" -> List.of("DELETE FROM message_recipient WHERE " + where, own);
            default -> List.of(own);
        };
    }

    // ---- TLS reports (RFC 8460) sent and received; see TlsRptQueries
    /** Reports newest first (by window), at most {@code limit}, JSON only when asked; each filter may be null. */
    public synchronized List<TlsRptRecord> tlsRptReports(TlsRptRecord.Direction direction, String domain,
                                                         Instant since, int limit, boolean withJson)
            throws AuditStoreException {
        return tlsRpt(q -> q.list(direction, domain, since, limit, withJson));
    }

    /** The reports with this report-id, narrowed by the filters that are not null, with their JSON. */
    public synchronized List<TlsRptRecord> tlsRptReport(String reportId, String organization, String domain,
                                                        TlsRptRecord.Direction direction) throws AuditStoreException {
        return tlsRpt(q -> q.find(reportId, organization, domain, direction));
    }

    /** Whether this report (organization, report-id, policy domain) is stored already. */
    public synchronized boolean tlsRptKnown(TlsRptRecord.Direction direction, String organization, String reportId,
                                            String domain) throws AuditStoreException {
        return tlsRpt(q -> q.known(direction, organization, reportId, domain));
    }

    private interface TlsRptQuestion<T> {
        T ask(TlsRptQueries q) throws SQLException;
    }

    private <T> T tlsRpt(TlsRptQuestion<T> question) throws AuditStoreException {
        try {
            return question.ask(new TlsRptQueries(db()));
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    // ---- health probes (issue 16): see ProbeQueries

    /** The newest probe of each domain, by domain. */
    public synchronized List<ProbeRecord> latestProbes() throws AuditStoreException {
        try {
            return new ProbeQueries(db()).latest();
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** The probes of {@code domain} (lookup form) since {@code since}, newest first. */
    public synchronized List<ProbeRecord> probeHistory(String domain, Instant since) throws AuditStoreException {
        try {
            return new ProbeQueries(db()).history(domain, since);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** Alert state changes (FIRING, RECOVERED) since {@code since}, newest first, at most 1000 (alerts). */
    public synchronized List<AlertRecord> alerts(Instant since) throws AuditStoreException {
        try {
            return AlertHistory.since(db(), since);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    // dashboard (issue 16): see DashboardQueries
    /** TLS coverage per {@code bucket} since {@code since} (aligned down to a bucket), in and out; see TlsTimeline. */
    public TlsTimeline timeline(Instant since, java.time.Duration bucket) throws AuditStoreException {
        return timeline(since, Instant.now(), bucket);
    }

    /** As {@link #timeline(Instant, java.time.Duration)}, with buckets up to {@code until} only. */
    public synchronized TlsTimeline timeline(Instant since, Instant until, java.time.Duration bucket)
            throws AuditStoreException {
        try {
            return new DashboardQueries(db()).timeline(since, until, bucket);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** Policy failures and downgrades since {@code since}, newest first, at most {@code limit}. */
    public synchronized List<PolicyEvent> policyEvents(Instant since, int limit) throws AuditStoreException {
        try {
            return new DashboardQueries(db()).policyEvents(since, limit);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** The certificate {@code domain}'s next hop presented on the latest delivery attempt that recorded one. */
    public synchronized java.util.Optional<PartnerCertificate> partnerCertificate(String domain) throws AuditStoreException {
        try {
            return new DashboardQueries(db()).partnerCertificate(domain);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    // tlsrpt-send (issue 16): what the SMTP TLS reports this gateway sends count; see TlsRptQuery
    /** The recipient domains this gateway attempted delivery to in {@code [start, end)}, sorted. */
    public synchronized List<String> tlsRptDomains(Instant start, Instant end) throws AuditStoreException {
        try {
            return new TlsRptQuery(db()).domains(gateway, start, end);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** This gateway's outbound sessions in {@code [start, end)} to those domains, grouped for a report. */
    public synchronized List<TlsRptGroup> tlsRptGroups(Instant start, Instant end) throws AuditStoreException {
        try {
            return new TlsRptQuery(db()).groups(gateway, start, end);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    // ---- reading

    @Override public synchronized List<MessageTrace> trace(String queueIdOrMessageId) throws AuditStoreException {
        String q = queueIdOrMessageId.strip();
        try {
            List<String[]> keys = messageKeys("SELECT gateway, queue_id FROM message WHERE queue_id = ? ORDER BY at", q);
            if (keys.isEmpty()) {
                String id = q.startsWith("<") && q.endsWith(">") ? q.substring(1, q.length() - 1) : q;
                keys = messageKeys("SELECT gateway, queue_id FROM message WHERE message_id = ? ORDER BY at", id);
            }
            return traces(keys);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    @Override public synchronized List<MessageTrace> traceRecipient(String recipient, Instant since)
            throws AuditStoreException {
        try {
            List<String[]> keys = messageKeys("SELECT DISTINCT gateway, queue_id, at FROM message_recipient "
                    + "WHERE recipient = ? AND at >= ? ORDER BY at", recipient, millis(since));
            return traces(keys);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    private List<String[]> messageKeys(String sql, Object... args) throws SQLException {
        List<String[]> keys = new ArrayList<>();
        try (PreparedStatement p = db().prepareStatement(sql)) {
            // looked up as it was stored: a NUL typed by the user finds its neutralised value, never a driver error
            for (int i = 0; i < args.length; i++) p.setObject(i + 1, args[i] instanceof String v ? text(v) : args[i]);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) keys.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        return keys;
    }

    private List<MessageTrace> traces(List<String[]> keys) throws SQLException {
        List<MessageTrace> out = new ArrayList<>();
        for (String[] k : keys) out.add(trace(k[0], k[1]));
        return out;
    }

    private MessageTrace trace(String gw, String queueId) throws SQLException {
        MessageRecord message;
        try (PreparedStatement p = db().prepareStatement("SELECT at, message_id, sender, size, session_id, client_ip, "
                + "ehlo_name, auth_user, client_certificate, require_tls, origin, tls_required_no FROM message "
                + "WHERE gateway = ? AND queue_id = ?")) {
            p.setString(1, gw);
            p.setString(2, queueId);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                message = new MessageRecord(instant(rs, 1), queueId, rs.getString(2), rs.getString(3),
                        recipients(gw, queueId), rs.getLong(4), rs.getString(5), rs.getString(6), rs.getString(7),
                        rs.getString(8), rs.getString(9), rs.getInt(10) != 0, rs.getInt(12) != 0, rs.getString(11));
            }
        }
        TlsSessionRecord inbound = message.sessionId() == null ? null : session(gw, message.sessionId());
        List<DeliveryRecord> deliveries = new ArrayList<>();
        try (PreparedStatement p = db().prepareStatement("SELECT at, recipient, attempt, mx_host, mx_preference, ip, "
                + "port, tls_session_id, no_tls_reason, replies, outcome, status, reason, dsn_queue_id, hosts_tried "
                + "FROM delivery WHERE gateway = ? AND queue_id = ? ORDER BY at, attempt, recipient")) {
            p.setString(1, gw);
            p.setString(2, queueId);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    deliveries.add(new DeliveryRecord(instant(rs, 1), queueId, rs.getString(2), rs.getInt(3),
                            rs.getString(4), rs.getInt(5), rs.getString(6), rs.getInt(7), rs.getString(8),
                            rs.getString(9), list(rs.getString(10)), DeliveryRecord.Outcome.valueOf(rs.getString(11)),
                            rs.getString(12), rs.getString(13), rs.getString(14), list(rs.getString(15))));
                }
            }
        }
        Set<String> ids = new LinkedHashSet<>();
        for (DeliveryRecord d : deliveries) if (d.tlsSessionId() != null) ids.add(d.tlsSessionId());
        Map<String, TlsSessionRecord> sessions = new HashMap<>();
        for (String id : ids) {
            TlsSessionRecord s = session(gw, id);
            if (s != null) sessions.put(id, s);
        }
        return new MessageTrace(message, inbound, deliveries, sessions, gw);
    }

    private List<String> recipients(String gw, String queueId) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement p = db().prepareStatement("SELECT recipient FROM message_recipient "
                + "WHERE gateway = ? AND queue_id = ? ORDER BY position")) {
            p.setString(1, gw);
            p.setString(2, queueId);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** One session with its peer chain, null when no such record was kept. */
    private TlsSessionRecord session(String gw, String id) throws SQLException {
        try (PreparedStatement p = db().prepareStatement("SELECT at, direction, endpoint, peer_ip, peer_port, ehlo_name, "
                + "reverse_dns, protocol, cipher, cipher_bits, key_exchange_group, resumed, sni, verification, "
                + "verification_reason, client_certificate, no_tls, no_tls_detail, policy_level, policy_source, "
                + "policy_source_detail, policy_mode, policy_would_fail, policy_domain, policy_type, result_type "
                + "FROM tls_session WHERE gateway = ? AND id = ?")) {
            p.setString(1, gw);
            p.setString(2, id);
            try (ResultSet rs = p.executeQuery()) {
                if (!rs.next()) return null;
                String wouldFail = rs.getString(23);
                PolicyApplied policy = wouldFail == null ? null : new PolicyApplied(rs.getString(19),
                        rs.getString(20), rs.getString(21), rs.getString(22), list(wouldFail));
                String noTls = rs.getString(17);
                return new TlsSessionRecord(id, instant(rs, 1), Direction.valueOf(rs.getString(2)), rs.getString(3),
                        rs.getString(4), rs.getInt(5), rs.getString(6), rs.getString(7), rs.getString(8),
                        rs.getString(9), rs.getInt(10), rs.getString(11), rs.getInt(12) != 0, rs.getString(13),
                        chain(gw, id), Verification.valueOf(rs.getString(14)), rs.getString(15), rs.getString(16),
                        noTls == null ? null : NoTls.valueOf(noTls), rs.getString(18), policy, rs.getString(24),
                        rs.getString(25), rs.getString(26));
            }
        }
    }

    private List<CertificateSummary> chain(String gw, String sessionId) throws SQLException {
        List<CertificateSummary> out = new ArrayList<>();
        try (PreparedStatement p = db().prepareStatement("SELECT c.subject, c.sans, c.issuer, c.not_before, "
                + "c.not_after, c.key_type, c.key_bits, c.sha256, c.spki_sha256, CASE WHEN c.position = 0 THEN "
                + "k.pem END FROM session_certificate c LEFT JOIN certificate k ON k.sha256 = c.sha256 "
                + "WHERE c.gateway = ? AND c.session_id = ? ORDER BY c.position")) {
            p.setString(1, gw);
            p.setString(2, sessionId);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    out.add(new CertificateSummary(rs.getString(1), list(rs.getString(2)), rs.getString(3),
                            instant(rs, 4), instant(rs, 5), rs.getString(6), rs.getInt(7), rs.getString(8),
                            rs.getString(9), rs.getString(10)));
                }
            }
        }
        return out;
    }

    // ---- reports

    /** The TLS report over every gateway's records in this store; see {@link TlsReports}. */
    public synchronized TlsReport report(Instant since, String domainOrNull, Direction directionOrNull)
            throws AuditStoreException {
        try {
            return new TlsReports(db()).report(since, Instant.now(), domainOrNull, directionOrNull);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** Distinct peer leaf certificates, soonest to expire first; only those expiring before the time when given. */
    public synchronized List<SeenCertificate> certificatesSeen(Instant expiringBefore) throws AuditStoreException {
        try {
            return TlsReports.certificatesSeen(db(), expiringBefore);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /**
     * Administrators' actions since {@code since}, oldest first, of every gateway in the store (who relaxed which
     * policy, held or deleted which message, and why), each with the gateway that recorded it.
     */
    public synchronized List<GatewayAction> adminActions(Instant since) throws AuditStoreException {
        List<GatewayAction> out = new ArrayList<>();
        try (PreparedStatement p = db().prepareStatement("SELECT gateway, at, actor, action, target, detail "
                + "FROM admin_action WHERE at >= ? ORDER BY at, gateway")) {
            p.setLong(1, millis(since));
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    String target = rs.getString(5);
                    out.add(new GatewayAction(rs.getString(1), new AdminRecord(Instant.ofEpochMilli(rs.getLong(2)),
                            rs.getString(3), AdminRecord.Action.valueOf(rs.getString(4)),
                            target.isEmpty() ? null : target, rs.getString(6))));
                }
            }
            return out;
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** An administrator's action and the gateway that recorded it. */
    public record GatewayAction(String gateway, AdminRecord action) { }

    /**
     * What the store knows of deliveries to a recipient domain (lookup form), over every gateway: the latest delivery
     * record (null when none) and the next-hop hosts its deliveries went to, most recent first (at most 20).
     */
    public synchronized DomainDeliveries deliveries(String domain) throws AuditStoreException {
        try {
            GatewayDelivery last = null;
            try (PreparedStatement p = db().prepareStatement("SELECT gateway, queue_id, at, recipient, attempt, "
                    + "mx_host, mx_preference, ip, port, tls_session_id, no_tls_reason, replies, outcome, status, "
                    + "reason, dsn_queue_id, hosts_tried FROM delivery WHERE domain = ? ORDER BY at DESC, attempt DESC "
                    + "LIMIT 1")) {
                p.setString(1, text(domain));
                try (ResultSet rs = p.executeQuery()) {
                    if (rs.next()) {
                        last = new GatewayDelivery(rs.getString(1), new DeliveryRecord(instant(rs, 3),
                                rs.getString(2), rs.getString(4), rs.getInt(5), rs.getString(6), rs.getInt(7),
                                rs.getString(8), rs.getInt(9), rs.getString(10), rs.getString(11),
                                list(rs.getString(12)), DeliveryRecord.Outcome.valueOf(rs.getString(13)),
                                rs.getString(14), rs.getString(15), rs.getString(16), list(rs.getString(17))));
                    }
                }
            }
            List<String> hosts = new ArrayList<>();
            try (PreparedStatement p = db().prepareStatement("SELECT mx_host, MAX(at) AS latest FROM delivery "
                    + "WHERE domain = ? AND mx_host IS NOT NULL GROUP BY mx_host ORDER BY latest DESC LIMIT 20")) {
                p.setString(1, text(domain));
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) hosts.add(rs.getString(1));
                }
            }
            return new DomainDeliveries(last, hosts);
        } catch (SQLException e) {
            throw readFailed(e);
        } finally {
            endRead();
        }
    }

    /** A delivery record and the gateway that made it. */
    public record GatewayDelivery(String gateway, DeliveryRecord delivery) { }

    /** See {@link #deliveries}. */
    public record DomainDeliveries(GatewayDelivery last, List<String> hosts) {
        public DomainDeliveries {
            hosts = List.copyOf(hosts);
        }
    }

    private AuditStoreException readFailed(SQLException e) {
        afterFailure();
        return new AuditStoreException("audit store: cannot read: " + oneLine(e), e);
    }

    /** Ends the read transaction, so a long-lived reader neither holds SQLite's WAL nor sees a stale snapshot. */
    private void endRead() {
        if (db != null) rollbackQuietly();
    }

    @Override public synchronized void close() {
        if (db == null) return;
        rollbackQuietly();
        closeQuietly(db);
        db = null;
    }

    // ---- values

    static long millis(Instant t) {
        return t.toEpochMilli();
    }

    private static void setMillis(PreparedStatement p, int i, Instant t) throws SQLException {
        if (t == null) p.setNull(i, Types.BIGINT);
        else p.setLong(i, t.toEpochMilli());
    }

    static Instant instant(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(v);
    }

    /**
     * Longest text kept per field, in chars. A reply, a reason or a header value is the peer's to choose: past this it
     * is cut (ending in "...") so that one hostile value cannot grow the store by megabytes; 8 KiB holds any real
     * SMTP reply (RFC 5321's line limit is 512) and RFC 5322's 998-byte lines many times over.
     */
    static final int MAX_TEXT = 8192;
    /** Most elements kept per list field (reply lines, hosts tried, would-fail checks, SANs). */
    static final int MAX_LIST = 100;

    /**
     * A value as the store keeps it: NUL (which PostgreSQL refuses in TEXT, so one such value would make its whole
     * batch unwritable and the writer replay it for ever) and unpaired surrogates become U+FFFD; past
     * {@link #MAX_TEXT} chars it is cut. The same on every backend, so SQLite and PostgreSQL keep equal values.
     */
    static String text(String s) {
        if (s == null) return null;
        boolean clean = s.length() <= MAX_TEXT;
        for (int i = 0; clean && i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0 || Character.isSurrogate(c)) clean = false;
        }
        if (clean) return s;
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_TEXT));
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (b.length() + n > MAX_TEXT - 3) {
                b.append("...");
                break;
            }
            b.appendCodePoint(cp == 0 || (n == 1 && Character.isSurrogate((char) cp)) ? 0xFFFD : cp);
            i += n;
        }
        return b.toString();
    }

    private static void setText(PreparedStatement p, int i, String s) throws SQLException {
        p.setString(i, text(s));
    }

    /** A list field as JSON, each value {@link #text} and at most {@link #MAX_LIST} of them. */
    static String jsonText(List<String> values) {
        List<String> kept = new ArrayList<>(Math.min(values.size(), MAX_LIST));
        for (String v : values.size() > MAX_LIST ? values.subList(0, MAX_LIST) : values) kept.add(text(v));
        return json(kept);
    }

    static String json(List<String> values) {
        try {
            return JSON.writeValueAsString(values);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // a list of strings always serialises
        }
    }

    static List<String> list(String json) {
        if (json == null) return List.of();
        try {
            return JSON.readValue(json, STRINGS);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("audit store: not a JSON list of strings: " + json, e);
        }
    }

    private void rollbackQuietly() {
        try {
            db.rollback();
        } catch (SQLException e) {
            // the connection is gone; the next use reports it
        }
    }

    private static void closeQuietly(Connection c) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException e) {
            // nothing more to do
        }
    }

    boolean isSqlite() { return sqlite; }

    /** Connections for Flyway, made with the same properties (SQLite's busy timeout, the password). */
    private record DriverDataSource(String url, Properties props) implements javax.sql.DataSource {
        @Override public Connection getConnection() throws SQLException {
            return DriverManager.getConnection(url, props);
        }

        @Override public Connection getConnection(String user, String password) throws SQLException {
            Properties p = new Properties();
            p.putAll(props);
            p.setProperty("user", user);
            p.setProperty("password", password);
            return DriverManager.getConnection(url, p);
        }

        @Override public java.io.PrintWriter getLogWriter() { return null; }

        @Override public void setLogWriter(java.io.PrintWriter out) { }

        @Override public void setLoginTimeout(int seconds) { }

        @Override public int getLoginTimeout() { return 0; }

        @Override public java.util.logging.Logger getParentLogger() {
            return java.util.logging.Logger.getLogger("dev.postern.audit");
        }

        @Override public <T> T unwrap(Class<T> type) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override public boolean isWrapperFor(Class<?> type) { return false; }
    }
}
