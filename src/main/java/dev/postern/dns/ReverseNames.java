package dev.postern.dns;

import dev.postern.names.Domains;
import java.net.InetAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forward-confirmed reverse DNS name of a client address (FCrDNS, as Postfix's "connect from name[ip]"): a name
 * from the address's PTR records whose A/AAAA records contain the address again. A PTR alone proves nothing (whoever
 * holds the address's reverse zone writes what they like there); the forward check ties it to the name's owner.
 *
 * <p>Lookups run on their own virtual thread: {@link #confirmedName} returns at once, so the SMTP dialogue never
 * waits for DNS. Results are kept per address in a small bounded cache (least recently used goes first) for as long
 * as the records' TTLs allow, at most {@link #MAX_TTL}; a lookup in flight is shared by every session from the same
 * address. Thread-safe; one instance per gateway.
 */
public final class ReverseNames {
    private static final Logger log = LoggerFactory.getLogger(ReverseNames.class);

    /** How many addresses are remembered. */
    static final int MAX_ENTRIES = 10_000;
    /** Longest a result is kept, whatever the TTLs say. */
    static final Duration MAX_TTL = Duration.ofHours(1);
    /** How long "no confirmed name" is kept when no record gave a TTL (NXDOMAIN without SOA, NODATA). */
    static final Duration NEGATIVE_TTL = Duration.ofMinutes(5);
    /** How long a failed lookup (timeout, SERVFAIL) is kept, so a client that reconnects does not restart it. */
    static final Duration FAILURE_TTL = Duration.ofMinutes(1);
    /** PTR names checked per address: an address with dozens of PTRs gets no more forward lookups than this. */
    static final int MAX_NAMES = 5;

    /** Never looks anything up: every name is empty. */
    public static final ReverseNames NONE = new ReverseNames(null, System::nanoTime);

    private final DnsResolver dns;
    private final LongSupplier nanoClock;
    private final Map<InetAddress, Cached> cache = new LinkedHashMap<InetAddress, Cached>(256, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<InetAddress, Cached> eldest) {
            return size() > MAX_ENTRIES;
        }
    };

    /** A result, or the lookup in flight (not done: {@code expires} unused), and when it stops being used. */
    private record Cached(CompletableFuture<Optional<String>> name, long expires) {}

    public ReverseNames(DnsResolver dns) {
        this(Objects.requireNonNull(dns, "dns"), System::nanoTime);
    }

    ReverseNames(DnsResolver dns, LongSupplier nanoClock) {
        this.dns = dns;
        this.nanoClock = nanoClock;
    }

    /**
     * Whether {@code address} is looked up at all. Loopback addresses only when {@code [dns] servers} are
     * configured: the system's resolvers have nothing to say about our own host, and such a query would leave
     * the machine for nothing; a configured server is asked, since it is the administrator's (and the tests')
     * resolver, and answers what it has.
     */
    public boolean looksUp(InetAddress address) {
        return dns != null && !(address.isLoopbackAddress() && dns.usesSystemServers());
    }

    /** How long a caller that can afford to wait should wait for a lookup to end: the resolver's timeout. */
    public Duration patience() {
        return dns == null ? Duration.ZERO : dns.timeout();
    }

    /**
     * Starts (or joins, or finds in the cache) the lookup of {@code address}'s confirmed name and returns at once.
     * The future completes with the name (lookup form), or empty when there is none, none resolves back to the
     * address, or DNS failed; never exceptionally.
     */
    public CompletableFuture<Optional<String>> confirmedName(InetAddress address) {
        if (!looksUp(address)) return CompletableFuture.completedFuture(Optional.empty());
        CompletableFuture<Optional<String>> started;
        synchronized (cache) {
            Cached e = cache.get(address);
            if (e != null && (!e.name().isDone() || nanoClock.getAsLong() - e.expires() < 0)) return e.name();
            started = new CompletableFuture<>();
            cache.put(address, new Cached(started, 0));
        }
        Thread.ofVirtual().name("rdns-" + address.getHostAddress()).start(() -> lookUp(address, started));
        return started;
    }

    private void lookUp(InetAddress address, CompletableFuture<Optional<String>> result) {
        Optional<String> name = Optional.empty();
        Duration keep = FAILURE_TTL;
        try {
            Confirmed c = confirm(address);
            name = Optional.ofNullable(c.name());
            keep = c.ttl() < 0 ? NEGATIVE_TTL : Duration.ofSeconds(c.ttl());
        } catch (DnsException | RuntimeException e) {
            log.debug("reverse DNS of [{}] failed: {}", address.getHostAddress(), e.toString());
        } finally {
            // Whatever happened, the future completes: a session waits for it, and the cache must not keep it open.
            if (keep.compareTo(MAX_TTL) > 0) keep = MAX_TTL;
            long expires = nanoClock.getAsLong() + keep.toNanos();
            synchronized (cache) {
                Cached e = cache.get(address);
                if (e != null && e.name() == result) cache.put(address, new Cached(result, expires));
            }
            result.complete(name);
        }
    }

    /** The confirmed name or null, and the smallest TTL of the records that decided it (-1: none gave one). */
    private record Confirmed(String name, long ttl) {}

    private Confirmed confirm(InetAddress address) throws DnsException {
        DnsResolver.Answer<String> ptr = dns.ptr(address);
        long ttl = ptr.ttl();
        DnsException failure = null;
        List<String> names = ptr.values().stream().limit(MAX_NAMES).toList();
        for (String candidate : names) {
            // A PTR may hold any bytes; only a valid host name can be named in a record or a header.
            String host = Domains.toHostNameOrNull(candidate);
            if (host == null) continue;
            try {
                DnsResolver.Answer<InetAddress> forward = dns.addresses(host);
                if (forward.values().contains(address)) {
                    return new Confirmed(host, min(ttl, forward.ttl()));
                }
            } catch (DnsException e) {
                failure = e; // another name may still confirm; if none does, this was not a clean "no"
            }
        }
        if (failure != null) throw failure;
        return new Confirmed(null, names.isEmpty() ? -1 : ttl);
    }

    private static long min(long a, long b) {
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }
}
