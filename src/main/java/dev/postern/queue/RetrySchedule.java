package dev.postern.queue;

import java.time.Duration;
import java.time.Instant;

/**
 * When to try again: exponential backoff from {@code first}, doubling, capped at {@code max}; messages older than
 * {@code lifetime} are bounced.
 */
public record RetrySchedule(Duration first, Duration max, Duration lifetime) {

    /** The next attempt after {@code attempts} failed attempts (1 → first, 2 → 2·first, ... ≤ max). */
    public Instant next(int attempts, Instant now) {
        throw new UnsupportedOperationException("TODO");
    }

    /** True when a message received at {@code received} has outlived its lifetime at {@code now}. */
    public boolean expired(Instant received, Instant now) {
        throw new UnsupportedOperationException("TODO");
    }
}
