package dev.postern.testkit;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.postern.logging.LogfmtEncoder;

/** What a test reads of a captured log event: "msg key=value ...", the fields as the logfmt encoder writes them. */
public final class LogLines {
    private LogLines() {}

    public static String line(ILoggingEvent e) {
        StringBuilder b = new StringBuilder(e.getFormattedMessage());
        LogfmtEncoder.keyValues(b, e);
        return b.toString();
    }
}
