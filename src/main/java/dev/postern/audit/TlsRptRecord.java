package dev.postern.audit;

import java.time.Instant;

/**
 * An SMTP TLS report (RFC 8460): one Postern sent about a policy domain it delivered to (OUT), or one a sender sent
 * about a domain of ours (IN).
 *
 * @param direction    OUT: we sent it; IN: we received it
 * @param reportId     the report's {@code report-id}
 * @param organization the {@code organization-name} of the report's maker (ours for OUT)
 * @param policyDomain the policy domain the report is about (lookup form)
 * @param start        the report's {@code date-range.start-datetime}
 * @param end          the report's {@code date-range.end-datetime}
 * @param successful   {@code total-successful-session-count} summed over the report's policies
 * @param failed       {@code total-failure-session-count} summed over the report's policies
 * @param peer         OUT: where it went ("mailto:tlsrpt@bank.example", "https://..."); IN: who handed it to us (the
 *                     envelope sender and client address, or the HTTP client)
 * @param outcome      OUT: "queued" (mailto: in our queue), "sent" (https: accepted), "failed: REASON"; IN: "accepted"
 * @param json         the report's JSON (uncompressed), as sent or received
 */
public record TlsRptRecord(Instant at, Direction direction, String reportId, String organization,
                           String policyDomain, Instant start, Instant end, long successful, long failed,
                           String peer, String outcome, String json) implements AuditRecord {

    public enum Direction { IN, OUT }
}
