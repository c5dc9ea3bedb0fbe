package dev.postern.deadline;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Deadlines for blocking I/O that the I/O itself cannot bound (a write to a peer that stops reading, a read that a
 * trickle of bytes keeps alive): when a deadline passes, its target (a socket) is closed, which ends any read or write
 * blocked on it with an IOException. One daemon thread looks at every armed deadline each tick; arming and disarming
 * are one volatile write each, cheap enough to surround every read and write.
 *
 * <p>Self-contained on purpose: it knows nothing of SMTP and can guard any {@link Closeable}.
 */
public final class IoWatchdog implements Closeable {
    private static final long DISARMED = Long.MIN_VALUE;

    private final Set<Deadline> watched = ConcurrentHashMap.newKeySet();
    private final long tickNanos;
    private final Thread thread;
    private volatile boolean closed;

    /** @param tick how often deadlines are checked: a deadline fires at most this much late */
    public IoWatchdog(String name, Duration tick) {
        this.tickNanos = tick.toNanos();
        this.thread = Thread.ofPlatform().daemon().name(name).start(this::run);
    }

    /** Watches {@code target} (disarmed at first) until the returned deadline is closed. */
    public Deadline watch(Closeable target) {
        Deadline d = new Deadline(target);
        watched.add(d);
        return d;
    }

    /** How many targets are being watched (for tests: none are left behind). */
    public int watching() { return watched.size(); }

    /** One guarded target and its current deadline. Arm and disarm from the thread doing the I/O. */
    public final class Deadline implements AutoCloseable {
        private final Closeable target;
        /** {@link System#nanoTime()} at which the target is closed, or {@link #DISARMED}. */
        private volatile long expiresAt = DISARMED;
        private volatile boolean fired;

        private Deadline(Closeable target) { this.target = target; }

        /** Closes the target at {@code nanoTime} (a {@link System#nanoTime()} value) unless disarmed before. */
        public void arm(long nanoTime) {
            expiresAt = nanoTime == DISARMED ? nanoTime + 1 : nanoTime;
        }

        public void disarm() { expiresAt = DISARMED; }

        /** True once the watchdog has closed the target. */
        public boolean fired() { return fired; }

        /** Stops watching (the target itself is left alone). */
        @Override public void close() {
            expiresAt = DISARMED;
            watched.remove(this);
        }

        private void check(long now) {
            long at = expiresAt;
            if (at == DISARMED || now - at < 0) return;
            expiresAt = DISARMED;
            fired = true;
            // Closing may block (a TLS socket wants to send close_notify); never stall the other deadlines for it.
            Thread.ofVirtual().name("io-watchdog-close").start(() -> {
                try {
                    target.close();
                } catch (IOException | RuntimeException ignored) {
                    // closed or not, the blocked I/O has ended or will fail
                }
            });
        }
    }

    private void run() {
        while (!closed) {
            LockSupport.parkNanos(tickNanos);
            long now = System.nanoTime();
            for (Deadline d : watched) d.check(now);
        }
    }

    /** Stops the watchdog thread; targets still watched are not closed. */
    @Override public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
