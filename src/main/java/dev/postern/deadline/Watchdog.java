package dev.postern.deadline;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Closes a resource (a socket) when an armed deadline passes: arm before a blocking call, disarm after it. Closing
 * the socket makes the blocked read or write throw, so no thread can hang on a peer that stopped reading. One daemon
 * thread serves every deadline; arming and disarming are cheap (a scheduled task, cancelled and removed).
 *
 * <pre>{@code
 * try (Watchdog.Armed armed = Watchdog.shared().arm(timeout, socket)) {
 *     out.write(block);
 * } // disarmed; armed.fired() says whether the socket was closed for the deadline
 * }</pre>
 */
public final class Watchdog {
    private static final Watchdog SHARED = new Watchdog("deadline-watchdog");

    private final ScheduledThreadPoolExecutor timer;

    /** A watchdog with its own thread named {@code threadName}. */
    public Watchdog(String threadName) {
        timer = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().name(threadName).daemon(true).unstarted(r));
        timer.setRemoveOnCancelPolicy(true); // disarmed deadlines do not pile up in the queue
    }

    /** The process-wide watchdog. */
    public static Watchdog shared() {
        return SHARED;
    }

    /** One armed deadline; {@link #close()} disarms it. */
    public static final class Armed implements AutoCloseable {
        private final Duration limit;
        private volatile boolean fired;
        private ScheduledFuture<?> task;

        private Armed(Duration limit) {
            this.limit = limit;
        }

        /** True when the deadline passed and the resource was closed. */
        public boolean fired() {
            return fired;
        }

        /** The time the call was allowed. */
        public Duration limit() {
            return limit;
        }

        /** Disarms; harmless after the deadline fired. */
        @Override public void close() {
            task.cancel(false);
        }
    }

    /** Closes {@code target} unless the returned handle is closed within {@code limit}. */
    public Armed arm(Duration limit, Closeable target) {
        Armed armed = new Armed(limit);
        armed.task = timer.schedule(() -> {
            armed.fired = true;
            try {
                target.close();
            } catch (IOException ignored) {
                // closing is all we can do; the blocked caller sees the failure
            }
        }, Math.max(1, limit.toNanos()), TimeUnit.NANOSECONDS);
        return armed;
    }
}
