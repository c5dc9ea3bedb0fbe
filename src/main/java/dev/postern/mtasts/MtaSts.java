package dev.postern.mtasts;

import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import java.io.Closeable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A domain's MTA-STS policy as RFC 8461 §5.1 says to find it: look up the TXT record; when its id differs from the
 * cached policy's (or nothing is cached), fetch the policy and cache it for its max_age; when the lookup fails, the
 * record is missing or the fetch fails, go on with the cached policy until it expires, never replacing it with a
 * failure. The first delivery to a domain waits for the fetch (bounded by the fetch timeout), as Postfix's
 * postfix-mta-sts-resolver does: otherwise the first message would go without the policy the domain published.
 * A failed fetch is not repeated for the same id within {@link #RETRY_FAILED}, so a dead policy host does not cost
 * every delivery a timeout. A background refresher ({@link #start}) checks the TXT id of every cached domain and
 * re-fetches policies in the last quarter of their max_age, so a domain that stays quiet never falls out of its
 * policy between messages (RFC 8461 §5.1, §10.2).
 */
public final class MtaSts implements PolicySource, Closeable {
    private static final Logger log = LoggerFactory.getLogger(MtaSts.class);

    /** A failed fetch for the same TXT id is tried again after this long at the earliest (deliveries). */
    static final Duration RETRY_FAILED = Duration.ofMinutes(5);
    /** A policy is re-fetched by the refresher once less than this part of its max_age is left. */
    static final int REFRESH_DIVISOR = 4;

    private record Failure(String id, String reason, Instant at) {}

    /**
     * What Postern knows of a domain's MTA-STS, for {@code postern mta-sts show} and {@code domains show}.
     *
     * @param cached      the cached policy, expired or not; null when none
     * @param lastError   why the last fetch failed (with or without a cached policy), or null
     */
    public record State(String domain, CachedPolicy cached, String lastError, Instant lastErrorAt) {
        /** Lines for a person: policy id, mode, mx, expiry, last fetch error. */
        public List<String> lines(Instant now) {
            List<String> out = new ArrayList<>();
            if (cached == null) {
                out.add("no cached MTA-STS policy");
            } else {
                Policy p = cached.policy();
                out.add("policy id:  " + cached.id());
                out.add("mode:       " + p.mode().word());
                out.add("mx:         " + (p.mx().isEmpty() ? "(none)" : String.join(", ", p.mx())));
                out.add("max_age:    " + p.maxAge() + " s");
                out.add("fetched:    " + cached.fetchedAt());
                out.add("expires:    " + cached.expiresAt() + (cached.expired(now) ? " (expired)" : ""));
            }
            if (lastError != null) out.add("last error: " + lastErrorAt + " " + lastError);
            return out;
        }
    }

    private final DnsResolver dns;
    private final PolicyFetcher fetcher;
    private final PolicyCache cache;
    private final Clock clock;
    private final int maxDomains;
    private final Map<String, Failure> failures = new ConcurrentHashMap<>();
    /** One discovery per domain at a time (striped): concurrent deliveries share one fetch. */
    private final ReentrantLock[] locks = new ReentrantLock[64];
    private volatile Thread refresher;
    private volatile boolean closed;

    public MtaSts(DnsResolver dns, PolicyFetcher fetcher, PolicyCache cache, Clock clock, int maxDomains) {
        this.dns = dns;
        this.fetcher = fetcher;
        this.cache = cache;
        this.clock = clock;
        this.maxDomains = maxDomains;
        for (int i = 0; i < locks.length; i++) locks[i] = new ReentrantLock();
    }

    @Override public Optional<CachedPolicy> policyFor(String domain) {
        CachedPolicy p = discover(domain, false);
        return p == null || p.policy().mode() == Policy.Mode.NONE ? Optional.empty() : Optional.of(p);
    }

    /** What is known of {@code domain} now, without any lookup. */
    public State state(String domain) {
        CachedPolicy c = cache.get(domain).orElse(null);
        Failure f = failures.get(domain);
        if (f != null && (c == null || c.lastErrorAt() == null || f.at().isAfter(c.lastErrorAt()))) {
            return new State(domain, c, f.reason(), f.at());
        }
        return cache.state(domain);
    }

    /**
     * The policy to use for {@code domain}: the cached one, or a new one when the TXT id changed (or {@code refresh}
     * asks for a re-fetch); null when there is none. A fresh policy is returned even with max_age 0 (valid for this
     * delivery, never cached for the next).
     */
    CachedPolicy discover(String domain, boolean refresh) {
        ReentrantLock lock = locks[Math.floorMod(domain.hashCode(), locks.length)];
        lock.lock();
        try {
            Instant now = clock.instant();
            CachedPolicy cached = cache.get(domain).filter(c -> !c.expired(now)).orElse(null);
            Optional<StsRecord> record;
            try {
                record = StsRecord.pick(dns.lookupTxt("_mta-sts." + domain));
            } catch (DnsException e) {
                // RFC 8461 §5.1: a failed lookup leaves the cached policy in force
                if (cached != null) log.info("mta-sts {}: TXT lookup failed ({}), cached policy id={} kept", domain,
                        e.getMessage(), cached.id());
                return cached;
            }
            if (record.isEmpty()) return cached; // gone or invalid: the cached policy holds until it expires
            String id = record.get().id();
            if (cached != null && cached.id().equals(id) && !refresh) return cached;
            Failure failed = failures.get(domain);
            if (!refresh && failed != null && failed.id().equals(id) && now.isBefore(failed.at().plus(RETRY_FAILED))) {
                return cached;
            }
            Policy policy;
            try {
                policy = fetcher.fetch(domain);
            } catch (PolicyFetcher.FetchException e) {
                if (failures.size() >= maxDomains) failures.clear();
                failures.put(domain, new Failure(id, e.getMessage(), now));
                CachedPolicy kept = cached == null ? null : cached.failed(e.getMessage(), now);
                if (kept != null) cache.put(kept); // never replaced by a failure (RFC 8461 §5.1)
                log.warn("mta-sts {}: fetching the policy for id={} failed: {}{}", domain, id, e.getMessage(),
                        cached == null ? "" : "; cached policy id=" + cached.id() + " kept until "
                                + cached.expiresAt());
                return kept;
            }
            failures.remove(domain);
            CachedPolicy fresh = new CachedPolicy(domain, id, policy, now, now.plusSeconds(policy.maxAge()), null,
                    null);
            if (policy.maxAge() > 0) {
                cache.put(fresh);
            } else {
                cache.remove(domain);
            }
            log.info("mta-sts {}: {}", domain, fresh.describe());
            return fresh;
        } finally {
            lock.unlock();
        }
    }

    /**
     * One pass of the refresher: drops expired policies, and for every other cached domain checks the TXT id
     * (a change means a fetch) and re-fetches a policy in the last quarter of its max_age.
     */
    public void refreshDue() {
        Instant now = clock.instant();
        cache.prune(now);
        for (CachedPolicy p : cache.all()) {
            if (closed) return;
            Duration left = Duration.between(now, p.expiresAt());
            boolean nearExpiry = left.compareTo(Duration.ofSeconds(p.policy().maxAge() / REFRESH_DIVISOR)) < 0;
            discover(p.domain(), nearExpiry);
        }
    }

    /** Runs {@link #refreshDue} every {@code interval} on a virtual thread until {@link #close}. */
    public void start(Duration interval) {
        refresher = Thread.ofVirtual().name("mta-sts-refresher").start(() -> {
            while (!closed) {
                try {
                    Thread.sleep(interval);
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    refreshDue();
                } catch (RuntimeException e) {
                    log.warn("mta-sts: refresh failed: {}", e.toString());
                }
            }
        });
    }

    @Override public void close() {
        closed = true;
        Thread t = refresher;
        if (t != null) t.interrupt();
        fetcher.close();
    }
}
