package dev.postern.auth;

import dev.postern.smtp.Reply;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.function.BiPredicate;

/**
 * Slows down password guessing without letting one user's typos lock out everybody behind the same NAT.
 *
 * <p>Failures are counted per (client, user name), a client being its address (an IPv6 client its /64, as one host
 * usually has a whole /64 to rotate through). After {@code maxFailures} failures within {@code window}, that user is
 * locked out from that client for {@code lockout}; every further failure doubles the lockout, up to
 * {@code maxLockout}. A success forgets that user's failures from that client. Other users behind the same address
 * are not affected.
 *
 * <p>Independently, {@code networkMaxFailures} failures from one network (IPv4 /{@code ipv4Prefix}, IPv6
 * /{@code ipv6Prefix}) within {@code window}, whatever the user names, lock the whole network out for
 * {@code networkLockout}: this stops guessing that spreads over many names or addresses.
 *
 * <p>Memory is bounded: at most {@code maxTracked} (client, user) pairs and as many networks; beyond that, entries that
 * no longer matter are dropped first, then the least recently seen that are not locked out, then any. Thread-safe;
 * AUTH is rare enough for one lock.
 */
public final class AuthLimiter {
    /** The reply to AUTH from a locked-out client or user (RFC 4954's temporary authentication failure). */
    public static final Reply LOCKED_OUT = Reply.of(454, "4.7.0",
            "Too many failed authentication attempts; try again later");

    /** User names longer than this are counted by their beginning (a valid name has at most 64 characters). */
    private static final int MAX_NAME = 256;

    private static final class UserEntry {
        int failures;
        Instant lastFailure;
        Instant lockedUntil;
    }

    private static final class NetworkEntry {
        final ArrayDeque<Instant> failures = new ArrayDeque<>();
        Instant lockedUntil;
    }

    /**
     * The limits (the gateway takes them from {@code [auth]}); see the class comment for what each means.
     */
    public record Limits(int maxFailures, Duration window, Duration lockout, Duration maxLockout,
                         int networkMaxFailures, Duration networkLockout, int ipv4Prefix, int ipv6Prefix) {
        /**
         * 5 failures per (client, user) in 15 minutes: 1 minute out, doubling up to 1 hour; 50 per /24 or /48. The
         * IPv6 network is a site's /48, coarser than the /64 that is one client: with /64, a guesser rotating
         * through the 65,536 /64s of its /48 would meet no network cap at all.
         */
        public static final Limits DEFAULT = new Limits(5, Duration.ofMinutes(15), Duration.ofMinutes(1),
                Duration.ofHours(1), 50, Duration.ofMinutes(15), 24, 48);
    }

    private final Limits limits;
    private final int maxTracked;
    private final Clock clock;
    private final LinkedHashMap<String, UserEntry> users = new LinkedHashMap<>(16, 0.75f, true); // access order
    private final LinkedHashMap<String, NetworkEntry> networks = new LinkedHashMap<>(16, 0.75f, true);

    /** The default limits; 10,000 entries tracked. */
    public AuthLimiter(Clock clock) {
        this(Limits.DEFAULT, 10_000, clock);
    }

    public AuthLimiter(Limits limits, Clock clock) {
        this(limits, 10_000, clock);
    }

    public AuthLimiter(Limits limits, int maxTracked, Clock clock) {
        if (limits.maxFailures() < 1 || limits.networkMaxFailures() < 1 || maxTracked < 1
                || !limits.window().isPositive() || limits.lockout().isNegative()
                || limits.maxLockout().compareTo(limits.lockout()) < 0 || limits.networkLockout().isNegative()) {
            throw new IllegalArgumentException("AuthLimiter: bad limits " + limits);
        }
        this.limits = limits;
        this.maxTracked = maxTracked;
        this.clock = clock;
    }

    /** Whether {@code client}'s network may try AUTH now; when false, answer {@link #LOCKED_OUT}. */
    public synchronized boolean allowed(InetAddress client) {
        NetworkEntry n = networks.get(networkKey(client));
        return n == null || !before(clock.instant(), n.lockedUntil);
    }

    /**
     * Whether {@code user} may authenticate from {@code client} now: neither the network nor this (client, user) is
     * locked out. When false, the credentials must not be checked and the answer is {@link #LOCKED_OUT}.
     */
    public synchronized boolean allowed(InetAddress client, String user) {
        if (!allowed(client)) return false;
        UserEntry e = users.get(userKey(client, user));
        return e == null || !before(clock.instant(), e.lockedUntil);
    }

