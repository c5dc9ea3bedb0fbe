package dev.postern.audit;

import static dev.postern.testkit.AuditSamples.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.audit.TlsSessionRecord.Verification;
import dev.postern.testkit.AuditSamples;
import dev.postern.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The store against SQLite and a real PostgreSQL: round trips, idempotent replay, traces, retention, gateways. */
class JdbcAuditStoreTest {
    @TempDir Path dir;

    private static final String[] TABLES = {"tls_session", "session_certificate", "certificate", "message",
        "message_recipient", "delivery", "admin_action"};

    // ---- one inbound message, relayed, with every kind of record and every field

    private static final TlsSessionRecord IN = new TlsSessionRecord("in-1", T0, Direction.IN, "mx 0.0.0.0:25",
            "198.51.100.7", 41234, "mx.partner.example", "mail.partner.example", "TLSv1.3", "TLS_AES_128_GCM_SHA256",
            128, "x25519", true, "mx.gw.example", List.of(AuditSamples.leaf("mx.partner.example",
            Instant.parse("2026-09-01T00:00:00Z")), AuditSamples.intermediate()), Verification.VERIFIED,
            "client certificate verified", "verified", null, null,
            new PolicyApplied("encrypt", "listener", "listener mx requires TLS", "enforce", List.of()));
    private static final TlsSessionRecord OUT = new TlsSessionRecord("out-1", T0.plusSeconds(2), Direction.OUT,
            "mx1.bank.example:25", "203.0.113.5", 25, "mx1.bank.example ESMTP", null, "TLSv1.3",
            "TLS_AES_256_GCM_SHA384", 256, null, false, "mx1.bank.example",
            List.of(AuditSamples.leaf("mx1.bank.example", Instant.parse("2026-07-01T00:00:00Z"))),
            Verification.FAILED, "name mismatch", "sent", null, null,
            new PolicyApplied("verify", "override", "override until 2026-06-01 (\"migration\")", "testing",
                    List.of("name mx1.bank.example not in certificate", "key too short")));
    private static final TlsSessionRecord CLEAR = new TlsSessionRecord("out-2", T0.plusSeconds(3), Direction.OUT,
            "mx2.bank.example:25", "203.0.113.6", 25, null, null, null, null, -1, null, false, null, null, null, null,
            null, NoTls.HANDSHAKE_FAILED, "Received fatal alert: handshake_failure", null);
    private static final MessageRecord MSG = new MessageRecord(T0.plusSeconds(1), "Q1", "abc@partner.example",
            "alice@partner.example", List.of("bob@bank.example", "carol@bank.example"), 4321, "in-1", "198.51.100.7",
            "mx.partner.example", "alice", "CN=mx.partner.example", true, "smtp");
    private static final DeliveryRecord BOB_1 = new DeliveryRecord(T0.plusSeconds(3), "Q1", "bob@bank.example", 1,
            "mx2.bank.example", 20, "203.0.113.6", 25, "out-2", "TLS handshake failed",
            List.of("451-4.7.0 first line", "451 4.7.0 second line"), Outcome.DEFERRED, "4.7.0",
            "mx2.bank.example said 451", null, List.of("mx1.bank.example[203.0.113.5]:25 timed out",
            "mx2.bank.example[203.0.113.6]:25 TLS handshake failed"));
    private static final DeliveryRecord BOB_2 = new DeliveryRecord(T0.plusSeconds(4), "Q1", "bob@bank.example", 2,
            "mx1.bank.example", 10, "203.0.113.5", 25, "out-1", null, List.of("250 2.0.0 Ok: queued"),
            Outcome.DELIVERED, "2.0.0", "250 2.0.0 Ok: queued", null, List.of("mx1.bank.example[203.0.113.5]:25 ok"));
    private static final DeliveryRecord CAROL = new DeliveryRecord(T0.plusSeconds(5), "Q1", "carol@bank.example", 1,
            null, -1, null, -1, null, null, null, Outcome.BOUNCED, "5.1.2", "no MX for bank.example", "Q2", null);
    private static final MessageRecord DSN = new MessageRecord(T0.plusSeconds(5), "Q2", null, "",
            List.of("alice@partner.example"), 999, null, null, null, null, null, false, "bounce of Q1");
    /** A message whose sender wrote TLS-Required: No (RFC 8689 §3): the column of migration V2. */
    private static final MessageRecord RELAXED = new MessageRecord(T0.plusSeconds(5), "Q4", "r@partner.example",
            "alice@partner.example", List.of("bob@bank.example"), 500, "in-1", "198.51.100.7", "mx.partner.example",
            null, null, false, true, "smtp");
    private static final AdminRecord ADMIN = new AdminRecord(T0.plusSeconds(6), "root", AdminRecord.Action.QUEUE_HOLD,
            "Q1", "held for review");
    private static final AdminRecord RELOAD = new AdminRecord(T0.plusSeconds(6), "root",
            AdminRecord.Action.CONFIG_RELOAD, null, null);

