package dev.postern.tls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * What a peer's certificate chain is, checked after the handshake: trust (PKIX against given anchors or the system
 * store, with dates), names, pins and key strength. The session is always inspected fully, so that even an
 * opportunistic session is recorded as "verified" or "unverified" and a testing policy can say what it would fail.
 */
public final class PeerCheck {
    private PeerCheck() {}

    /**
     * The facts about a peer's certificate.
     *
     * @param trustProblem null when the chain validates to an anchor; otherwise why not ("expired", "untrusted ...")
     * @param names        the certificate's DNS names (SAN, or CN without SAN)
     * @param keyStrength  RSA-equivalent bits of the leaf key (NIST SP 800-57), for min_key_bits
     */
    public record Certificate(String subject, String issuer, List<String> names, String certSha256, String keySha256,
                              String keyType, int keyBits, int keyStrength, Instant notAfter, String trustProblem) {
        public boolean trusted() { return trustProblem == null; }
    }

    /** The leaf certificate facts of a session's peer, or null when it sent no certificate. */
    public static Certificate inspect(SSLSession session, Set<TrustAnchor> anchors, Instant now) {
        java.security.cert.Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
        List<X509Certificate> certs = new ArrayList<>();
        for (java.security.cert.Certificate c : chain) if (c instanceof X509Certificate x) certs.add(x);
        return certs.isEmpty() ? null : inspect(certs, anchors, now);
    }

    public static Certificate inspect(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now) {
        X509Certificate leaf = chain.getFirst();
        PublicKey key = leaf.getPublicKey();
        int bits = keyBits(key);
        return new Certificate(leaf.getSubjectX500Principal().getName(), leaf.getIssuerX500Principal().getName(),
                NameMatcher.names(leaf), sha256(encoded(leaf)), sha256(key.getEncoded()), key.getAlgorithm(), bits,
                strength(key.getAlgorithm(), bits), leaf.getNotAfter().toInstant(), trustProblem(chain, anchors, now));
    }

    /** True when a pin (64 lower-case hex digits) equals the certificate's or its public key's SHA-256. */
    public static boolean pinned(Certificate c, List<String> pins) {
        return pins.contains(c.certSha256()) || pins.contains(c.keySha256());
    }

    /** The JDK's system trust store (cacerts), loaded once. */
    public static Set<TrustAnchor> systemAnchors() {
        return SystemAnchors.ANCHORS;
    }

    /** Trust anchors from certificates (a partner's CA bundle). */
    public static Set<TrustAnchor> anchors(List<X509Certificate> cas) {
        Set<TrustAnchor> out = new HashSet<>();
        for (X509Certificate ca : cas) out.add(new TrustAnchor(ca, null));
        return Set.copyOf(out);
    }

    private static String trustProblem(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now) {
        X509Certificate leaf = chain.getFirst();
        try {
            leaf.checkValidity(Date.from(now));
        } catch (CertificateExpiredException e) {
            return "certificate expired on " + leaf.getNotAfter().toInstant();
        } catch (CertificateNotYetValidException e) {
            return "certificate not valid before " + leaf.getNotBefore().toInstant();
        }
        if (anchors.isEmpty()) return "no trust anchors configured";
        // The chain as sent, without a self-signed root at the end (the anchor stands for it).
        List<X509Certificate> path = new ArrayList<>(chain);
        while (path.size() > 1 && isSelfIssued(path.getLast())) path.removeLast();
        try {
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(now));
            CertPathValidator.getInstance("PKIX").validate(
                    CertificateFactory.getInstance("X.509").generateCertPath(path), params);
            return null;
        } catch (CertPathValidatorException e) {
            if (e.getReason() == CertPathValidatorException.BasicReason.EXPIRED) return "a certificate in the chain expired";
            if (isSelfIssued(leaf) && chain.size() == 1) return "self-signed certificate (not trusted)";
            return "untrusted chain (issuer " + leaf.getIssuerX500Principal().getName() + "): " + e.getMessage();
        } catch (GeneralSecurityException e) {
            return "chain could not be validated: " + e.getMessage();
        }
    }

    private static boolean isSelfIssued(X509Certificate c) {
        return c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
    }

    private static int keyBits(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) return rsa.getModulus().bitLength();
        if (key instanceof ECPublicKey ec) return ec.getParams().getCurve().getField().getFieldSize();
        String alg = key.getAlgorithm().toUpperCase(Locale.ROOT);
        if (alg.equals("ED25519") || alg.equals("X25519") || alg.equals("EDDSA")) return 255;
        if (alg.equals("ED448")) return 448;
        return 0;
    }

    /** RSA-equivalent strength (NIST SP 800-57 part 1, table 2). */
    static int strength(String algorithm, int bits) {
        String alg = algorithm.toUpperCase(Locale.ROOT);
        if (alg.equals("RSA") || alg.equals("DSA") || alg.equals("RSASSA-PSS")) return bits;
        if (bits >= 512) return 15360;
        if (bits >= 384) return 7680;
        if (bits >= 255) return 3072;
        if (bits >= 224) return 2048;
        if (bits >= 160) return 1024;
        return 0;
    }

    private static byte[] encoded(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            return new byte[0];
        }
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class SystemAnchors {
        static final Set<TrustAnchor> ANCHORS = load();

        private static Set<TrustAnchor> load() {
            try {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init((KeyStore) null);
                List<X509Certificate> cas = new ArrayList<>();
                for (var tm : tmf.getTrustManagers()) {
                    if (tm instanceof X509TrustManager x) cas.addAll(List.of(x.getAcceptedIssuers()));
                }
                return anchors(cas);
            } catch (GeneralSecurityException e) {
                return Set.of();
            }
        }
    }


}
