package dev.postern.peers;

import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A session below the level remembered for its domain, as the one text both sides write it ("downgrade: D was seen at
 * L since T, ..."; {@code outbound.TlsPlanner.Floor} and {@code inbound.SenderMemory}) and read back from the audit
 * records that carry it (the alerts: a session record's would-fail list, no-TLS detail or policy source detail).
 *
 * @param domain the domain, lookup form
 * @param level  the level remembered for it
 */
public record Downgrade(String domain, Level level) {
    private static final String PREFIX = "downgrade: ";
    private static final Pattern TEXT = Pattern.compile(
            "(?:^|[\\s;:])" + PREFIX + "([^\\s;]+) was seen at ([a-z]+) since ");

    /** "downgrade: D was seen at L since T": the start of every downgrade reason. */
    public static String text(String domain, Level level, Instant since) {
        return PREFIX + domain + " was seen at " + level.word() + " since " + Seen.time(since);
    }

    /** The downgrade a text names (anywhere in it), or null. */
    public static Downgrade find(String text) {
        if (text == null || !text.contains(PREFIX)) return null;
        Matcher m = TEXT.matcher(text);
        if (!m.find()) return null;
        Level level = Level.parse(m.group(2));
        return level == null ? null : new Downgrade(m.group(1), level);
    }
}
