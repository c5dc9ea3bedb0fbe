package dev.postern.audit;

import java.time.Instant;
import java.util.List;

/**
 * What one delivery attempt of one recipient came to: made when the scheduler settles the attempt, so the outcome
 * and the DSN are known.
 *
 * @param queueId      the message
 * @param recipient    the recipient, in lookup form
 * @param attempt      1 for the first attempt of this recipient
 * @param mxHost       the next hop that decided the outcome (MX name or static route host); "local" for a Maildir
 *                     delivery; null when no host was reached (DNS failure, no MX)
 * @param mxPreference the MX preference, -1 for a static route, a local delivery or unknown
 * @param ip           the next hop's address, null when none was reached
 * @param port         the next hop's port, -1 when none
 * @param tlsSessionId the outbound {@link TlsSessionRecord} the transaction ran in, null when none
 * @param noTlsReason  why the delivery ran without TLS or never reached a transaction ("STARTTLS not offered",
 *                     "TLS required by policy ..."), null when it ran over TLS
 * @param replies      what the next hop answered for this recipient, as received (each line of a multi-line reply);
 *                     empty when it said nothing
 * @param outcome      delivered, deferred (tried again later), bounced (failed for good, a DSN made or due)
 * @param status       the RFC 3463 status the outcome carries ("2.0.0", "4.7.10", "5.1.1")
 * @param reason       the whole text the queue keeps for the recipient (Postern's reasons and every host's result)
 * @param dsnQueueId   the queue id of the DSN made for this recipient (failure or delay), null when none
 * @param hostsTried   each host tried in this attempt and what came of it, in order ("mx1.example[192.0.2.1]:25 TLS
 *                     handshake failed: ..."); empty for a local delivery
 */
public record DeliveryRecord(Instant at, String queueId, String recipient, int attempt, String mxHost,
                             int mxPreference, String ip, int port, String tlsSessionId, String noTlsReason,
                             List<String> replies, Outcome outcome, String status, String reason, String dsnQueueId,
                             List<String> hostsTried) implements AuditRecord {
    public DeliveryRecord {
        replies = replies == null ? List.of() : List.copyOf(replies);
        hostsTried = hostsTried == null ? List.of() : List.copyOf(hostsTried);
    }

    public enum Outcome { DELIVERED, DEFERRED, BOUNCED }

    /**
     * The status is 4.7.x or 5.7.x (security or policy): what a failed TLS requirement carries, and a few refusals that
     * have nothing to do with TLS (5.7.1); the report's "enforced links" and the metrics count it the same way.
     */
    public boolean securityStatus() {
        return status != null && (status.startsWith("4.7.") || status.startsWith("5.7."));
    }

    /** The recipient's domain (lookup form). */
    public String domain() {
        return recipient.substring(recipient.lastIndexOf('@') + 1);
    }
}