    private static List<AuditRecord> all() {
        return List.of(IN, MSG, CLEAR, BOB_1, OUT, BOB_2, CAROL, DSN, ADMIN, RELOAD);
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void everyRecordRoundTripsWithAllFields(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a")) {
            store.write(all());
            List<MessageTrace> traces = store.trace("Q1");
            assertThat(traces).hasSize(1);
            MessageTrace t = traces.getFirst();
            assertThat(t.gateway()).isEqualTo("gw-a");
            assertThat(t.message()).isEqualTo(MSG);
            assertThat(t.inbound()).isEqualTo(IN);
            assertThat(t.deliveries()).containsExactly(BOB_1, BOB_2, CAROL);
            assertThat(t.sessions()).isEqualTo(Map.of("out-1", OUT, "out-2", CLEAR));
            // the intermediate keeps no PEM; the leaf's comes back from the certificate table
            assertThat(t.inbound().peerChain().get(1).pem()).isNull();
            assertThat(t.inbound().peerChain().get(0).pem()).startsWith("-----BEGIN CERTIFICATE-----");

            MessageTrace dsn = store.trace("Q2").getFirst();
            assertThat(dsn.message()).isEqualTo(DSN);
            assertThat(dsn.inbound()).isNull();
            assertThat(dsn.deliveries()).isEmpty();
            assertThat(store.message("Q2")).contains(dsn);
            store.write(List.of(RELAXED));
            assertThat(store.trace("Q4").getFirst().message()).isEqualTo(RELAXED);
            assertThat(dsn.message().tlsRequiredNo()).isFalse();
        }
        assertThat(Backend.count(url, "SELECT COUNT(*) FROM admin_action")).isEqualTo(2);
        assertThat(Backend.count(url, "SELECT COUNT(*) FROM admin_action WHERE actor = 'root' AND "
                + "action = 'QUEUE_HOLD' AND target = 'Q1' AND detail = 'held for review' AND at = "
                + ADMIN.at().toEpochMilli() + " AND gateway = 'gw-a'")).isEqualTo(1);
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void theLastDeliveryToADomainAndItsHosts(Backend backend) throws Exception {
        try (JdbcAuditStore store = JdbcAuditStore.open(backend.newUrl(dir), null, null, "gw-a")) {
            store.write(all());
            JdbcAuditStore.DomainDeliveries d = store.deliveries("bank.example");
            assertThat(d.last()).isEqualTo(new JdbcAuditStore.GatewayDelivery("gw-a", CAROL));
            assertThat(d.hosts()).containsExactly("mx1.bank.example", "mx2.bank.example"); // latest first
            JdbcAuditStore.DomainDeliveries none = store.deliveries("partner.example");
            assertThat(none.last()).isNull();
            assertThat(none.hosts()).isEmpty();
        }
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void aBatchReplayedAfterACrashAddsNothingTwice(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        long[] once = new long[TABLES.length];
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a")) {
            store.write(all());
            for (int i = 0; i < TABLES.length; i++) once[i] = Backend.count(url, "SELECT COUNT(*) FROM " + TABLES[i]);
            store.write(all());
        }
        try (JdbcAuditStore again = JdbcAuditStore.open(url, null, null, "gw-a")) { // a fresh writer after a restart
            again.write(all());
            assertThat(again.trace("Q1").getFirst().deliveries()).containsExactly(BOB_1, BOB_2, CAROL);
        }
        assertThat(once).containsExactly(3, 3, 2, 2, 3, 3, 2);
        for (int i = 0; i < TABLES.length; i++) {
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM " + TABLES[i])).as(TABLES[i]).isEqualTo(once[i]);
        }
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void aCertificateSeenInManySessionsIsStoredOnce(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        for (int round = 0; round < 2; round++) { // the second store starts without the set of known certificates
            try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a")) {
                for (int b = 0; b < 5; b++) {
                    List<AuditRecord> batch = new ArrayList<>();
                    for (int i = 0; i < 10; i++) {
                        batch.add(AuditSamples.out("s" + round + "-" + b + "-" + i, T0, "mx.bank.example", true,
                                "verify"));
                    }
                    store.write(batch);
                }
            }
        }
        assertThat(Backend.count(url, "SELECT COUNT(*) FROM tls_session")).isEqualTo(100);
        assertThat(Backend.count(url, "SELECT COUNT(*) FROM session_certificate")).isEqualTo(200);
        assertThat(Backend.count(url, "SELECT COUNT(*) FROM certificate")).isEqualTo(1);
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void traceByQueueIdMessageIdAndRecipient(Backend backend) throws Exception {
        try (JdbcAuditStore store = JdbcAuditStore.open(backend.newUrl(dir), null, null, "gw-a")) {
            store.write(all());
            Instant later = T0.plus(Duration.ofDays(2));
            MessageRecord resent = new MessageRecord(later, "Q9", "abc@partner.example", "alice@partner.example",
                    List.of("bob@bank.example"), 10, null, null, null, null, null, false, "smtp");
            store.write(List.of(resent, AuditSamples.delivered("Q9", later.plusSeconds(1), "bob@bank.example", null)));

            assertThat(queueIds(store.trace("Q9"))).containsExactly("Q9");
            assertThat(queueIds(store.trace("abc@partner.example"))).containsExactly("Q1", "Q9");
            assertThat(queueIds(store.trace("<abc@partner.example>"))).containsExactly("Q1", "Q9");
            assertThat(queueIds(store.trace("nothing@here"))).isEmpty();
            assertThat(store.message("Q9").orElseThrow().deliveries()).hasSize(1);

            assertThat(queueIds(store.traceRecipient("bob@bank.example", T0))).containsExactly("Q1", "Q9");
            assertThat(queueIds(store.traceRecipient("bob@bank.example", T0.plus(Duration.ofDays(1)))))
                    .containsExactly("Q9");
            assertThat(queueIds(store.traceRecipient("carol@bank.example", T0))).containsExactly("Q1");
            assertThat(queueIds(store.traceRecipient("alice@partner.example", T0))).containsExactly("Q2");
            assertThat(store.traceRecipient("dave@bank.example", T0)).isEmpty();
        }
    }

    private static List<String> queueIds(List<MessageTrace> traces) {
        return traces.stream().map(t -> t.message().queueId()).toList();
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void pruneRemovesTheOldestRowsInBatchesAndKeepsTheRest(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        Instant cutoff = T0.plus(Duration.ofDays(10));
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a");
             JdbcAuditStore other = JdbcAuditStore.open(url, null, null, "gw-b")) {
            List<AuditRecord> batch = new ArrayList<>();
            // 5 old messages, each with its session (own certificate) and delivery: 15 old records
            for (int i = 0; i < 5; i++) {
                Instant at = T0.plusSeconds(i * 60L);
                batch.add(AuditSamples.in("old-in-" + i, at, "old" + i + ".example", true, true));
                batch.add(AuditSamples.message("OLD" + i, at, "a@old.example", List.of("b@x.example"), "old-in-" + i));
                batch.add(AuditSamples.delivered("OLD" + i, at, "b@x.example", null));
            }
            // 2 recent ones, one naming the certificate of an old session: that certificate stays
            Instant now = cutoff.plusSeconds(60);
            batch.add(AuditSamples.in("new-in-0", now, "old0.example", true, true));
            batch.add(AuditSamples.message("NEW0", now, "a@old.example", List.of("b@x.example"), "new-in-0"));
            batch.add(AuditSamples.delivered("NEW0", now, "b@x.example", null));
            batch.add(new AdminRecord(now, "root", AdminRecord.Action.CONFIG_RELOAD, "postern.toml", null));
            store.write(batch);
            other.write(List.of(AuditSamples.message("B1", T0, "a@old.example", List.of("b@x.example"), null)));
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM certificate")).isEqualTo(5);

            assertThat(store.prune(cutoff, 4)).isEqualTo(4);
            // the oldest first: the three records of T0 and one of T0+60s
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM message WHERE gateway = 'gw-a'")).isEqualTo(5);
            assertThat(store.trace("OLD0")).isEmpty();
            int total = 4;
            for (int n; (n = store.prune(cutoff, 4)) > 0; ) {
                assertThat(n).isLessThanOrEqualTo(4);
                total += n;
            }
            assertThat(total).isEqualTo(15);
            assertThat(store.prune(cutoff, 4)).isZero();

            assertThat(Backend.count(url, "SELECT COUNT(*) FROM tls_session")).isEqualTo(1);
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM session_certificate")).isEqualTo(1);
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM message_recipient WHERE gateway = 'gw-a'"))
                    .isEqualTo(1);
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM delivery")).isEqualTo(1);
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM admin_action")).isEqualTo(1);
            assertThat(Backend.count(url, "SELECT COUNT(*) FROM certificate")).isEqualTo(1);
            MessageTrace kept = store.trace("NEW0").getFirst();
            assertThat(kept.inbound().peerChain().getFirst().pem()).isNotNull();
            assertThat(kept.deliveries()).hasSize(1);
            // another gateway's records are its own writer's to prune
            assertThat(store.trace("B1")).hasSize(1);
        }
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void twoGatewaysRecordsStayApart(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        try (JdbcAuditStore a = JdbcAuditStore.open(url, null, null, "gw-a");
             JdbcAuditStore b = JdbcAuditStore.open(url, null, null, "gw-b")) {
            // both gateways happen to use queue id Q1 and one Message-ID
            a.write(List.of(AuditSamples.out("sa", T0, "mx.bank.example", true, "verify"),
                    AuditSamples.message("Q1", T0, "x@a.example", List.of("r@bank.example"), null),
                    AuditSamples.delivered("Q1", T0.plusSeconds(1), "r@bank.example", "sa")));
            b.write(List.of(AuditSamples.outClear("sb", T0, "mx.bank.example"),
                    AuditSamples.message("Q1", T0.plusSeconds(5), "x@a.example", List.of("s@bank.example"), null),
                    AuditSamples.delivered("Q1", T0.plusSeconds(6), "s@bank.example", "sb"),
                    new DeliveryRecord(T0.plusSeconds(7), "Q1", "s@bank.example", 2, "mx.bank.example", 10,
                            "192.0.2.10", 25, "sa", null, List.of(), Outcome.DELIVERED, "2.0.0", "ok", null, null)));

            List<MessageTrace> both = a.trace("Q1");
            assertThat(both).extracting(MessageTrace::gateway).containsExactly("gw-a", "gw-b");
            MessageTrace ta = both.getFirst();
            assertThat(ta.deliveries()).extracting(DeliveryRecord::recipient).containsExactly("r@bank.example");
            assertThat(ta.sessions()).containsOnlyKeys("sa");
            MessageTrace tb = both.get(1);
            assertThat(tb.deliveries()).extracting(DeliveryRecord::recipient)
                    .containsExactly("s@bank.example", "s@bank.example");
            // gw-b's delivery naming "sa" does not pick up gw-a's session of that id
            assertThat(tb.sessions()).containsOnlyKeys("sb");
            assertThat(b.traceRecipient("r@bank.example", T0)).extracting(MessageTrace::gateway)
                    .containsExactly("gw-a");
        }
    }

    @Test void anUnreachableOrUnknownStoreIsOneLine() {
        assertThatThrownBy(() -> JdbcAuditStore.open("jdbc:postgresql://127.0.0.1:1/audit?password=secret", "u",
                "secret", "gw")).isInstanceOf(AuditStoreException.class)
                .hasMessageStartingWith("audit store jdbc:postgresql://127.0.0.1:1/audit: cannot connect: ")
                .hasMessageNotContaining("secret").hasMessageNotContaining("\n");
        assertThatThrownBy(() -> JdbcAuditStore.open("jdbc:mysql://db/audit", null, null, "gw"))
                .isInstanceOf(AuditStoreException.class).hasMessage("audit store jdbc:mysql://db/audit: unsupported "
                        + "URL, expected jdbc:sqlite:FILE or jdbc:postgresql://HOST/DATABASE");
        assertThatThrownBy(() -> JdbcAuditStore.open("jdbc:sqlite:" + dir.resolve("no/such/dir/a.db"), null, null,
                "gw")).isInstanceOf(AuditStoreException.class)
                .hasMessageStartingWith("audit store jdbc:sqlite:" + dir.resolve("no/such/dir/a.db") + ": ")
                .hasMessageNotContaining("\n");
    }

    /** The store survives the database going away: writes fail while it is down and work again after. */
    @Test void aPostgresRestartIsSurvived() throws Exception {
        TestPostgres pg = TestPostgres.get();
        String url = pg.newDatabase();
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a")) {
            store.write(List.of(AuditSamples.message("R1", T0, "a@b.example", List.of("c@d.example"), null)));
            pg.stop();
            try {
                assertThatThrownBy(() -> store.write(List.of(AuditSamples.message("R2", T0, "a@b.example",
                        List.of("c@d.example"), null)))).isInstanceOf(AuditStoreException.class)
                        .hasMessageStartingWith("audit store: cannot write 1 records: ")
                        .hasMessageNotContaining("\n");
            } finally {
                pg.start();
            }
            store.write(List.of(AuditSamples.message("R2", T0, "a@b.example", List.of("c@d.example"), null)));
            assertThat(store.trace("R1")).hasSize(1);
            assertThat(store.trace("R2")).hasSize(1);
        }
    }

    /** Batches of 500 mixed records: a session with a two-certificate chain, a message, two deliveries, ... */
    @ParameterizedTest @EnumSource(Backend.class)
    void insertRate(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        int batches = 20;
        int records = 0;
        long rows = 0;
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-a")) {
            store.write(batch(-1)); // warm-up
            for (String t : TABLES) rows -= Backend.count(url, "SELECT COUNT(*) FROM " + t);
            long start = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                List<AuditRecord> batch = batch(b);
                store.write(batch);
                records += batch.size();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            for (String t : TABLES) rows += Backend.count(url, "SELECT COUNT(*) FROM " + t);
            System.out.printf("AUDIT INSERT RATE %s: %d records (%d rows) in %.2f s: %.0f records/s, %.0f rows/s, "
                    + "%.1f ms per batch of 500%n", backend, records, rows, seconds, records / seconds,
                    rows / seconds, seconds * 1000 / batches);
            assertThat(records / seconds).as("records/s").isGreaterThan(1000);
        }
    }

    /** 500 records: 125 of each of session (2 certificates), message (2 recipients), delivery, and 1 per 4 admin. */
    private static List<AuditRecord> batch(int b) {
        List<AuditRecord> out = new ArrayList<>();
        for (int i = 0; out.size() < 500; i++) {
            String q = "B" + b + "Q" + i;
            Instant at = T0.plusMillis(b * 1000L + i);
            out.add(AuditSamples.out("s" + q, at, "mx" + (i % 50) + ".example", i % 3 != 0, "may"));
            out.add(AuditSamples.message(q, at, "a@client.example", List.of("r1@bank.example", "r2@bank.example"),
                    null));
            out.add(AuditSamples.delivered(q, at, "r1@bank.example", "s" + q));
            out.add(i % 2 == 0 ? AuditSamples.delivered(q, at, "r2@bank.example", "s" + q)
                    : new AdminRecord(at, "root", AdminRecord.Action.QUEUE_FLUSH, q, null));
        }
        return out;
    }
}
