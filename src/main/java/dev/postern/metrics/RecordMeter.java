package dev.postern.metrics;

import dev.postern.audit.Audit;
import dev.postern.audit.AuditRecord;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.queue.QueueIds;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The audit records as counters, as they are made: an observer on {@code audit.Fanout}. It runs on the producers'
 * threads (sessions, deliveries), so it only adds to counters and keeps two small bounded maps; it never blocks on
 * anything but their short locks and never throws.
 *
 * <p>The classes and the "enforced" definition are those of {@code postern report tls} (docs/audit.md), so the
 * counters and the report agree for the same records: an inbound message is classed by the session it came in (whose
 * record comes at the session's end, so its messages wait in {@link #pending} until then); an outbound delivered
 * recipient by the session it names (whose record came first, kept in {@link #outbound}).
 */
final class RecordMeter implements Audit {
    /** A session's class, as the report's: clear, encrypted (only), verified; unknown when its record is missing. */
    enum Tls { CLEAR, ENCRYPTED, VERIFIED, UNKNOWN;
        final String label = name().toLowerCase(Locale.ROOT);

        static Tls of(TlsSessionRecord s) {
            if (s.protocol() == null) return CLEAR;
            return s.verification() == TlsSessionRecord.Verification.VERIFIED ? VERIFIED : ENCRYPTED;
        }
    }

    /** Inbound sessions with messages whose session record has not come yet; far above max_active_sessions. */
    static final int MAX_PENDING = 10_000;
    /** Outbound sessions remembered for the deliveries that name them (a reused connection carries several). */
    static final int MAX_OUTBOUND = 4_096;
    /** Domains named in the enforced-link counters; the others are counted as "other". */
    static final int MAX_DOMAINS = 200;
    static final String OTHER = "other";
    /** The latency buckets: mail is slow, and a deferred message counts in hours. */
    static final Duration[] LATENCY_BUCKETS = {Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(15),
            Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(15),
            Duration.ofMinutes(30), Duration.ofHours(1), Duration.ofHours(2), Duration.ofHours(6),
            Duration.ofHours(12), Duration.ofDays(1)};

    /** What a delivery needs of the outbound session it names. */
    private record Outbound(Tls tls, boolean enforcing, boolean wouldFail) {}

    /** The enforced-link counters of one domain. */
    private record Enforced(Counter delivered, Counter deferred, Counter bounced, Counter failures,
                            Counter wouldFail) {}

    private final MeterRegistry registry;
    private final PartnerCertificates partners;
    private final Counter[][] sessions = new Counter[2][Tls.values().length];
    private final Counter[][] messages = new Counter[2][Tls.values().length];
    private final Counter[][] verification = new Counter[2][TlsSessionRecord.Verification.values().length];
    private final Counter[] deliveries = new Counter[DeliveryRecord.Outcome.values().length];
    private final Timer latencySmtp;
    private final Timer latencyLocal;
    /**
     * Per direction, then protocol, then cipher (nested, so that a lookup allocates nothing); the suites a TLS stack
     * negotiates are a short fixed list.
     */
    private final List<Map<String, Map<String, Counter>>> suites = List.of(new ConcurrentHashMap<>(),
            new ConcurrentHashMap<>());
    private final Map<String, Enforced> enforced = new ConcurrentHashMap<>();
    /** Inbound session id → messages received in it so far (insertion order: the oldest is evicted first). */
    private final LinkedHashMap<String, int[]> pending = new LinkedHashMap<>();
    /** Outbound session id → its class and policy, least recently used first. */
    private final LinkedHashMap<String, Outbound> outbound = new LinkedHashMap<>(256, 0.75f, true);

    RecordMeter(MeterRegistry registry, PartnerCertificates partners) {
        this.registry = registry;
        this.partners = partners;
        for (Direction d : Direction.values()) {
            String dir = d.name().toLowerCase(Locale.ROOT);
            for (Tls t : Tls.values()) {
                if (t != Tls.UNKNOWN) sessions[d.ordinal()][t.ordinal()] = Counter.builder("postern.sessions")
                        .description("SMTP sessions by direction and TLS class (inbound counted when they end)")
                        .tag("direction", dir).tag("tls", t.label).register(registry);
                messages[d.ordinal()][t.ordinal()] = Counter.builder("postern.messages")
                        .description("Messages received over SMTP (in) and recipients delivered to a next hop (out), "
                                + "by the TLS class of their session")
                        .tag("direction", dir).tag("tls", t.label).register(registry);
            }
            for (TlsSessionRecord.Verification v : TlsSessionRecord.Verification.values()) {
                verification[d.ordinal()][v.ordinal()] = Counter.builder("postern.tls.verification")
                        .description("SMTP sessions by the outcome of the peer certificate's verification")
                        .tag("direction", dir).tag("result", v.name().toLowerCase(Locale.ROOT)).register(registry);
            }
        }
        for (DeliveryRecord.Outcome o : DeliveryRecord.Outcome.values()) {
            deliveries[o.ordinal()] = Counter.builder("postern.deliveries")
                    .description("Delivery attempts of one recipient, by outcome (local Maildir deliveries included)")
                    .tag("outcome", o.name().toLowerCase(Locale.ROOT)).register(registry);
        }
        latencySmtp = latency("smtp");
        latencyLocal = latency("local");
    }

    private Timer latency(String via) {
        return Timer.builder("postern.delivery.latency")
                .description("From a message's receipt (its queue id) to the delivery of one recipient")
                .tag("via", via).serviceLevelObjectives(LATENCY_BUCKETS)
                .minimumExpectedValue(LATENCY_BUCKETS[0])
                .maximumExpectedValue(LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1])
                .register(registry);
    }

    @Override public void record(AuditRecord record) {
        switch (record) {
            case TlsSessionRecord s -> session(s);
            case MessageRecord m -> message(m);
            case DeliveryRecord d -> delivery(d);
            default -> { }
        }
    }

    private void session(TlsSessionRecord s) {
        int dir = s.direction().ordinal();
        Tls tls = Tls.of(s);
        sessions[dir][tls.ordinal()].increment();
        verification[dir][s.verification().ordinal()].increment();
        if (s.protocol() != null) suite(s.direction(), s.protocol(), s.cipher()).increment();
        if (s.direction() == Direction.IN) {
            int[] n;
            synchronized (pending) {
                n = pending.remove(s.id());
            }
            if (n != null) messages[dir][tls.ordinal()].increment(n[0]);
        } else {
            TlsSessionRecord.PolicyApplied p = s.policy();
            Outbound o = new Outbound(tls, p != null && p.enforcing(),
                    p != null && "testing".equals(p.mode()) && !p.wouldFail().isEmpty());
            synchronized (outbound) {
                outbound.put(s.id(), o);
                if (outbound.size() > MAX_OUTBOUND) {
                    Iterator<String> eldest = outbound.keySet().iterator();
                    eldest.next();
                    eldest.remove();
                }
            }
        }
        if (!s.peerChain().isEmpty()) partners.seen(s);
    }

    private void message(MessageRecord m) {
        if (!"smtp".equals(m.origin()) || m.sessionId() == null) return; // DSNs made here are not received mail
        int[] evicted = null;
        synchronized (pending) {
            pending.computeIfAbsent(m.sessionId(), k -> new int[1])[0]++;
            if (pending.size() > MAX_PENDING) {
                Iterator<int[]> eldest = pending.values().iterator();
                evicted = eldest.next();
                eldest.remove();
            }
        }
        // a session that never ended on record (its record failed): as the report's "unknown"
        if (evicted != null) messages[Direction.IN.ordinal()][Tls.UNKNOWN.ordinal()].increment(evicted[0]);
    }

    private void delivery(DeliveryRecord d) {
        deliveries[d.outcome().ordinal()].increment();
        boolean local = "local".equals(d.mxHost());
        Outbound session = null;
        if (d.tlsSessionId() != null) {
            synchronized (outbound) {
                session = outbound.get(d.tlsSessionId());
            }
        }
        boolean delivered = d.outcome() == DeliveryRecord.Outcome.DELIVERED;
        if (delivered) {
            if (!local) {
                Tls tls = d.tlsSessionId() == null ? Tls.CLEAR : session == null ? Tls.UNKNOWN : session.tls;
                messages[Direction.OUT.ordinal()][tls.ordinal()].increment();
            }
            latency(d, local ? latencyLocal : latencySmtp);
        }
        boolean enforcing = session != null && session.enforcing;
        if (enforcing || !delivered && d.securityStatus()) {
            Enforced e = enforced(d.domain());
            (delivered ? e.delivered : d.outcome() == DeliveryRecord.Outcome.DEFERRED ? e.deferred : e.bounced)
                    .increment();
            if (!delivered && (d.securityStatus() || d.noTlsReason() != null)) e.failures.increment();
            if (session != null && session.wouldFail) e.wouldFail.increment();
        }
    }

    private static void latency(DeliveryRecord d, Timer timer) {
        long received;
        try {
            received = QueueIds.time(d.queueId()).toEpochMilli();
        } catch (IllegalArgumentException e) {
            return; // not a queue id: no receipt time
        }
        timer.record(Math.max(0, d.at().toEpochMilli() - received), TimeUnit.MILLISECONDS);
    }

    private Counter suite(Direction direction, String protocol, String cipher) {
        String suite = cipher == null ? "" : cipher;
        Map<String, Counter> byCipher = suites.get(direction.ordinal())
                .computeIfAbsent(protocol, k -> new ConcurrentHashMap<>());
        Counter c = byCipher.get(suite);
        if (c != null) return c;
        return byCipher.computeIfAbsent(suite, k -> Counter.builder("postern.tls.sessions")
                .description("TLS sessions by direction, protocol version and cipher suite")
                .tag("direction", direction.name().toLowerCase(Locale.ROOT)).tag("protocol", protocol)
                .tag("cipher", k).register(registry));
    }

    /** The counters of {@code domain}, or of "other" once {@link #MAX_DOMAINS} domains have their own. */
    private Enforced enforced(String domain) {
        Enforced e = enforced.get(domain);
        if (e != null) return e;
        String label = enforced.size() >= MAX_DOMAINS ? OTHER : domain;
        return enforced.computeIfAbsent(label, k -> new Enforced(attempts(k, "delivered"), attempts(k, "deferred"),
                attempts(k, "bounced"),
                Counter.builder("postern.enforced.failures").description("Enforced-link delivery attempts that "
                        + "failed for TLS (4.7.x/5.7.x, or a reason for running without TLS), per recipient domain")
                        .tag("domain", k).register(registry),
                Counter.builder("postern.enforced.would.fail").description("Attempts under a policy in testing "
                        + "mode whose session failed a check the enforced level makes, per recipient domain")
                        .tag("domain", k).register(registry)));
    }

    private Counter attempts(String domain, String outcome) {
        return Counter.builder("postern.enforced.attempts")
                .description("Delivery attempts of enforced links (policy requires TLS or is tested, or a "
                        + "4.7.x/5.7.x failure), per recipient domain and outcome")
                .tag("domain", domain).tag("outcome", outcome).register(registry);
    }
}
