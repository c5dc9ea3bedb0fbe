package dev.postern.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

/**
 * The one syntax of a duration, in the config file and on the command line alike: "30s", "5m", "1h30m", "500ms",
 * "7d", "2w" or ISO-8601 "PT5M". The range is the caller's business.
 */
public final class Durations {
    /** What a duration looks like, as error lines say it ("expected " + EXPECTED + ", got ..."). */
    public static final String EXPECTED = "a duration like 30s, 5m, 1h, 7d, 2w or PT5M";

    private static final Pattern PART = Pattern.compile("(\\d{1,9})(ms|s|m|h|d|w)");
    private static final Pattern TEXT = Pattern.compile("(?:\\d{1,9}(?:ms|s|m|h|d|w))+");

    private Durations() {}

    /**
     * @throws IllegalArgumentException "expected a duration like ..., got TEXT" (the caller names the key or option)
     */
    public static Duration parse(String s) {
        if (s.startsWith("P") || s.startsWith("p")) {
            try {
                return Duration.parse(s);
            } catch (DateTimeParseException e) {
                throw Syntax.invalid(EXPECTED, s);
            }
        }
        if (!TEXT.matcher(s).matches()) throw Syntax.invalid(EXPECTED, s);
        Duration total = Duration.ZERO;
        var m = PART.matcher(s);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofDays(7 * n);
            });
        }
        return total;
    }

    /** What a point in time looks like, as error lines say it. */
    public static final String POINT = EXPECTED + ", or a time like 2026-12-01T00:00Z or a date like 2026-12-01";

    /**
     * A point in time as the command line and the admin API take it ({@code --since 7d}, {@code ?since=7d}): a
     * duration back from {@code now} ({@code back}) or ahead of it, an ISO time, or a date (midnight UTC).
     *
     * @throws IllegalArgumentException "expected ..., got TEXT" or "TEXT is too far from now"
     */
    public static java.time.Instant point(String s, java.time.Instant now, boolean back) {
        try {
            Duration d = parse(s);
            return back ? now.minus(d) : now.plus(d);
        } catch (IllegalArgumentException e) {
            // not a duration: a time?
        } catch (java.time.DateTimeException | ArithmeticException e) {
            throw new IllegalArgumentException(s + " is too far from now");
        }
        try {
            return java.time.OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            // not a time: a date?
        }
        try {
            return java.time.LocalDate.parse(s).atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("expected " + POINT + ", got \"" + s + "\"");
        }
    }

    /** The shortest of our own notations for {@code d}, e.g. "1h30m"; used in messages and docs. */
    public static String format(Duration d) {
        if (d.isZero()) return "0s";
        var b = new StringBuilder();
        long days = d.toDays();
        if (days > 0) b.append(days).append('d');
        if (d.toHoursPart() > 0) b.append(d.toHoursPart()).append('h');
        if (d.toMinutesPart() > 0) b.append(d.toMinutesPart()).append('m');
        if (d.toSecondsPart() > 0) b.append(d.toSecondsPart()).append('s');
        if (d.toMillisPart() > 0) b.append(d.toMillisPart()).append("ms");
        return b.toString();
    }
}
