package dev.postern.audit;

import java.time.Instant;

/**
 * An alert changed state: it started firing, or what fired has recovered. Alerts are de-duplicated by {@code key}:
 * one FIRING record when a condition starts and one RECOVERED record when it ends, never a record per occurrence.
 *
 * @param key      what the alert is about, stable across occurrences ("enforced-delivery:bank.example",
 *                 "partner-certificate:SHA256", "queue-size")
 * @param kind     the condition (see {@link Kind})
 * @param subject  the domain, certificate subject, or "queue" the alert names
 * @param state    firing or recovered
 * @param summary  one line a person reads first ("bank.example: TLS required, handshake failed at mx1.bank.example")
 * @param detail   the rest (reasons, counts, which channels were told and what they answered); may be null
 */
public record AlertRecord(Instant at, String key, Kind kind, String subject, State state, String summary,
                          String detail) implements AuditRecord {

    public enum Kind {
        /** A delivery under a policy that requires TLS (or a REQUIRETLS message) failed for a TLS reason. */
        ENFORCED_DELIVERY_FAILURE,
        /** A peer's TLS level fell below what the downgrade memory remembers for it. */
        DOWNGRADE,
        /** A partner's certificate seen on the wire ends within the warning period. */
        PARTNER_CERTIFICATE_EXPIRY,
        /** One of Postern's own certificates ends within the warning period. */
        OWN_CERTIFICATE_EXPIRY,
        /** A health probe of a domain failed. */
        PROBE_FAILURE,
        /** The queue holds more messages than the limit. */
        QUEUE_SIZE,
        /** The oldest queued message is older than the limit. */
        QUEUE_AGE
    }

    public enum State { FIRING, RECOVERED }
}
