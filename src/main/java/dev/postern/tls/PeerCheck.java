package dev.postern.tls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
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
 * What a peer's certificate chain is, checked after the handshake: trust for an intended use (PKIX path building to
 * given anchors or the system store, dates, algorithm constraints, extended key usage: {@link ChainCheck}), names,
 * pins and key strength. The session is always inspected fully, so that even an opportunistic session is recorded as
 * "verified" or "unverified" and a testing policy can say what it would fail.
 */
public final class PeerCheck {
    private PeerCheck() {}

    /** What the peer's certificate must be good for: a TLS server, a TLS client, or nothing in particular (display). */
    public enum Purpose { SERVER, CLIENT, NONE }

    /** Kinds of trust problems, for callers that act on the kind; the text is for people. */
    public enum ProblemKind {
        NO_TRUST_ANCHORS, EXPIRED, NOT_YET_VALID, SELF_SIGNED, INCOMPLETE_CHAIN, UNTRUSTED, INVALID_CHAIN,
        WEAK_ALGORITHM, WRONG_USAGE, REFUSED_BY_JDK;

        /** The leaf's own dates are wrong (not its chain or trust). */
        public boolean dates() { return this == EXPIRED || this == NOT_YET_VALID; }
    }

    /** Why a chain is not trusted. */
    public record Problem(ProblemKind kind, String text) {
        @Override public String toString() { return text; }
    }

    /**
     * The facts about a peer's certificate.
     *
     * @param names        the certificate's DNS names (SAN, or CN without SAN), lower-case A-labels
     * @param ipAddresses  its IP address SANs, in {@link java.net.InetAddress#getHostAddress()} form
     * @param keyStrength  RSA-equivalent bits of the leaf key (NIST SP 800-57), for min_key_bits
     * @param problem      null when the chain validates to an anchor for the purpose; otherwise why not
     */
    public record Certificate(String subject, String issuer, List<String> names, List<String> ipAddresses,
                              String certSha256, String keySha256, String keyType, int keyBits, int keyStrength,
                              Instant notAfter, Problem problem) {
        public boolean trusted() { return problem == null; }

        /** The problem's text, or null when trusted. */
        public String trustProblem() { return problem == null ? null : problem.text(); }
    }

    /**
     * The leaf certificate facts of a session's peer, judged for {@code purpose} (a server's key usage by the
     * negotiated suite), or null when it sent no certificate.
     */
    public static Certificate inspect(SSLSession session, Set<TrustAnchor> anchors, Instant now, Purpose purpose) {
        java.security.cert.Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
        List<X509Certificate> certs = new ArrayList<>();
        for (java.security.cert.Certificate c : chain) if (c instanceof X509Certificate x) certs.add(x);
        return certs.isEmpty() ? null
                : inspect(certs, anchors, now, purpose, ChainCheck.authType(session.getCipherSuite()));
    }

    /** The facts of a chain (leaf first) judged for {@code purpose}; a server's key usage as for TLS 1.3. */
    public static Certificate inspect(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now,
                                      Purpose purpose) {
        return inspect(chain, anchors, now, purpose, null);
    }

    /** The facts of a chain with no intended use checked (to show a certificate, or to pin it). */
    public static Certificate inspect(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now) {
        return inspect(chain, anchors, now, Purpose.NONE, null);
    }

    private static Certificate inspect(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now,
                                       Purpose purpose, String authType) {
        X509Certificate leaf = chain.getFirst();
        PublicKey key = leaf.getPublicKey();
        int bits = keyBits(key);
        return new Certificate(leaf.getSubjectX500Principal().getName(), leaf.getIssuerX500Principal().getName(),
                NameMatcher.names(leaf), NameMatcher.ipAddresses(leaf), sha256(encoded(leaf)), sha256(key.getEncoded()),
                key.getAlgorithm(), bits, strength(key.getAlgorithm(), bits), leaf.getNotAfter().toInstant(),
                ChainCheck.check(chain, anchors, now, purpose, authType));
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

    /** Key size in bits (RSA modulus, EC field size, 255 for Ed25519), 0 when unknown. */
    static int keyBits(PublicKey key) {
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
