package dev.postern.outbound;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Open SMTP connections waiting for their next message, by key (next hop, address, TLS policy), like Postfix's
 * connection cache: a message to a busy destination reuses a connection, with its TLS session, instead of paying
 * for a new TCP and TLS handshake. A connection idle longer than {@code idleNanos} is closed.
 */
final class IdleConnections<K, C> {
    private record Parked<C>(C connection, long since) {}

    private final Map<K, Deque<Parked<C>>> idle = new HashMap<>();
    private final long idleNanos;
    private final Consumer<C> closer;

    IdleConnections(long idleNanos, Consumer<C> closer) {
        this.idleNanos = idleNanos;
        this.closer = closer;
    }

    /** A connection parked under {@code key} that has not been idle too long, or null. */
    C take(K key) {
        long now = System.nanoTime();
        while (true) {
            Parked<C> p;
            synchronized (this) {
                Deque<Parked<C>> q = idle.get(key);
                p = q == null ? null : q.pollLast(); // the most recently used is the most likely still open
                if (q != null && q.isEmpty()) idle.remove(key);
            }
            if (p == null) return null;
            if (now - p.since() <= idleNanos) return p.connection();
            closer.accept(p.connection());
        }
    }

    void park(K key, C connection) {
        synchronized (this) {
            idle.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(new Parked<>(connection, System.nanoTime()));
        }
    }

    /** Closes the connections idle for too long. */
    void sweep() {
        long now = System.nanoTime();
        Deque<C> expired = new ArrayDeque<>();
        synchronized (this) {
            for (Iterator<Deque<Parked<C>>> queues = idle.values().iterator(); queues.hasNext(); ) {
                Deque<Parked<C>> q = queues.next();
                while (!q.isEmpty() && now - q.peekFirst().since() > idleNanos) expired.add(q.pollFirst().connection());
                if (q.isEmpty()) queues.remove();
            }
        }
        expired.forEach(closer);
    }

    /** Closes every parked connection. */
    void closeAll() {
        Deque<C> all = new ArrayDeque<>();
        synchronized (this) {
            idle.values().forEach(q -> q.forEach(p -> all.add(p.connection())));
            idle.clear();
        }
        all.forEach(closer);
    }
}
