package dev.postern.cli;

import dev.postern.config.Durations;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * Times on the command line, the same for every command: a duration in the config file's syntax
 * ({@link Durations}), and a point in time given as a duration from now, an ISO time or a date (midnight UTC).
 */
final class TimeOptions {
    static final String POINT = Durations.EXPECTED + ", or a time like 2026-12-01T00:00Z or a date like 2026-12-01";

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
            Duration d = Durations.parse(s);
            return back ? now.minus(d) : now.plus(d);
        } catch (IllegalArgumentException e) {
            // not a duration: a time?
        } catch (DateTimeException | ArithmeticException e) {
            throw new CliException("postern: " + option + ": " + s + " is too far from now", 2);
        }
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            // not a time: a date?
        }
        try {
            return LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
        } catch (DateTimeParseException e) {
            throw new CliException("postern: " + option + ": expected " + POINT + ", got \"" + s + "\"", 2);
        }
    }
}
