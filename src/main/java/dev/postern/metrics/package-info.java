/**
 * Prometheus metrics: the audit records as they are made ({@link dev.postern.metrics.RecordMeter}, an observer on
 * {@link dev.postern.audit.Fanout}) and gauges read when scraped (queue, audit writer, certificates), in one
 * Micrometer registry served as {@code GET /metrics} by the admin server. Names, labels and their meaning:
 * docs/monitoring.md, section "Metrics".
 */
package dev.postern.metrics;
