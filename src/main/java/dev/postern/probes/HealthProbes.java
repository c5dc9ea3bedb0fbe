package dev.postern.probes;

import dev.postern.audit.Audit;
import dev.postern.audit.ProbeRecord;
import dev.postern.config.Config;
import dev.postern.logging.Untrusted;
import java.io.Closeable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health probes of a running gateway: each domain of {@link ProbeTargets} probed every {@code [probes]
 * interval} (each run at the interval ± a tenth of it, the first runs spread over the first few minutes, so that
 * many domains are never probed in the same second), {@link #MAX_AT_ONCE} at a time; and a probe on demand
 * ({@link #probe}). Each probe is one {@link ProbeRecord} handed to the gateway's audit (so the store, the alerts and
 * the metrics see it) and one log line. The configuration is read per run, so a reload's domains, interval and
 * {@code enabled} apply without a restart.
 */
public final class HealthProbes implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(HealthProbes.class);
    /** The most periodic probes at once: a few, so a gateway with hundreds of partners never opens hundreds. */
    public static final int MAX_AT_ONCE = 4;
    /** The first probe of a domain newly watched comes within this (or the interval, when shorter). */
    static final Duration FIRST_SPREAD = Duration.ofMinutes(5);
    /** The trigger of a periodic probe. */
    public static final String SCHEDULED = "scheduled";

    private final Supplier<Config> config;
    private final TlsProber prober;
    private final Supplier<List<ProbeTargets.Target>> targets;
    private final Audit audit;
    private final Semaphore slots = new Semaphore(MAX_AT_ONCE);
    /** When each watched domain is due next. */
    private final Map<String, Instant> due = new ConcurrentHashMap<>();
    /** The periodic probes under way, to interrupt them at close. */
    private final Map<String, Thread> running = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private Thread loop;

    public HealthProbes(Supplier<Config> config, TlsProber prober, Supplier<List<ProbeTargets.Target>> targets,
                        Audit audit) {
        this.config = config;
        this.prober = prober;
        this.targets = targets;
        this.audit = audit;
    }

    /** The domains that are watched now and why. */
    public List<ProbeTargets.Target> targets() {
        return targets.get();
    }

    /**
     * Probes {@code domain} (lookup form) now, as the periodic probe does (MX hosts in order, the first that passes
     * decides, {@code [probes] timeout} for all of it), records it and returns it. For {@code postern probe} and the
     * admin API; not counted against the periodic probes' slots.
     *
     * @param trigger who asked (the record's {@code trigger})
     */
    public ProbeRecord probe(String domain, String trigger) {
        ProbeRecord r = run(domain, trigger, config.get());
        if (r != null) audit.record(r);
        return r;
    }

    /** One probe, logged; null when the gateway closed under it (a cut probe is no finding). */
    private ProbeRecord run(String domain, String trigger, Config c) {
        Instant at = Instant.now();
        long start = System.nanoTime();
        TlsProbeReport report = prober.probe(domain, options(c));
        if (closed) return null;
        ProbeRecord r = record(report, trigger, at, (System.nanoTime() - start) / 1_000_000);
        var line = (r.ok() ? log.atInfo() : log.atWarn()).addKeyValue("domain", r.domain()).addKeyValue("ok", r.ok())
                .addKeyValue("trigger", r.trigger()).addKeyValue("level", r.policyLevel())
                .addKeyValue("source", r.policySource()).addKeyValue("host", r.host()).addKeyValue("ip", r.ip())
                .addKeyValue("tls", r.protocol()).addKeyValue("verification", r.verification())
                .addKeyValue("ms", r.millis());
        if (r.problem() != null) line = line.addKeyValue("problem", Untrusted.clip(r.problem()));
        line.log("probe");
        return r;
    }

    /** How probes run under {@code c}: delivery's timeouts, the whole bounded by {@code [probes] timeout}. */
    public static TlsProber.Options options(Config c) {
        return new TlsProber.Options(null, null, null, c.watch().probes().timeout(), true);
    }

    /** Starts the periodic probes (they run only while {@code [probes] enabled}). */
    public void start() {
        loop = Thread.ofVirtual().name("probes").start(this::loop);
    }

    private void loop() {
        while (!closed) {
            try {
                tick(Instant.now());
            } catch (RuntimeException e) {
                log.warn("probes: {}", e.toString()); // one bad turn must not end the probes
            }
            try {
                Thread.sleep(TICK);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static final Duration TICK = Duration.ofMillis(500);

    /** Schedules newly watched domains, forgets the others, starts the due ones while slots are free. */
    void tick(Instant now) {
        Config c = config.get();
        Config.Probes p = c.watch().probes();
        if (!p.enabled()) {
            due.clear();
            return;
        }
        Duration interval = p.interval();
        Set<String> watched = new HashSet<>();
        for (ProbeTargets.Target t : targets.get()) watched.add(t.domain());
        due.keySet().retainAll(watched);
        Duration spread = interval.compareTo(FIRST_SPREAD) < 0 ? interval : FIRST_SPREAD;
        for (String d : watched) {
            Instant next = due.get(d);
            // new, or scheduled under a longer interval than a reload set since
            if (next == null || next.isAfter(now.plus(interval.plus(interval.dividedBy(10))))) {
                due.put(d, now.plusMillis(ThreadLocalRandom.current().nextLong(Math.max(1, spread.toMillis()))));
            }
        }
        List<Map.Entry<String, Instant>> ready = new ArrayList<>(due.entrySet().stream()
                .filter(e -> !e.getValue().isAfter(now) && !running.containsKey(e.getKey())).toList());
        ready.sort(Map.Entry.comparingByValue(Comparator.naturalOrder()));
        for (Map.Entry<String, Instant> e : ready) {
            if (closed || !slots.tryAcquire()) return; // the others wait for the next turn
            String d = e.getKey();
            due.put(d, now.plus(jittered(interval)));
            Thread t = Thread.ofVirtual().name("probe " + d).unstarted(() -> {
                try {
                    ProbeRecord r = run(d, SCHEDULED, config.get());
                    if (r != null) audit.record(r);
                } catch (RuntimeException x) {
                    log.warn("probe of {} failed: {}", d, x.toString());
                } finally {
                    running.remove(d);
                    slots.release();
                }
            });
            running.put(d, t);
            t.start();
        }
    }

    /** The interval ± up to a tenth of it. */
    static Duration jittered(Duration interval) {
        long tenth = Math.max(1, interval.toMillis() / 10);
        return interval.plusMillis(ThreadLocalRandom.current().nextLong(-tenth, tenth + 1));
    }

    /** Stops the periodic probes: those under way are interrupted (their sockets close) and not recorded. */
    @Override public void close() {
        closed = true;
        if (loop != null) loop.interrupt();
        for (Thread t : running.values()) t.interrupt();
        long until = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        for (Thread t : List.copyOf(running.values())) {
            long left = until - System.nanoTime();
            if (left <= 0) break;
            try {
                t.join(Duration.ofNanos(left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * The record of a probe: the connection that decided (the first that would take the mail or makes it bounce,
     * else the last one tried), the policy it was held to, what it showed. A probe makes no TLS session record
     * (it is not mail traffic), so {@code tlsSessionId} is null.
     */
    public static ProbeRecord record(TlsProbeReport r, String trigger, Instant at, long millis) {
        TlsProbeReport.Host host = null;
        TlsProbeReport.Connection decided = null;
        boolean found = false;
        List<String> tried = new ArrayList<>();
        for (TlsProbeReport.Host h : r.hosts()) {
            if (h.notUsed() != null) {
                tried.add(h.host() + ":" + h.port() + " not used: " + h.notUsed());
                if (!found) {
                    host = h;
                    decided = null;
                }
            }
            for (TlsProbeReport.Connection c : h.connections()) {
                String why = c.error() != null ? c.error() : c.check() != null ? c.check().failure() : null;
                tried.add(h.host() + "[" + c.address() + "]:" + h.port() + " " + c.outcome()
                        + (why == null ? "" : ": " + why));
                if (!found) {
                    host = h;
                    decided = c;
                    found = TlsProber.decides(c);
                }
            }
        }
        TlsProbeReport.Connection shown = decided != null && decided.tls() == null && decided.broadRetry() != null
                ? decided.broadRetry() : decided;
        String level = shown != null && shown.heldTo() != null ? shown.heldTo().level() : r.policy().level();
        String source = shown != null && shown.heldTo() != null ? shown.heldTo().source()
                : r.floor() != null ? "memory" : r.policy().kind();
        String verification = shown == null || shown.tls() == null ? "none"
                : "dane".equals(shown.achieved()) ? "dane"
                : shown.check() != null && shown.check().verified() ? "verified" : "unverified";
        String problem;
        if (!r.verdict().mailWouldGo()) {
            problem = r.verdict().text();
        } else {
            List<String> wouldFail = shown == null || shown.check() == null ? List.of() : shown.check().wouldFail();
            problem = wouldFail.isEmpty() ? null : "in testing mode, would be refused: " + String.join("; ", wouldFail);
        }
        return new ProbeRecord(at, r.domain(), r.verdict().mailWouldGo(), trigger, level, source,
                host == null ? null : host.host(), decided == null ? null : decided.address(),
                host == null ? -1 : host.port(), null, shown == null || shown.tls() == null ? null
                : shown.tls().protocol(), shown == null || shown.tls() == null ? null : shown.tls().cipher(),
                verification, problem, tried, millis);
    }

}
