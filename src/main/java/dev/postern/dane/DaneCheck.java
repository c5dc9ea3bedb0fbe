package dev.postern.dane;

import dev.postern.dns.TlsaRecord;
import dev.postern.tls.NameMatcher;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Judges a server's certificate chain against a DNSSEC-secure TLSA RRset as RFC 7672 has SMTP do it: DANE-EE(3)
 * matches the leaf alone, whatever its names and dates (§3.1.1); DANE-TA(2) names a trust anchor the server's chain
 * must lead to, and then the leaf must carry a reference identifier (§3.2.2); PKIX-TA(0) and PKIX-EE(1) are unusable
 * for SMTP (§3.1.3), as are unknown usages, selectors and matching types, and data of the wrong length. Among the
 * digests of one usage and selector only the strongest present counts (RFC 7671 §9). A chain is authenticated by
 * the first usable record it matches.
 */
public final class DaneCheck {
    private DaneCheck() {}

    public static final int PKIX_TA = 0, PKIX_EE = 1, DANE_TA = 2, DANE_EE = 3;
    public static final int FULL = 0, SHA2_256 = 1, SHA2_512 = 2;
    public static final int CERT = 0, SPKI = 1;

    /** What the check found. */
    public enum Outcome {
        /** A usable record matched: the server is authenticated. */
        MATCHED,
        /** Usable records exist and none matched: the server must not be used. */
        MISMATCH,
        /** Every record is unusable: TLS is still required, without authentication (RFC 7672 §2.2 end). */
        NO_USABLE_RECORDS
    }

    /**
     * The judgement of one chain.
     *
     * @param matched the record that authenticated the server (MATCHED), else null
     * @param name    the reference identifier the leaf matched (DANE-TA), else null
     * @param reason  in words: what matched, or why nothing did (each usable record's reason)
     */
    public record Verdict(Outcome outcome, TlsaRecord matched, String name, String reason) {
        public boolean authenticated() { return outcome == Outcome.MATCHED; }
    }

    /**
     * Checks {@code chain} (leaf first, as the server sent it) against {@code records}. {@code referenceNames} are
     * the TLSA base domain and the MX host name (RFC 7672 §3.2.2), used for DANE-TA only.
     */
    public static Verdict check(List<TlsaRecord> records, List<X509Certificate> chain, List<String> referenceNames,
                                Instant now) {
        List<TlsaRecord> usable = usable(records);
        if (usable.isEmpty()) {
            return new Verdict(Outcome.NO_USABLE_RECORDS, null, null, "no usable TLSA records ("
                    + String.join("; ", records.stream().map(r -> describe(r) + ": " + unusable(r)).toList()) + ")");
        }
        if (chain.isEmpty()) return new Verdict(Outcome.MISMATCH, null, null, "the server sent no certificate");
        List<String> misses = new ArrayList<>();
        for (TlsaRecord r : usable) {
            if (r.usage() == DANE_EE) {
                if (matches(r, chain.getFirst())) {
                    return new Verdict(Outcome.MATCHED, r, null, describe(r) + " matched");
                }
                misses.add(describe(r) + ": the server's certificate does not match");
                continue;
            }
            String miss = trustAnchor(r, chain, referenceNames, now);
            if (miss == null) {
                String name = NameMatcher.firstMatch(NameMatcher.names(chain.getFirst()), referenceNames);
                return new Verdict(Outcome.MATCHED, r, name, describe(r) + " matched, name " + name);
            }
            misses.add(describe(r) + ": " + miss);
        }
        return new Verdict(Outcome.MISMATCH, null, null, "no TLSA record matched (" + String.join("; ", misses) + ")");
    }

    /**
     * The records that count: the usable ones (see {@link #unusable}), and of the digests of one usage and selector
     * only those of the strongest matching type present (RFC 7671 §9: SHA2-512 over SHA2-256; Full(0) is no digest
     * and always counts).
     */
    public static List<TlsaRecord> usable(List<TlsaRecord> records) {
        List<TlsaRecord> ok = records.stream().filter(r -> unusable(r) == null).toList();
        return ok.stream().filter(r -> r.matchingType() == FULL || ok.stream().noneMatch(o -> o.usage() == r.usage()
                && o.selector() == r.selector() && o.matchingType() > r.matchingType())).toList();
    }

    /** Why a record cannot be used for SMTP, or null when it can. */
    public static String unusable(TlsaRecord r) {
        if (r.usage() == PKIX_TA || r.usage() == PKIX_EE) return "PKIX usages are not used for SMTP (RFC 7672 §3.1.3)";
        if (r.usage() != DANE_TA && r.usage() != DANE_EE) return "unknown certificate usage " + r.usage();
        if (r.selector() != CERT && r.selector() != SPKI) return "unknown selector " + r.selector();
        int length = r.data().length;
        return switch (r.matchingType()) {
            case FULL -> length == 0 ? "empty association data"
                    : r.usage() == DANE_TA && fullAnchor(r) == null ? "association data is not a "
                    + (r.selector() == CERT ? "certificate" : "public key") : null;
            case SHA2_256 -> length == 32 ? null : "SHA2-256 data of " + length + " bytes, not 32";
            case SHA2_512 -> length == 64 ? null : "SHA2-512 data of " + length + " bytes, not 64";
            default -> "unknown matching type " + r.matchingType();
        };
    }

