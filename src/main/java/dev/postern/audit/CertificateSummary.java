package dev.postern.audit;

import java.time.Instant;
import java.util.List;

/**
 * One certificate of a peer's chain as the audit keeps it. The whole certificate (PEM) is kept for the leaf only and
 * stored once per distinct certificate ({@code sha256}); the other fields are kept for every certificate of the chain.
 *
 * @param subject    RFC 2253 subject
 * @param sans       DNS and IP subject alternative names, in the certificate's order
 * @param issuer     RFC 2253 issuer
 * @param keyType    "RSA", "EC", "Ed25519", ...
 * @param keyBits    key size in bits (RSA modulus, EC field size), -1 when unknown
 * @param sha256     SHA-256 of the DER certificate, 64 lower-case hex digits
 * @param spkiSha256 SHA-256 of the DER SubjectPublicKeyInfo, 64 lower-case hex digits (what DANE and pins name)
 * @param pem        the certificate in PEM for the leaf; null for the rest of the chain
 */
public record CertificateSummary(String subject, List<String> sans, String issuer, Instant notBefore, Instant notAfter,
                                 String keyType, int keyBits, String sha256, String spkiSha256, String pem) {
    public CertificateSummary {
        sans = sans == null ? List.of() : List.copyOf(sans);
    }
}
