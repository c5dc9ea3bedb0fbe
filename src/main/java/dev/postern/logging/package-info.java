/**
 * How log lines are written: one line per event, in logfmt ({@link dev.postern.logging.LogfmtEncoder}, the default)
 * or JSON (logstash-logback-encoder), chosen by {@code [log] format} or {@code POSTERN_LOG_FORMAT}
 * ({@link dev.postern.logging.LogEncoder}); and the one rule for an untrusted string on a log line
 * ({@link dev.postern.logging.Untrusted}). Events carry their fields as SLF4J key-value pairs and the session id as
 * MDC, so both formats render the same fields. Uses no package of ours.
 */
package dev.postern.logging;