    /** "DANE-EE 3 1 1 ab12cd34…": the record for logs and the audit, a digest shortened to its first 8 digits. */
    public static String describe(TlsaRecord r) {
        String usage = switch (r.usage()) {
            case PKIX_TA -> "PKIX-TA";
            case PKIX_EE -> "PKIX-EE";
            case DANE_TA -> "DANE-TA";
            case DANE_EE -> "DANE-EE";
            default -> "usage";
        };
        String hex = HexFormat.of().formatHex(r.data());
        return usage + " " + r.usage() + " " + r.selector() + " " + r.matchingType() + " "
                + (hex.length() > 8 ? hex.substring(0, 8) + "…" : hex);
    }

    /** Whether the selected part of {@code cert} matches the record's data. */
    static boolean matches(TlsaRecord r, X509Certificate cert) {
        byte[] selected;
        try {
            selected = r.selector() == CERT ? cert.getEncoded() : cert.getPublicKey().getEncoded();
        } catch (GeneralSecurityException e) {
            return false;
        }
        return MessageDigest.isEqual(associate(r.matchingType(), selected), r.data());
    }

    private static byte[] associate(int matchingType, byte[] selected) {
        try {
            return switch (matchingType) {
                case SHA2_256 -> MessageDigest.getInstance("SHA-256").digest(selected);
                case SHA2_512 -> MessageDigest.getInstance("SHA-512").digest(selected);
                default -> selected;
            };
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks SHA-2", e);
        }
    }

    /**
     * Null when the chain leads from its leaf to the trust anchor {@code r} names and the leaf carries a reference
     * identifier; else why not. The anchor is a certificate the server sent (or the record carries, Full(0)); a
     * selector-1 anchor is its key and subject alone, as RFC 7671 §5.2.2 asks. The path is built and checked by the
     * JDK's PKIX builder (signatures, validity, basic constraints) from the certificates the server sent.
     */
    private static String trustAnchor(TlsaRecord r, List<X509Certificate> chain, List<String> referenceNames,
                                      Instant now) {
        X509Certificate leaf = chain.getFirst();
        Set<TrustAnchor> anchors = new LinkedHashSet<>();
        for (X509Certificate c : chain.subList(1, chain.size())) {
            if (matches(r, c)) anchors.add(r.selector() == CERT ? new TrustAnchor(c, null)
                    : new TrustAnchor(c.getSubjectX500Principal(), c.getPublicKey(), null));
        }
        if (anchors.isEmpty() && r.matchingType() == FULL) {
            Object full = fullAnchor(r);
            if (full instanceof X509Certificate c) anchors.add(new TrustAnchor(c, null));
            if (full instanceof PublicKey key) {
                // The key's certificate was not sent: the anchor is named by the issuer of each certificate it signed.
                for (X509Certificate c : chain) {
                    if (signedBy(c, key)) anchors.add(new TrustAnchor(c.getIssuerX500Principal(), key, null));
                }
            }
        }
        if (anchors.isEmpty()) return "no certificate the server sent is this trust anchor";
        try {
            X509CertSelector target = new X509CertSelector();
            target.setCertificate(leaf);
            PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, target);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(now));
            params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(chain)));
            CertPathBuilder.getInstance("PKIX").build(params);
        } catch (GeneralSecurityException e) {
            return "the chain does not lead to this trust anchor: " + e.getMessage();
        }
        if (NameMatcher.firstMatch(NameMatcher.names(leaf), referenceNames) == null) {
            return "certificate name mismatch: " + String.join(", ", NameMatcher.names(leaf)) + " does not match "
                    + String.join(" or ", referenceNames);
        }
        return null;
    }

    private static boolean signedBy(X509Certificate c, PublicKey key) {
        try {
            c.verify(key);
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /** The certificate (selector 0) or public key (selector 1) a Full(0) record carries, or null when it is none. */
    private static Object fullAnchor(TlsaRecord r) {
        byte[] data = r.data();
        try {
            if (r.selector() == CERT) {
                return CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(data));
            }
            for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448")) {
                try {
                    PublicKey key = KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(data));
                    if (Arrays.equals(key.getEncoded(), data)) return key;
                } catch (GeneralSecurityException e) {
                    // not this algorithm
                }
            }
            return null;
        } catch (GeneralSecurityException | RuntimeException e) {
            return null;
        }
    }
}
