package dev.postern.peers;

import java.time.Instant;

/**
 * What one direction of a domain has shown.
 *
 * @param level     the highest level seen (never lowered by sessions; only {@code postern domains forget} clears it)
 * @param since     when that level was first reached
 * @param firstSeen the first session with the domain in this direction
 * @param lastSeen  the latest session (written on a debounce, so up to the flush interval behind after a crash)
 */
public record Seen(Level level, Instant since, Instant firstSeen, Instant lastSeen) {

    /** A time as messages show it: ISO-8601 to the second ("2026-12-01T09:12:44Z"). */
    public static String time(Instant t) {
        return t.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    }

    /** This after a session at {@code achieved} at {@code at}: the level only rises. */
    Seen after(Level achieved, Instant at) {
        Instant last = at.isAfter(lastSeen) ? at : lastSeen;
        return achieved.above(level) ? new Seen(achieved, at, firstSeen, last)
                : new Seen(level, since, firstSeen, last);
    }

    static Seen first(Level achieved, Instant at) {
        return new Seen(achieved, at, at, at);
    }
}
