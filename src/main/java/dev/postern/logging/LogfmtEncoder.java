package dev.postern.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.slf4j.event.KeyValuePair;

/**
 * One logfmt line per event: {@code time level logger msg}, the MDC (the session id), the event's key-value pairs,
 * then {@code error} (and {@code stack} at debug). Written here because no maintained logback encoder for logfmt
 * exists on Maven Central (logstash-logback-encoder writes JSON only; its pattern layouts leave quoting to the
 * pattern, which is how {@code policy-source="... "x""} broke parsing before).
 *
 * <p>Keys are {@code [a-z0-9_.-]+} (anything else becomes {@code _}). A value is written bare when it is non-empty
 * and has only printable characters other than space, {@code =}, {@code "} and {@code \}; otherwise it is quoted,
 * with {@code "} and {@code \} escaped by a backslash, {@code \n \r \t} as such and every other control or
 * line-separating character (C0, DEL, C1, U+2028, U+2029) as {@code \}{@code uXXXX}: a line never holds a raw
 * newline or terminal escape, whoever chose the text. A null value leaves its pair out.
 */
public final class LogfmtEncoder extends EncoderBase<ILoggingEvent> {
    private static final DateTimeFormatter SECOND =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(ZoneId.systemDefault());
    private static final DateTimeFormatter OFFSET = DateTimeFormatter.ofPattern("XXX").withZone(ZoneId.systemDefault());

    /** The time formatted to the second, and its zone offset, for the second of {@code second}: formatted once a second. */
    private record Second(long second, String text, String offset) {}

    private static volatile Second lastSecond = new Second(Long.MIN_VALUE, "", "");
    private static final String SESSION = "session";
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    @Override public byte[] headerBytes() { return null; }

    @Override public byte[] footerBytes() { return null; }

    @Override public byte[] encode(ILoggingEvent event) {
        StringBuilder b = new StringBuilder(512);
        b.append("time=");
        time(b, event.getTimeStamp());
        b.append(" level=").append(level(event.getLevel()));
        b.append(" logger=");
        String logger = event.getLoggerName();
        value(b, logger.substring(logger.lastIndexOf('.') + 1));
        b.append(" msg=");
        value(b, event.getFormattedMessage());
        fields(b, event);
        b.append('\n');
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {@code 2026-12-03T04:17:52.123Z}: local time with milliseconds and the offset. */
    private static void time(StringBuilder b, long millis) {
        long second = Math.floorDiv(millis, 1000);
        Second s = lastSecond;
        if (s.second() != second) {
            java.time.Instant at = java.time.Instant.ofEpochSecond(second);
            s = new Second(second, SECOND.format(at), OFFSET.format(at));
            lastSecond = s;
        }
        int ms = (int) Math.floorMod(millis, 1000);
        b.append(s.text()).append('.').append((char) ('0' + ms / 100)).append((char) ('0' + ms / 10 % 10))
                .append((char) ('0' + ms % 10)).append(s.offset());
    }

    /** The event's fields after {@code msg}, each with a leading space: MDC, key-value pairs, error (tests use it). */
    public static void fields(StringBuilder b, ILoggingEvent event) {
        Map<String, String> mdc = event.getMDCPropertyMap();
        if (mdc != null && !mdc.isEmpty()) {
            pair(b, SESSION, mdc.get(SESSION)); // first, for the eye; the rest in the map's order
            for (Map.Entry<String, String> e : mdc.entrySet()) {
                if (!e.getKey().equals(SESSION)) pair(b, e.getKey(), e.getValue());
            }
        }
        keyValues(b, event);
        IThrowableProxy t = event.getThrowableProxy();
        if (t != null) {
            pair(b, "error", describe(t));
            if (debug(event)) pair(b, "stack", stack(t));
        }
    }

    /** The event's own key-value pairs, each with a leading space. */
    public static void keyValues(StringBuilder b, ILoggingEvent event) {
        List<KeyValuePair> pairs = event.getKeyValuePairs();
        if (pairs != null) for (KeyValuePair p : pairs) pair(b, p.key, p.value);
    }

    private static boolean debug(ILoggingEvent event) {
        return event.getLevel().levelInt <= Level.DEBUG_INT || org.slf4j.LoggerFactory.getLogger(
                org.slf4j.Logger.ROOT_LOGGER_NAME).isDebugEnabled();
    }

    private static void pair(StringBuilder b, String key, Object value) {
        if (value == null || key == null) return;
        b.append(' ');
        key(b, key);
        b.append('=');
        value(b, String.valueOf(value));
    }

    private static String level(Level l) {
        return switch (l.levelInt) {
            case Level.ERROR_INT -> "error";
            case Level.WARN_INT -> "warn";
            case Level.INFO_INT -> "info";
            case Level.DEBUG_INT -> "debug";
            default -> "trace";
        };
    }

    static void key(StringBuilder b, String key) {
        if (key.isEmpty()) {
            b.append('_');
            return;
        }
        int i = 0;
        while (i < key.length() && keyChar(key.charAt(i))) i++;
        if (i == key.length()) { // ours always are: one append
            b.append(key);
            return;
        }
        b.append(key, 0, i);
        for (; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c >= 'A' && c <= 'Z') c = (char) (c + 32);
            b.append(keyChar(c) ? c : '_');
        }
    }

    private static boolean keyChar(char c) {
        return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-';
    }

    static void value(StringBuilder b, String v) {
        if (bare(v)) {
            b.append(v);
            return;
        }
        b.append('"');
        int run = 0; // the start of the characters not yet appended that need no escape: appended in one go
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c != '"' && c != '\\' && !control(c)) continue;
            b.append(v, run, i);
            run = i + 1;
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> b.append("\\u").append(HEX[c >> 12]).append(HEX[c >> 8 & 15]).append(HEX[c >> 4 & 15])
                        .append(HEX[c & 15]);
            }
        }
        b.append(v, run, v.length()).append('"');
    }

    private static boolean bare(String v) {
        if (v.isEmpty()) return false;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == ' ' || c == '=' || c == '"' || c == '\\' || control(c)) return false;
        }
        return true;
    }

    private static boolean control(char c) {
        return c < 0x20 || c >= 0x7f && c <= 0x9f || c == '\u2028' || c == '\u2029';
    }

    /** {@code Class: message; caused by Class: message} on one line. */
    private static String describe(IThrowableProxy t) {
        StringBuilder b = new StringBuilder();
        for (int depth = 0; t != null && depth < 8; t = t.getCause(), depth++) {
            if (depth > 0) b.append("; caused by ");
            b.append(t.getClassName());
            if (t.getMessage() != null) b.append(": ").append(t.getMessage());
        }
        return b.toString();
    }

    private static String stack(IThrowableProxy t) {
        StringBuilder b = new StringBuilder();
        for (int depth = 0; t != null && depth < 8; t = t.getCause(), depth++) {
            if (depth > 0) b.append("Caused by: ").append(t.getClassName()).append(": ").append(t.getMessage())
                    .append('\n');
            for (StackTraceElementProxy s : t.getStackTraceElementProxyArray()) b.append(s.getSTEAsString()).append('\n');
        }
        return b.toString();
    }
}
