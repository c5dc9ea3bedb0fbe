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

    /** Something a test runs while the log is captured. */
    @FunctionalInterface
    public interface Action {
        void run() throws Exception;
    }

    /** The lines {@code logger} logged while {@code action} ran. */
    public static java.util.List<String> during(Class<?> logger, Action action) throws Exception {
        ch.qos.logback.core.read.ListAppender<ILoggingEvent> logged = new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        ch.qos.logback.classic.Logger l = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(logger);
        l.addAppender(logged);
        try {
            action.run();
        } finally {
            l.detachAppender(logged);
        }
        return logged.list.stream().map(LogLines::line).toList();
    }
}
