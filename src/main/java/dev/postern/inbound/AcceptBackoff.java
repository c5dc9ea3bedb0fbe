package dev.postern.inbound;

import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;

/**
 * What an accepting thread does when accept() fails (EMFILE, ENFILE, ENOBUFS): the pending connection stays queued,
 * so trying again at once fails again, thousands of times a second. It waits instead, 10 ms doubling to 1 s, and logs
 * at most one line a second with the number of failures since the last one. A successful accept starts over.
 *
 * <p>Used by one accepting thread only.
 */
final class AcceptBackoff {
    static final Duration FIRST = Duration.ofMillis(10);
    static final Duration MAX = Duration.ofSeconds(1);
    private static final long LOG_INTERVAL_NANOS = Duration.ofSeconds(1).toNanos();

    private final Logger log;
    private final String listener;
    private long delayNanos;
    private long lastLog;
    private boolean loggedOnce;
    private int unlogged;

    AcceptBackoff(Logger log, String listener) {
        this.log = log;
        this.listener = listener;
    }

    /** Logs (rate-limited) and sleeps before the next attempt. */
    void failed(IOException e) {
        unlogged++;
        long now = System.nanoTime();
        if (!loggedOnce || now - lastLog >= LOG_INTERVAL_NANOS) {
            log.warn("accept failed on {} ({} time(s) since the last report): {}; retrying in up to {} ms", listener,
                    unlogged, e.getMessage(), MAX.toMillis());
            loggedOnce = true;
            lastLog = now;
            unlogged = 0;
        }
        delayNanos = delayNanos == 0 ? FIRST.toNanos() : Math.min(delayNanos * 2, MAX.toNanos());
        try {
            Thread.sleep(Duration.ofNanos(delayNanos));
        } catch (InterruptedException ie) {
            // nobody interrupts an accepting thread; keeping the flag would make every later sleep return at once
        }
    }

    /** Back to normal after an accept that worked. */
    void succeeded() {
        if (delayNanos == 0) return;
        if (unlogged > 0) log.warn("accept failed on {} {} more time(s); accepting again", listener, unlogged);
        else log.info("accepting again on {}", listener);
        delayNanos = 0;
        unlogged = 0;
    }
}
