package dev.postern.recipients;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Remembers what next hops said about addresses, like Postfix's verify(8) cache: an accepted address for
 * {@code positiveTtl}, a refused one for {@code negativeTtl}; a temporary answer is not kept, so the next RCPT asks
 * again. At most {@code maxEntries} addresses, least recently used dropped first. Concurrent questions about one
 * address share one probe. Thread-safe.
 *
 * <p>An acceptance holds for every case variant and quoting of the local part ({@code JOHN}, {@code "john"}); a
 * refusal only for the address exactly as written. Otherwise anyone could send {@code RCPT TO:<JOHN@partner>} to a
 * partner with case-sensitive local parts (or one that refuses quoted forms) and get the real {@code john} refused
 * for {@code negativeTtl}.
 *
 * <p>At most {@code maxProbesPerDomain} probes to one domain run at a time; a question beyond that is answered
 * {@link Verdict.Unverified} at once (the client gets a 4xx and tries later), so a flood of distinct recipients, which
 * no cache absorbs, cannot make Postern hammer the partner with hundreds of parallel sessions.
 */
public final class VerificationCache implements Verifier {
    private record Entry(Verdict verdict, Instant until) {}

    private final Verifier next;
    private final Duration positiveTtl;
    private final Duration negativeTtl;
    private final int maxEntries;
    private final Clock clock;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<String, CompletableFuture<Verdict>> inFlight = new ConcurrentHashMap<>();
    /** Probe slots per domain; only domains configured for verification are asked about, so this stays small. */
    private final Map<String, Semaphore> probing = new ConcurrentHashMap<>();
    private final int maxProbesPerDomain;

    /** Probes default to {@value #DEFAULT_MAX_PROBES} at a time per domain. */
    public static final int DEFAULT_MAX_PROBES = 10;

    public VerificationCache(Verifier next, Duration positiveTtl, Duration negativeTtl, int maxEntries, Clock clock) {
        this(next, positiveTtl, negativeTtl, maxEntries, DEFAULT_MAX_PROBES, clock);
    }

    public VerificationCache(Verifier next, Duration positiveTtl, Duration negativeTtl, int maxEntries,
                             int maxProbesPerDomain, Clock clock) {
        if (maxEntries < 1) throw new IllegalArgumentException("maxEntries must be at least 1");
        if (maxProbesPerDomain < 1) throw new IllegalArgumentException("maxProbesPerDomain must be at least 1");
        this.maxProbesPerDomain = maxProbesPerDomain;
        this.next = next;
        this.positiveTtl = positiveTtl;
        this.negativeTtl = negativeTtl;
        this.maxEntries = maxEntries;
        this.clock = clock;
    }

    @Override public Verdict verify(String address, String domain) {
        String local = address.substring(0, address.lastIndexOf('@'));
        String accepted = "~" + LocalParts.key(local) + "@" + domain; // any variant of an accepted address
        String exact = "=" + local + "@" + domain;                     // a refusal: this form only
        Verdict known = lookup(accepted);
        if (known == null) known = lookup(exact);
        if (known != null) return known;
        CompletableFuture<Verdict> mine = new CompletableFuture<>();
        CompletableFuture<Verdict> running = inFlight.putIfAbsent(exact, mine);
        if (running != null) return running.join();
        Semaphore slots = probing.computeIfAbsent(domain, d -> new Semaphore(maxProbesPerDomain));
        if (!slots.tryAcquire()) {
            Verdict busy = new Verdict.Unverified(maxProbesPerDomain + " verifications of " + domain
                    + " already in progress");
            inFlight.remove(exact, mine);
            mine.complete(busy);
            return busy;
        }
        try {
            Verdict v = next.verify(address, domain);
            store(v instanceof Verdict.Accepted ? accepted : exact, v);
            mine.complete(v);
            return v;
        } catch (RuntimeException e) {
            mine.complete(new Verdict.Unverified("verification failed: " + e));
            throw e;
        } finally {
            slots.release();
            inFlight.remove(exact, mine);
        }
    }

    /** How many addresses are remembered (tests, metrics). */
    public synchronized int size() { return entries.size(); }

    private synchronized Verdict lookup(String key) {
        Entry e = entries.get(key);
        if (e == null) return null;
        if (!clock.instant().isBefore(e.until())) {
            entries.remove(key);
            return null;
        }
        return e.verdict();
    }

    private synchronized void store(String key, Verdict v) {
        Duration ttl = switch (v) {
            case Verdict.Accepted a -> positiveTtl;
            case Verdict.Refused r -> negativeTtl;
            default -> null;
        };
        if (ttl == null) return;
        entries.put(key, new Entry(v, clock.instant().plus(ttl)));
        var it = entries.entrySet().iterator();
        while (entries.size() > maxEntries && it.hasNext()) {
            it.next();
            it.remove();
        }
    }
}
