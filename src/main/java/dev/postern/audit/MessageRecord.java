package dev.postern.audit;

import java.time.Instant;
import java.util.List;

/**
 * A message this gateway took responsibility for: received from a client (after the spool committed it) or made
 * here (a DSN, {@code origin} "bounce of ID").
 *
 * @param queueId           the spool's id
 * @param messageId         the Message-ID header's value without angle brackets, null when the message had none
 * @param sender            envelope sender, "" for the null reverse path
 * @param recipients        envelope recipients, in lookup form
 * @param size              bytes as spooled
 * @param sessionId         the inbound {@link TlsSessionRecord} it came in, null for messages made here
 * @param clientIp          the client's address, null for messages made here
 * @param ehloName          the client's EHLO name, null for messages made here
 * @param authUser          the SMTP AUTH user, null when none
 * @param clientCertificate subject of a verified client certificate that authorised relay or named a partner, else null
 * @param requireTls        MAIL FROM carried REQUIRETLS (RFC 8689)
 * @param tlsRequiredNo     the header section had {@code TLS-Required: No} (RFC 8689 §3) and MAIL FROM no REQUIRETLS:
 *                          recipient-side TLS policies (DANE, MTA-STS, the downgrade memory) do not stop its delivery
 * @param origin            "smtp" for a received message, "bounce of ID" / "delay of ID" for a DSN made here
 */
public record MessageRecord(Instant at, String queueId, String messageId, String sender, List<String> recipients,
                            long size, String sessionId, String clientIp, String ehloName, String authUser,
                            String clientCertificate, boolean requireTls, boolean tlsRequiredNo, String origin)
        implements AuditRecord {
    public MessageRecord {
        recipients = List.copyOf(recipients);
    }

    /** A record without {@code TLS-Required: No}. */
    public MessageRecord(Instant at, String queueId, String messageId, String sender, List<String> recipients,
                         long size, String sessionId, String clientIp, String ehloName, String authUser,
                         String clientCertificate, boolean requireTls, String origin) {
        this(at, queueId, messageId, sender, recipients, size, sessionId, clientIp, ehloName, authUser,
                clientCertificate, requireTls, false, origin);
    }
}
