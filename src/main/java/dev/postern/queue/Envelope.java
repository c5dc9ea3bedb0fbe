package dev.postern.queue;

import java.time.Instant;
import java.util.List;

/**
 * Everything about a queued message but its content: who sent it, to whom, and how delivery stands for each
 * recipient. Immutable; every change writes a new version to disk ({@link Spool#update}).
 *
 * @param sender        envelope sender, "" for the null reverse path
 * @param received      when the gateway acknowledged the message
 * @param client        "helo (ptr [ip])" of the client, for bounces and logs
 * @param bodyType      "7BIT", "8BITMIME" (from MAIL FROM BODY=)
 * @param smtputf8      MAIL FROM had SMTPUTF8
 * @param size          content size in bytes, as spooled
 * @param nextAttempt   when the scheduler should try the pending recipients again
 * @param delayWarned   a delay warning DSN was already sent
 * @param version       incremented on every rewrite; recovery keeps the highest
 * @param requireTls    MAIL FROM had REQUIRETLS (RFC 8689): deliver only to a verified next hop that supports it
 * @param tlsRequiredNo the message's header section has {@code TLS-Required: No} (RFC 8689 §3) and MAIL FROM had no
 *                      REQUIRETLS: policies the recipient's side publishes (DANE, MTA-STS) and the downgrade memory
 *                      do not stop its delivery ({@code outbound.TlsPlanner#setAside}); never true with requireTls
 */
public record Envelope(String id, String sender, List<Recipient> recipients, Instant received, String client,
                       String bodyType, boolean smtputf8, long size, Instant nextAttempt, boolean delayWarned,
                       long version, boolean requireTls, boolean tlsRequiredNo) {

    public Envelope {
        recipients = List.copyOf(recipients);
        tlsRequiredNo = tlsRequiredNo && !requireTls; // RFC 8689 §4.1: REQUIRETLS wins, the header is ignored
    }

    /** An envelope without REQUIRETLS (the form every caller used before RFC 8689 support). */
    public Envelope(String id, String sender, List<Recipient> recipients, Instant received, String client,
                    String bodyType, boolean smtputf8, long size, Instant nextAttempt, boolean delayWarned,
                    long version) {
        this(id, sender, recipients, received, client, bodyType, smtputf8, size, nextAttempt, delayWarned, version,
                false, false);
    }

    /** An envelope without {@code TLS-Required: No}. */
    public Envelope(String id, String sender, List<Recipient> recipients, Instant received, String client,
                    String bodyType, boolean smtputf8, long size, Instant nextAttempt, boolean delayWarned,
                    long version, boolean requireTls) {
        this(id, sender, recipients, received, client, bodyType, smtputf8, size, nextAttempt, delayWarned, version,
                requireTls, false);
    }

    public boolean nullSender() { return sender.isEmpty(); }

    /** The recipients still to be delivered. */
    public List<Recipient> pending() {
        return recipients.stream().filter(r -> r.status() == Recipient.Status.PENDING).toList();
    }

    public Envelope withRecipients(List<Recipient> updated, Instant next) {
        return new Envelope(id, sender, updated, received, client, bodyType, smtputf8, size, next, delayWarned, version,
                requireTls, tlsRequiredNo);
    }

    public Envelope withDelayWarned() {
        return new Envelope(id, sender, recipients, received, client, bodyType, smtputf8, size, nextAttempt, true, version,
                requireTls, tlsRequiredNo);
    }

    public Envelope withNextAttempt(Instant next) {
        return new Envelope(id, sender, recipients, received, client, bodyType, smtputf8, size, next, delayWarned, version,
                requireTls, tlsRequiredNo);
    }

    /** A copy with another version; {@link Spool#update} sets versions itself, this is for the spool and tests. */
    public Envelope withVersion(long newVersion) {
        return new Envelope(id, sender, recipients, received, client, bodyType, smtputf8, size, nextAttempt, delayWarned,
                newVersion, requireTls, tlsRequiredNo);
    }

    /**
     * One recipient and its delivery state.
     *
     * @param attempts   delivery attempts so far
     * @param lastResult the remote reply ("550 5.1.1 ...") or local reason of the last attempt; "" before any
     */
    public record Recipient(String address, Status status, int attempts, String lastResult, Instant lastAttempt) {
        public enum Status { PENDING, DELIVERED, FAILED }

        public static Recipient pending(String address) {
            return new Recipient(address, Status.PENDING, 0, "", null);
        }
    }
}
