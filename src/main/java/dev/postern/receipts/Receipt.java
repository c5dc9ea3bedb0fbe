package dev.postern.receipts;

import dev.postern.audit.CertificateSummary;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.MessageTrace;
import dev.postern.audit.TlsSessionRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a receipt states (its JWS payload): the message, and for each recipient delivered so far the hop it left by and
 * that hop's TLS facts. Only delivered recipients are covered, since a receipt proves a delivery; every envelope
 * recipient is listed in {@code envelopeRecipients}, so an auditor sees which ones the receipt does not cover (yet).
 * Its own records rather than the audit's, so that the receipt's format stays put when the audit's records grow.
 *
 * @param type               always {@link #TYPE}
 * @param version            the format's version, 1
 * @param gateway            the gateway that recorded the message (the audit's gateway name)
 * @param issuedAt           when the receipt was made
 * @param messageId          the Message-ID without angle brackets, null when the message had none
 * @param sender             the envelope sender, "" for the null reverse path
 * @param receivedAt         when the gateway took responsibility for the message
 * @param envelopeRecipients every envelope recipient, in lookup form
 * @param delivered          each delivered recipient's hop, in delivery order
 */
public record Receipt(String type, int version, String gateway, Instant issuedAt, String queueId, String messageId,
                      String sender, Instant receivedAt, List<String> envelopeRecipients, List<Delivered> delivered) {
    public static final String TYPE = "postern-delivery-receipt";

    public Receipt {
        envelopeRecipients = envelopeRecipients == null ? List.of() : List.copyOf(envelopeRecipients);
        delivered = delivered == null ? List.of() : List.copyOf(delivered);
    }

    /**
     * One delivered recipient.
     *
     * @param attempt     which attempt delivered it (1: the first)
     * @param nextHop     where it went; host "local" for this gateway's own Maildir
     * @param tls         the hop's TLS, null when it went in clear text (then {@code noTlsReason} says why)
     * @param noTlsReason why there was no TLS, null with TLS
     * @param policy      the TLS policy the hop was held to, null when none is on record (local delivery)
     * @param reply       the next hop's reply accepting the recipient, each line as received
     */
    public record Delivered(String recipient, Instant deliveredAt, int attempt, NextHop nextHop, Tls tls,
                            String noTlsReason, Policy policy, List<String> reply) {
        public Delivered {
            reply = reply == null ? List.of() : List.copyOf(reply);
        }
    }

    /** @param mxPreference the MX preference, -1 for a static route, local delivery or unknown; port -1 when none */
    public record NextHop(String host, String ip, int port, int mxPreference) {}

    /**
     * @param verification       VERIFIED, FAILED or NOT_CHECKED
     * @param verificationReason what was verified ("verified for *.bank.example ...") or why it failed
     * @param certificate        the next hop's leaf certificate, null when it sent none
     */
    public record Tls(String protocol, String cipher, int cipherBits, String keyExchangeGroup, String verification,
                      String verificationReason, Certificate certificate) {}

    /** @param sha256 of the DER certificate; @param spkiSha256 of its SubjectPublicKeyInfo (lower-case hex) */
    public record Certificate(String subject, String issuer, List<String> sans, Instant notBefore, Instant notAfter,
                              String sha256, String spkiSha256) {
        public Certificate {
            sans = sans == null ? List.of() : List.copyOf(sans);
        }
    }

    /** @param mode "enforce" or "testing"; @param wouldFail in testing mode, what enforcing would have failed */
    public record Policy(String level, String source, String sourceDetail, String mode, List<String> wouldFail) {
        public Policy {
            wouldFail = wouldFail == null ? List.of() : List.copyOf(wouldFail);
        }
    }

    /** The receipt of a traced message, or empty when no recipient of it was delivered (yet). */
    public static Optional<Receipt> of(MessageTrace trace, Instant issuedAt) {
        MessageRecord m = trace.message();
        List<Delivered> delivered = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (DeliveryRecord d : trace.deliveries()) {
            if (d.outcome() != DeliveryRecord.Outcome.DELIVERED || !seen.add(d.recipient())) continue;
            TlsSessionRecord s = d.tlsSessionId() == null ? null : trace.sessions().get(d.tlsSessionId());
            delivered.add(new Delivered(d.recipient(), d.at(), d.attempt(),
                    new NextHop(d.mxHost(), d.ip(), d.port(), d.mxPreference()),
                    s != null && s.encrypted() ? tls(s) : null, noTlsReason(d, s),
                    s == null || s.policy() == null ? null : policy(s.policy()), d.replies()));
        }
        if (delivered.isEmpty()) return Optional.empty();
        return Optional.of(new Receipt(TYPE, 1, trace.gateway(), issuedAt, m.queueId(), m.messageId(), m.sender(),
                m.at(), m.recipients(), delivered));
    }

    private static Tls tls(TlsSessionRecord s) {
        CertificateSummary leaf = s.peerChain().isEmpty() ? null : s.peerChain().getFirst();
        return new Tls(s.protocol(), s.cipher(), s.cipherBits(), s.keyExchangeGroup(), s.verification().name(),
                s.verificationReason(), leaf == null ? null : new Certificate(leaf.subject(), leaf.issuer(),
                leaf.sans(), leaf.notBefore(), leaf.notAfter(), leaf.sha256(), leaf.spkiSha256()));
    }

    private static String noTlsReason(DeliveryRecord d, TlsSessionRecord s) {
        if (s != null && s.encrypted()) return null;
        if (d.noTlsReason() != null) return d.noTlsReason();
        if (s != null && s.noTls() != null) {
            return s.noTls().name() + (s.noTlsDetail() == null ? "" : ": " + s.noTlsDetail());
        }
        if (d.tlsSessionId() != null) return "the session " + d.tlsSessionId() + " is not on record: its TLS facts are unknown";
        return "local".equals(d.mxHost()) ? "local delivery" : "not recorded";
    }

    private static Policy policy(TlsSessionRecord.PolicyApplied p) {
        return new Policy(p.level(), p.source(), p.sourceDetail(), p.mode(), p.wouldFail());
    }
}
