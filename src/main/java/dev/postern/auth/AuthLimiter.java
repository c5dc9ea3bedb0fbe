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

/**
 * Slows down password guessing: after {@code maxFailures} failed AUTH attempts from one client within
 * {@code window}, AUTH from that client is refused with {@link #LOCKED_OUT} for {@code lockout}. A success forgets the
 * client's failures. IPv6 clients are counted per /64, because one host usually has a whole /64 to rotate through.
 *
 * <p>Memory is bounded: at most {@code maxClients} addresses are tracked; beyond that, entries that no longer matter
 * are dropped first, then the least recently seen. Thread-safe; AUTH is rare enough for one lock.
 */
public final class AuthLimiter {
    /** The reply to AUTH from a locked-out client (RFC 4954's temporary authentication failure). */
    public static final Reply LOCKED_OUT = Reply.of(454, "4.7.0",
            "Too many failed authentication attempts; try again later");

    private static final class Entry {
        final ArrayDeque<Instant> failures = new ArrayDeque<>();
        Instant lockedUntil;
    }

    private final int maxFailures;
    private final Duration window;
    private final Duration lockout;
    private final int maxClients;
    private final Clock clock;
    private final LinkedHashMap<String, Entry> clients = new LinkedHashMap<>(16, 0.75f, true); // access order

    /** 5 failures within 10 minutes lock a client out for 15 minutes; 10,000 clients tracked. */
    public AuthLimiter(Clock clock) {
        this(5, Duration.ofMinutes(10), Duration.ofMinutes(15), 10_000, clock);
    }

    public AuthLimiter(int maxFailures, Duration window, Duration lockout, int maxClients, Clock clock) {
        if (maxFailures < 1 || maxClients < 1 || window.isNegative() || window.isZero() || lockout.isNegative()) {
            throw new IllegalArgumentException("AuthLimiter: bad limits");
        }
        this.maxFailures = maxFailures;
        this.window = window;
        this.lockout = lockout;
        this.maxClients = maxClients;
        this.clock = clock;
    }

    /** Whether {@code client} may try AUTH now; when false, answer {@link #LOCKED_OUT}. */
    public synchronized boolean allowed(InetAddress client) {
        Entry e = clients.get(key(client));
        return e == null || !locked(e, clock.instant());
    }

    /** Records a failed attempt (a wrong user or password); may start a lockout. */
    public synchronized void failure(InetAddress client) {
        Instant now = clock.instant();
        Entry e = clients.computeIfAbsent(key(client), k -> new Entry());
        if (!locked(e, now)) e.lockedUntil = null;
        prune(e, now);
        e.failures.addLast(now);
        if (e.failures.size() >= maxFailures) {
            e.lockedUntil = now.plus(lockout);
            e.failures.clear();
        }
        if (clients.size() > maxClients) evict(now);
    }

    /** Records a successful login: the client's failures are forgotten. */
    public synchronized void success(InetAddress client) {
        clients.remove(key(client));
    }

    /** How many clients are tracked (for tests and metrics). */
    public synchronized int tracked() { return clients.size(); }

    private void prune(Entry e, Instant now) {
        Instant oldest = now.minus(window);
        while (!e.failures.isEmpty() && !e.failures.peekFirst().isAfter(oldest)) e.failures.removeFirst();
    }

    /**
     * Drops entries with nothing left to remember; if still too many, the least recently used of those that are not
     * locked out (so that a flood of new addresses does not free a locked-out one); then any.
     */
    private void evict(Instant now) {
        clients.values().removeIf(e -> {
            prune(e, now);
            return e.failures.isEmpty() && !locked(e, now);
        });
        for (Iterator<Entry> it = clients.values().iterator(); clients.size() > maxClients && it.hasNext(); ) {
            if (!locked(it.next(), now)) it.remove();
        }
        for (Iterator<Entry> it = clients.values().iterator(); clients.size() > maxClients && it.hasNext(); ) {
            it.next();
            it.remove();
        }
    }

    private static boolean locked(Entry e, Instant now) {
        return e.lockedUntil != null && now.isBefore(e.lockedUntil);
    }

    /** The address, or for IPv6 its /64. */
    private static String key(InetAddress client) {
        byte[] a = client.getAddress();
        return HexFormat.of().formatHex(client instanceof Inet6Address ? Arrays.copyOf(a, 8) : a);
    }
}
