package dev.postern.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.EncoderBase;
import java.util.Locale;
import net.logstash.logback.encoder.LogstashEncoder;

/**
 * The encoder logback.xml names: writes each event in the current {@link Format}. The format is process-wide and
 * switched at once by {@link #use} (from {@code [log] format} when {@code serve} has read its config), without
 * stopping the appender, so no line is lost or written half in one format. Until then it is
 * {@code POSTERN_LOG_FORMAT}, else logfmt.
 */
public final class LogEncoder extends EncoderBase<ILoggingEvent> {
    /** The formats of {@code [log] format} and {@code POSTERN_LOG_FORMAT}. */
    public enum Format {
        LOGFMT, JSON;

        public String word() { return name().toLowerCase(Locale.ROOT); }

        /** The format named {@code word} (any case), or null. */
        public static Format of(String word) {
            for (Format f : values()) if (f.word().equalsIgnoreCase(word.strip())) return f;
            return null;
        }
    }

    /** The environment variable that chooses the format before (and over) the config file. */
    public static final String ENV = "POSTERN_LOG_FORMAT";

    private static volatile Format current = fromEnvironment();

    private final LogfmtEncoder logfmt = new LogfmtEncoder();
    /** Made on first use: a gateway writing logfmt never loads Jackson's JSON generator for its logs. */
    private volatile Encoder<ILoggingEvent> json;

    /** Switches every line from now on to {@code format}. */
    public static void use(Format format) {
        current = format;
    }

    public static Format current() {
        return current;
    }

    /** The format {@code POSTERN_LOG_FORMAT} names, or null when it is unset, empty or names none. */
    public static Format fromEnvironment() {
        String v = System.getenv(ENV);
        return v == null || v.isBlank() ? Format.LOGFMT : Format.of(v) == null ? Format.LOGFMT : Format.of(v);
    }

    @Override public void start() {
        logfmt.setContext(getContext());
        logfmt.start();
        super.start();
    }

    @Override public byte[] headerBytes() { return null; }

    @Override public byte[] footerBytes() { return null; }

    @Override public byte[] encode(ILoggingEvent event) {
        return current == Format.JSON ? json().encode(event) : logfmt.encode(event);
    }

    private Encoder<ILoggingEvent> json() {
        Encoder<ILoggingEvent> j = json;
        if (j == null) {
            synchronized (this) {
                if (json == null) {
                    LogstashEncoder e = new LogstashEncoder();
                    e.setContext(getContext());
                    e.start();
                    json = e;
                }
                j = json;
            }
        }
        return j;
    }
}
