package dev.postern.receipts;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import dev.postern.trace.Json;
import dev.postern.trace.TraceText;
import java.io.IOException;
import java.security.interfaces.ECPublicKey;
import java.text.ParseException;
import java.util.stream.Collectors;

/**
 * Signing and checking receipts: a JWS in compact serialization, ES256 (ECDSA P-256 with SHA-256, done by the JDK
 * through Nimbus JOSE+JWT), header {@code kid} = the RFC 7638 thumbprint of the signing key and {@code typ} =
 * {@link #MEDIA_TYPE}; the payload is the receipt as JSON.
 */
public final class Receipts {
    /** The JWS {@code typ} of a receipt. */
    public static final String MEDIA_TYPE = "postern-receipt+json";

    private Receipts() {}

    /** What checking a receipt came to. */
    public sealed interface Check {}

    /** The signature verifies with the key whose thumbprint is {@code kid}; {@code receipt} is what it states. */
    public record Valid(Receipt receipt, String kid) implements Check {}

    /** The receipt does not verify with the key given; {@code reason} says why in one line. */
    public record Invalid(String reason) implements Check {}

    /** The receipt signed with {@code key}, in compact serialization (three base64url parts joined by dots). */
    public static String sign(Receipt receipt, ReceiptKey key) {
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.kid())
                .type(new JOSEObjectType(MEDIA_TYPE)).build();
        try {
            JWSObject jws = new JWSObject(header, new Payload(Json.mapper().writeValueAsBytes(receipt)));
            jws.sign(new ECDSASigner(key.privateKey()));
            return jws.serialize();
        } catch (JsonProcessingException | JOSEException e) {
            throw new IllegalStateException("cannot sign the receipt: " + e.getMessage(), e);
        }
    }

    /**
     * Checks {@code compact} against {@code key}. A receipt signed with another key or changed after signing is
     * {@link Invalid}; text that is no receipt at all is a {@link ReceiptException}.
     */
    public static Check verify(String compact, ECPublicKey key) throws ReceiptException {
        JWSObject jws;
        try {
            jws = JWSObject.parse(compact.strip());
        } catch (ParseException e) {
            throw new ReceiptException("not a receipt (a JWS in compact serialization): " + e.getMessage(), e);
        }
        JWSHeader header = jws.getHeader();
        if (header.getType() == null || !MEDIA_TYPE.equals(header.getType().getType())) {
            throw new ReceiptException("not a Postern receipt: its JWS typ is " + header.getType()
                    + ", expected " + MEDIA_TYPE);
        }
        if (!JWSAlgorithm.ES256.equals(header.getAlgorithm())) {
            return new Invalid("signed with " + header.getAlgorithm() + ", but receipts are signed with ES256");
        }
        String expected = ReceiptKey.kid(key);
        if (!expected.equals(header.getKeyID())) {
            return new Invalid("signed with key " + header.getKeyID() + ", not with the key given (" + expected + ")");
        }
        try {
            if (!jws.verify(new ECDSAVerifier(key))) {
                return new Invalid("the signature does not verify with key " + expected
                        + ": the receipt was changed after it was signed");
            }
        } catch (JOSEException e) {
            return new Invalid("the signature cannot be checked: " + e.getMessage());
        }
        Receipt receipt;
        try {
            receipt = Json.mapper().readValue(jws.getPayload().toBytes(), Receipt.class);
        } catch (IOException e) {
            throw new ReceiptException("the signature verifies but the payload is not a receipt: "
                    + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (!Receipt.TYPE.equals(receipt.type())) {
            throw new ReceiptException("the signature verifies but the payload's type is " + receipt.type()
                    + ", expected " + Receipt.TYPE);
        }
        return new Valid(receipt, expected);
    }

    /** A verified receipt as a person reads it: the message, then each delivered recipient's hop and TLS facts. */
    public static String describe(Valid valid) {
        Receipt r = valid.receipt();
        StringBuilder s = new StringBuilder();
        s.append("Valid receipt, signed by gateway ").append(r.gateway()).append(" with key ").append(valid.kid())
                .append(" (ES256) at ").append(TraceText.time(r.issuedAt())).append('\n');
        s.append("Message: queue id ").append(r.queueId());
        if (r.messageId() != null) s.append(", Message-ID <").append(r.messageId()).append('>');
        s.append(", from ").append(TraceText.address(r.sender())).append(", received at ")
                .append(TraceText.time(r.receivedAt())).append('\n');
        s.append("Envelope recipients: ").append(r.envelopeRecipients().stream().map(TraceText::address)
                .collect(Collectors.joining(", "))).append('\n');
        for (Receipt.Delivered d : r.delivered()) {
            Receipt.NextHop h = d.nextHop();
            s.append("Delivered ").append(TraceText.address(d.recipient())).append(" at ")
                    .append(TraceText.time(d.deliveredAt())).append(" (attempt ").append(d.attempt()).append(")\n");
            s.append("  next hop:     ").append("local".equals(h.host()) ? "the local mailbox (Maildir)"
                    : TraceText.hop(h.host(), h.ip(), h.port(), h.mxPreference())).append('\n');
            if (d.tls() == null) {
                s.append("  TLS:          none, in clear text: ").append(d.noTlsReason()).append('\n');
            } else {
                Receipt.Tls t = d.tls();
                s.append("  TLS:          ").append(TraceText.tls(t.protocol(), t.cipher(), t.cipherBits()))
                        .append(t.keyExchangeGroup() == null ? "" : ", " + t.keyExchangeGroup()).append('\n');
                s.append("  verification: ").append(t.verification())
                        .append(t.verificationReason() == null ? "" : ": " + t.verificationReason()).append('\n');
                Receipt.Certificate c = t.certificate();
                if (c != null) {
                    s.append("  certificate:  ").append(c.subject()).append(", issuer ").append(c.issuer())
                            .append(", valid until ").append(TraceText.time(c.notAfter())).append('\n');
                    s.append("    SHA-256:      ").append(c.sha256()).append('\n');
                    s.append("    SPKI SHA-256: ").append(c.spkiSha256()).append('\n');
                }
            }
            if (d.policy() != null) {
                Receipt.Policy p = d.policy();
                s.append("  policy:       ").append(p.level()).append(" (").append(p.source())
                        .append(p.sourceDetail() == null || p.sourceDetail().equals(p.source()) ? "" : ": " + p.sourceDetail()).append("), ").append(p.mode())
                        .append(p.wouldFail().isEmpty() ? "" : "; enforcing would have failed: "
                                + String.join("; ", p.wouldFail())).append('\n');
            }
            if (!d.reply().isEmpty()) s.append("  reply:        ").append(String.join(" ", d.reply())).append('\n');
        }
        return s.toString();
    }
}
