package dev.postern.cli;

import dev.postern.config.Durations;
import java.time.Duration;
import java.time.Instant;

/**
 * Times on the command line, the same for every command: a duration in the config file's syntax
 * ({@link Durations}), and a point in time given as a duration from now, an ISO time or a date (midnight UTC).
 */
final class TimeOptions {

    private TimeOptions() {}

    /** A duration ({@code --expiring 30d}); one line naming {@code option} otherwise. */
    static Duration duration(String option, String s) throws CliException {
        try {
            return Durations.parse(s);
        } catch (IllegalArgumentException e) {
            throw new CliException("postern: " + option + ": expected " + Durations.EXPECTED + ", got \"" + s + "\"",
                    2);
        }
    }

    /** A point in the past ({@code --since 7d}): a duration back from {@code now}, a time or a date. */
    static Instant since(String option, String s, Instant now) throws CliException {
        return point(option, s, now, true);
    }

    /** A point in the future ({@code --until 2h}): a duration ahead of {@code now}, a time or a date. */
    static Instant until(String option, String s, Instant now) throws CliException {
        return point(option, s, now, false);
    }

    private static Instant point(String option, String s, Instant now, boolean back) throws CliException {
        try {
            return Durations.point(s, now, back);
        } catch (IllegalArgumentException e) {
            throw new CliException("postern: " + option + ": " + e.getMessage(), 2);
        }
    }
}