    /** Records a failed attempt (a wrong user or password); may start a lockout of the user or of the network. */
    public synchronized void failure(InetAddress client, String user) {
        Instant now = clock.instant();
        UserEntry e = users.computeIfAbsent(userKey(client, user), k -> new UserEntry());
        if (forgotten(e, now)) e.failures = 0;
        e.failures++;
        e.lastFailure = now;
        if (e.failures >= limits.maxFailures()) {
            int doublings = Math.min(e.failures - limits.maxFailures(), 40);
            Duration lockout = limits.lockout().multipliedBy(1L << doublings);
            e.lockedUntil = now.plus(lockout.compareTo(limits.maxLockout()) > 0 ? limits.maxLockout() : lockout);
        }
        NetworkEntry n = networks.computeIfAbsent(networkKey(client), k -> new NetworkEntry());
        prune(n, now);
        n.failures.addLast(now);
        if (n.failures.size() >= limits.networkMaxFailures()) {
            n.lockedUntil = now.plus(limits.networkLockout());
            n.failures.clear();
        }
        evict(users, (k, u) -> forgotten(u, now), (k, u) -> before(now, u.lockedUntil));
        evict(networks, (k, x) -> {
            prune(x, now);
            return x.failures.isEmpty() && !before(now, x.lockedUntil);
        }, (k, x) -> before(now, x.lockedUntil));
    }

    /** Records a successful login: that user's failures from that client are forgotten (the network's are not). */
    public synchronized void success(InetAddress client, String user) {
        users.remove(userKey(client, user));
    }

    /** How many (client, user) pairs are tracked (for tests and metrics). */
    public synchronized int tracked() { return users.size(); }

    /** How many networks are tracked (for tests and metrics). */
    public synchronized int trackedNetworks() { return networks.size(); }

    /** Nothing left to remember: no failure within the window, counted from the end of any lockout. */
    private boolean forgotten(UserEntry e, Instant now) {
        if (e.lastFailure == null) return true;
        Instant last = e.lockedUntil != null && e.lockedUntil.isAfter(e.lastFailure) ? e.lockedUntil : e.lastFailure;
        return !now.isBefore(last.plus(limits.window()));
    }

    private void prune(NetworkEntry n, Instant now) {
        Instant oldest = now.minus(limits.window());
        while (!n.failures.isEmpty() && !n.failures.peekFirst().isAfter(oldest)) n.failures.removeFirst();
    }

    /**
     * Keeps a map within {@code maxTracked}: drops entries with nothing left to remember; if still too many, the least
     * recently used of those that are not locked out (so that a flood of new names does not free a locked-out one);
     * then any.
     */
    private <E> void evict(LinkedHashMap<String, E> map, BiPredicate<String, E> stale, BiPredicate<String, E> locked) {
        if (map.size() <= maxTracked) return;
        map.entrySet().removeIf(x -> stale.test(x.getKey(), x.getValue()));
        for (Iterator<java.util.Map.Entry<String, E>> it = map.entrySet().iterator();
             map.size() > maxTracked && it.hasNext(); ) {
            var x = it.next();
            if (!locked.test(x.getKey(), x.getValue())) it.remove();
        }
        for (Iterator<E> it = map.values().iterator(); map.size() > maxTracked && it.hasNext(); ) {
            it.next();
            it.remove();
        }
    }

    private static boolean before(Instant now, Instant until) {
        return until != null && now.isBefore(until);
    }

    /** The address, or for IPv6 its /64, and the user name. */
    private static String userKey(InetAddress client, String user) {
        byte[] a = client.getAddress();
        String name = user == null ? "" : user.length() > MAX_NAME ? user.substring(0, MAX_NAME) : user;
        return HexFormat.of().formatHex(client instanceof Inet6Address ? Arrays.copyOf(a, 8) : a) + " " + name;
    }

    /** The client's network: its address with only the configured prefix kept, and the prefix length. */
    private String networkKey(InetAddress client) {
        byte[] a = client.getAddress();
        int prefix = client instanceof Inet6Address ? limits.ipv6Prefix() : limits.ipv4Prefix();
        for (int i = 0; i < a.length; i++) {
            int keep = Math.clamp(prefix - i * 8L, 0, 8);
            a[i] &= (byte) (0xff << (8 - keep));
        }
        return HexFormat.of().formatHex(a) + "/" + prefix;
    }
}
