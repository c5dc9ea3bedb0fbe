/**
 * SMTP TLS Reporting (RFC 8460), both ways, over one model of the report ({@link Report}, the RFC's JSON names).
 * Sent: each day, the outbound TLS sessions of the UTC day before are grouped per policy domain and policy type into a
 * report ({@link Aggregate}) and sent, gzipped, to the addresses of the domain's {@code _smtp._tls} record
 * ({@link RuaRecord}) by mail ({@link ReportMessage}, queued through {@code Scheduler.submit}) or HTTPS, once only
 * ({@link TlsRptSender}, {@link SentMarkers}). Received: reports others send about our domains, by mail to
 * {@code [tls_rpt] receive_address} or by HTTP POST ({@link ReportRoutes}), are bounded and unpacked
 * ({@link ReportBytes}, {@link MimeReport}), checked strictly ({@link ReportReader}: the model itself checks nothing)
 * and recorded once per policy domain as {@code TlsRptRecord}s ({@link ReportReceiver}), for the API and
 * {@code postern report tlsrpt} ({@link ReportSummary}). See docs/monitoring.md.
 */
package dev.postern.tlsrpt;
