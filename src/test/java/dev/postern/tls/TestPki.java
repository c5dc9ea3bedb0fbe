package dev.postern.tls;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates shaped for tests of chain checks (Bouncy Castle): any subject, issuer, key, signature algorithm,
 * validity, extended key usage and key usage, so that chains with intermediates, cross-signed roots, wrong usages and
 * weak algorithms can be made in a few lines.
 */
public final class TestPki {
    private TestPki() {}

    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    /** A certificate with the key pair of its subject. */
    public record Issued(KeyPair keys, X509Certificate cert) {
        /** Key material presenting this certificate followed by {@code rest} (intermediates, roots). */
        public KeyMaterial material(X509Certificate... rest) {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(cert);
            chain.addAll(List.of(rest));
            return new KeyMaterial(keys.getPrivate(), chain);
        }
    }

    /** An issuer made by {@link Certificates} (its leaf and key), to issue test certificates under. */
    public static Issued of(KeyMaterial material) {
        return new Issued(new KeyPair(material.leaf().getPublicKey(), material.key()), material.leaf());
    }

    /** Starts a certificate for subject CN {@code cn}. */
    public static Builder cert(String cn) {
        return new Builder(cn);
    }

    /** A root CA (self-signed, EC P-256, valid a month). */
    public static Issued root(String cn) {
        return cert(cn).ca().build();
    }

    /** A server and client leaf for {@code dns} issued by {@code issuer} (EC P-256, both usages). */
    public static Issued leaf(Issued issuer, String dns) {
        return cert(dns).issuer(issuer).dns(dns).build();
    }

    public static final class Builder {
        private final String cn;
        private Issued issuer;
        private KeyPair keys;
        private Certificates.KeyType type = Certificates.KeyType.EC_P256;
        private String signature;
        private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        private Instant notAfter = Instant.now().plus(Duration.ofDays(30));
        private boolean ca;
        private List<KeyPurposeId> usages = List.of(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth);
        private Integer keyUsage;
        private final List<GeneralName> names = new ArrayList<>();

        private Builder(String cn) {
            this.cn = cn;
        }

        /** Issued (signed) by {@code issuer}; self-signed without one. */
        public Builder issuer(Issued issuer) { this.issuer = issuer; return this; }

        /** The subject's key pair (to cross-sign an existing CA's key); a new one of the key type without. */
        public Builder keys(KeyPair keys) { this.keys = keys; return this; }

        public Builder keyType(Certificates.KeyType type) { this.type = type; return this; }

        /** The signature algorithm, e.g. "SHA1withRSA"; default SHA-256 with the issuer's key type. */
        public Builder signature(String algorithm) { this.signature = algorithm; return this; }

        public Builder valid(Instant from, Instant until) { notBefore = from; notAfter = until; return this; }

        /** A CA: basicConstraints CA=true, keyCertSign, no extended key usage. */
        public Builder ca() { ca = true; usages = null; return this; }

        /** Extended key usages; none at all (the extension absent) with no arguments. */
        public Builder usages(KeyPurposeId... ids) { usages = ids.length == 0 ? null : List.of(ids); return this; }

        /** The key usage bits (KeyUsage constants); default digitalSignature (leaves) or keyCertSign|cRLSign (CAs). */
        public Builder keyUsage(int bits) { keyUsage = bits; return this; }

        public Builder dns(String... dnsNames) {
            for (String n : dnsNames) names.add(new GeneralName(GeneralName.dNSName, n));
            return this;
        }

        public Builder ip(String... addresses) {
            for (String a : addresses) names.add(new GeneralName(GeneralName.iPAddress, a));
            return this;
        }

        public Issued build() {
            try {
                KeyPair subjectKeys = keys != null ? keys : Certificates.generateKeyPair(type);
                KeyPair signingKeys = issuer == null ? subjectKeys : issuer.keys();
                X500Name subject = new X500Name("CN=" + cn);
                X500Name issuerName = issuer == null ? subject
                        : X500Name.getInstance(issuer.cert().getSubjectX500Principal().getEncoded());
                var b = new JcaX509v3CertificateBuilder(issuerName, BigInteger.valueOf(SERIAL.incrementAndGet()),
                        date(notBefore), date(notAfter), subject, subjectKeys.getPublic());
                JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
                int ku = keyUsage != null ? keyUsage
                        : ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature;
                b.addExtension(Extension.keyUsage, true, new KeyUsage(ku));
                if (usages != null) {
                    b.addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(usages.toArray(KeyPurposeId[]::new)));
                }
                if (!names.isEmpty()) {
                    b.addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(names.toArray(GeneralName[]::new)));
                }
                b.addExtension(Extension.subjectKeyIdentifier, false,
                        utils.createSubjectKeyIdentifier(subjectKeys.getPublic()));
                b.addExtension(Extension.authorityKeyIdentifier, false,
                        utils.createAuthorityKeyIdentifier(signingKeys.getPublic()));
                String algorithm = signature != null ? signature
                        : signingKeys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
                var signer = new JcaContentSignerBuilder(algorithm).build(signingKeys.getPrivate());
                return new Issued(subjectKeys, new JcaX509CertificateConverter().getCertificate(b.build(signer)));
            } catch (Exception e) {
                throw new IllegalStateException("cannot build test certificate " + cn + ": " + e.getMessage(), e);
            }
        }
    }

    private static Date date(Instant instant) {
        return Date.from(instant.truncatedTo(ChronoUnit.SECONDS));
    }
}
