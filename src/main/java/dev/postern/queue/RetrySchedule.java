package dev.postern.queue;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;

/**
 * When to try again: exponential backoff from {@code first}, doubling, capped at {@code max}; messages older than
 * {@code lifetime} are bounced. Arithmetic saturates instead of overflowing, so absurd configurations or attempt
 * counts give {@link Instant#MAX}-bounded answers rather than exceptions.
 */
public record RetrySchedule(Duration first, Duration max, Duration lifetime) {

    private static final Duration LONGEST = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);

    /**
     * The next attempt after {@code attempts} failed attempts (1 → first, 2 → 2·first, ... ≤ max); 0 or fewer
     * attempts count as 1. The delay never exceeds {@code max}, even if {@code first} does.
     */
    public Instant next(int attempts, Instant now) {
        Duration delay = first.isNegative() ? Duration.ZERO : first;
        for (int i = 1; i < attempts && delay.compareTo(max) < 0 && !delay.isZero(); i++) {
            delay = doubled(delay);
        }
        if (delay.compareTo(max) > 0) {
            delay = max.isNegative() ? Duration.ZERO : max;
        }
        return plus(now, delay);
    }

    /** True when a message received at {@code received} has outlived its lifetime at {@code now}. */
    public boolean expired(Instant received, Instant now) {
        return now.isAfter(plus(received, lifetime));
    }

    private static Duration doubled(Duration d) {
        try {
            return d.multipliedBy(2);
        } catch (ArithmeticException overflow) {
            return LONGEST;
        }
    }

    private static Instant plus(Instant t, Duration d) {
        try {
            return t.plus(d);
        } catch (DateTimeException | ArithmeticException overflow) {
            return d.isNegative() ? Instant.MIN : Instant.MAX;
        }
    }

}
