package dev.postern.tls;

import dev.postern.tls.PeerCheck.Problem;
import dev.postern.tls.PeerCheck.ProblemKind;
import dev.postern.tls.PeerCheck.Purpose;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXCertPathBuilderResult;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.interfaces.DSAPublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * Whether a peer's certificate chain is trusted for a use, with the JDK's PKIX machinery: a path is built (not taken
 * as sent) from the leaf to one of the anchors, with the peer's certificates as the only source of intermediates (none
 * are fetched, revocation is not checked: no network), under the JDK's certification-path algorithm constraints; then
 * Postern's own constraints (no MD5 or SHA-1 signatures, CA keys of at least 2048 bits RSA, as OpenSSL's security
 * level 2), the leaf's intended use (extended key usage and key usage, by the JDK's rules), and last the JDK's own PKIX
 * trust manager for the same use, so that Postern is never weaker than the JDK. Host names are not the JDK's business
 * here: the caller matches them against its policy ({@link NameMatcher}).
 */
final class ChainCheck {
    private ChainCheck() {}

    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    static final String ANY_USAGE = "2.5.29.37.0";

    /** The JDK's trust managers, one per anchor set (sets come from a cache and live as long as it). */
    private static final Map<Set<TrustAnchor>, X509TrustManager> JDK_MANAGERS =
            Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * Why {@code chain} (the leaf first, as the peer sent it) is not trusted for {@code purpose}, or null.
     *
     * @param authType the JSSE authentication type of the handshake for a server's key usage ("ECDHE_RSA", "RSA",
     *                 "UNKNOWN" for TLS 1.3); null when unknown (digitalSignature is then required, as for ECDHE)
     */
    static Problem check(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now, Purpose purpose,
                         String authType) {
        X509Certificate leaf = chain.getFirst();
        try {
            leaf.checkValidity(Date.from(now));
        } catch (CertificateExpiredException e) {
            return new Problem(ProblemKind.EXPIRED, "certificate expired on " + leaf.getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            return new Problem(ProblemKind.NOT_YET_VALID, "certificate not valid before "
                    + leaf.getNotBefore().toInstant());
        }
        if (anchors.isEmpty()) return new Problem(ProblemKind.NO_TRUST_ANCHORS, "no trust anchors configured");
        List<X509Certificate> path;
        try {
            path = build(chain, anchors, now);
        } catch (CertPathBuilderException e) {
            return diagnose(chain, anchors, now, e);
        } catch (GeneralSecurityException e) {
            return new Problem(ProblemKind.UNTRUSTED, "chain could not be validated: " + e.getMessage());
        }
        Problem weak = weakAlgorithm(path);
        if (weak != null) return weak;
        Problem usage = usage(leaf, purpose, authType);
        if (usage != null) return usage;
        return jdkVerdict(chain, anchors, purpose, authType);
    }

    /** The certification path from the leaf to (not including) an anchor, built by the JDK. */
    private static List<X509Certificate> build(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now)
            throws GeneralSecurityException {
        X509CertSelector target = new X509CertSelector();
        target.setCertificate(chain.getFirst());
        PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, target);
        params.setRevocationEnabled(false);
        params.setDate(Date.from(now));
        params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(chain)));
        PKIXCertPathBuilderResult result = (PKIXCertPathBuilderResult) CertPathBuilder.getInstance("PKIX").build(params);
        List<X509Certificate> path = new ArrayList<>();
        for (var c : result.getCertPath().getCertificates()) path.add((X509Certificate) c);
        return path;
    }

    /**
     * Why no path could be built: follows the chain as sent by issuer names to say which link is missing or bad, and
     * lets the JDK's validator name the reason for a path that reaches an anchor but does not validate.
     */
    private static Problem diagnose(List<X509Certificate> chain, Set<TrustAnchor> anchors, Instant now,
                                    CertPathBuilderException failure) {
        X509Certificate leaf = chain.getFirst();
        String untrusted = "untrusted chain (issuer " + leaf.getIssuerX500Principal().getName() + ")";
        List<X509Certificate> walked = new ArrayList<>();
        Set<X509Certificate> seen = new HashSet<>();
        X509Certificate current = leaf;
        while (seen.add(current)) {
            walked.add(current);
            if (issuedByAnchor(current, anchors)) return validate(walked, anchors, now, untrusted);
            X509Certificate issuer = issuerIn(chain, current);
            if (issuer == null) {
                if (isSelfIssued(current)) {
                    if (current == leaf) {
                        return new Problem(ProblemKind.SELF_SIGNED, "self-signed certificate (not trusted)");
                    }
                    return new Problem(ProblemKind.UNTRUSTED, untrusted + ": its root "
                            + current.getSubjectX500Principal().getName() + " is not a trust anchor");
                }
                return new Problem(ProblemKind.INCOMPLETE_CHAIN, "incomplete chain: the issuer "
                        + current.getIssuerX500Principal().getName() + " of "
                        + current.getSubjectX500Principal().getName()
                        + " was not sent and is not a trust anchor (intermediate certificates are not fetched)");
            }
            current = issuer;
        }
        return new Problem(ProblemKind.UNTRUSTED, untrusted + ": " + failure.getMessage());
    }

    private static Problem validate(List<X509Certificate> path, Set<TrustAnchor> anchors, Instant now,
                                    String untrusted) {
        try {
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(now));
            CertPathValidator.getInstance("PKIX").validate(
                    CertificateFactory.getInstance("X.509").generateCertPath(path), params);
            return new Problem(ProblemKind.UNTRUSTED, untrusted + ": no valid certification path");
        } catch (CertPathValidatorException e) {
            int index = e.getIndex();
            String which = index >= 0 && index < path.size()
                    ? path.get(index).getSubjectX500Principal().getName() : "a certificate";
            if (e.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
                return new Problem(ProblemKind.INVALID_CHAIN, "a certificate in the chain expired: " + which
                        + " on " + path.get(Math.max(0, index)).getNotAfter().toInstant());
            }
            if (e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                return new Problem(ProblemKind.INVALID_CHAIN, "a certificate in the chain is not valid yet: " + which);
            }
            if (e.getReason() == CertPathValidatorException.BasicReason.ALGORITHM_CONSTRAINED) {
                return new Problem(ProblemKind.WEAK_ALGORITHM, "weak algorithm in the chain (" + which + "): "
                        + e.getMessage());
            }
            if (e.getReason() == CertPathValidatorException.BasicReason.INVALID_SIGNATURE) {
                return new Problem(ProblemKind.UNTRUSTED, untrusted + ": the signature on " + which
                        + " does not verify");
            }
            return new Problem(ProblemKind.UNTRUSTED, untrusted + ": " + e.getMessage());
        } catch (GeneralSecurityException e) {
            return new Problem(ProblemKind.UNTRUSTED, "chain could not be validated: " + e.getMessage());
        }
    }

    private static boolean issuedByAnchor(X509Certificate c, Set<TrustAnchor> anchors) {
        X500Principal issuer = c.getIssuerX500Principal();
        for (TrustAnchor a : anchors) {
            X500Principal name = a.getTrustedCert() != null ? a.getTrustedCert().getSubjectX500Principal()
                    : a.getCA();
            if (issuer.equals(name)) return true;
        }
        return false;
    }

    private static X509Certificate issuerIn(List<X509Certificate> chain, X509Certificate c) {
        for (X509Certificate candidate : chain) {
            if (candidate != c && candidate.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
                return candidate;
            }
        }
        return null;
    }

    static boolean isSelfIssued(X509Certificate c) {
        return c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
    }

    /**
     * Postern's constraints on the built path (the anchor itself is trusted by configuration and not judged): no
     * signature made with MD2, MD5 or SHA-1 (the JDK refuses SHA-1 only under the public CAs it ships), and CA keys of
     * at least RSA/DSA 2048 or EC 224 bits (the JDK stops at 1024). The leaf's own key is the policy's business
     * ({@code min_key_bits}).
     */
    private static Problem weakAlgorithm(List<X509Certificate> path) {
        for (int i = 0; i < path.size(); i++) {
            X509Certificate c = path.get(i);
            String sig = c.getSigAlgName().toUpperCase(Locale.ROOT).replace("-", "");
            if (sig.startsWith("MD2") || sig.startsWith("MD5") || sig.startsWith("SHA1")) {
                return new Problem(ProblemKind.WEAK_ALGORITHM, "weak algorithm in the chain: "
                        + c.getSubjectX500Principal().getName() + " is signed with " + c.getSigAlgName()
                        + " (MD5 and SHA-1 signatures are refused)");
            }
            if (i > 0) {
                int bits = caKeyBits(c.getPublicKey());
                boolean ec = c.getPublicKey() instanceof ECPublicKey;
                if (bits > 0 && bits < (ec ? 224 : 2048)) {
                    return new Problem(ProblemKind.WEAK_ALGORITHM, "weak algorithm in the chain: CA "
                            + c.getSubjectX500Principal().getName() + " has a " + bits + "-bit "
                            + c.getPublicKey().getAlgorithm() + " key (at least " + (ec ? 224 : 2048) + " needed)");
                }
            }
        }
        return null;
    }

    private static int caKeyBits(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) return rsa.getModulus().bitLength();
        if (key instanceof DSAPublicKey dsa) return dsa.getParams().getP().bitLength();
        if (key instanceof ECPublicKey ec) return ec.getParams().getCurve().getField().getFieldSize();
        return 0;
    }

    /**
     * The leaf's intended use, by the JDK's rules (sun.security.validator.EndEntityChecker): an extended key usage,
     * when present, must allow the purpose or any use; a key usage, when present, must allow digitalSignature (clients;
     * servers with (EC)DHE and TLS 1.3), keyEncipherment (servers with RSA key transport) or keyAgreement (static
     * ECDH/DH).
     */
    static Problem usage(X509Certificate leaf, Purpose purpose, String authType) {
        if (purpose == Purpose.NONE) return null;
        String wanted = purpose == Purpose.SERVER ? SERVER_AUTH : CLIENT_AUTH;
        String role = purpose == Purpose.SERVER ? "TLS servers" : "TLS clients";
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            if (eku != null && !eku.contains(wanted) && !eku.contains(ANY_USAGE)) {
                return new Problem(ProblemKind.WRONG_USAGE, "certificate is not for " + role
                        + ": its extended key usage allows only " + usageNames(eku));
            }
        } catch (CertificateParsingException e) {
            return new Problem(ProblemKind.WRONG_USAGE, "certificate has an unreadable extended key usage");
        }
        boolean[] ku = leaf.getKeyUsage();
        if (ku == null) return null;
        int bit = 0;
        String name = "digitalSignature";
        if (purpose == Purpose.SERVER && authType != null) {
            if (authType.equals("RSA")) {
                bit = 2;
                name = "keyEncipherment";
            } else if (authType.startsWith("ECDH_") || authType.startsWith("DH_")) {
                bit = 4;
                name = "keyAgreement";
            }
        }
        if (ku.length <= bit || !ku[bit]) {
            return new Problem(ProblemKind.WRONG_USAGE, "certificate is not for " + role + ": its key usage lacks "
                    + name);
        }
        return null;
    }

    private static String usageNames(List<String> oids) {
        List<String> names = new ArrayList<>();
        for (String oid : oids) {
            names.add(switch (oid) {
                case SERVER_AUTH -> "serverAuth";
                case CLIENT_AUTH -> "clientAuth";
                case "1.3.6.1.5.5.7.3.3" -> "codeSigning";
                case "1.3.6.1.5.5.7.3.4" -> "emailProtection";
                case "1.3.6.1.5.5.7.3.8" -> "timeStamping";
                case "1.3.6.1.5.5.7.3.9" -> "OCSPSigning";
                default -> oid;
            });
        }
        return String.join(", ", names);
    }

    /**
     * The JDK's own PKIX trust manager on the same chain and use (its path building, end-entity checks and the TLS
     * variant of its algorithm constraints), as a last word: what it refuses, Postern refuses too.
     */
    private static Problem jdkVerdict(List<X509Certificate> chain, Set<TrustAnchor> anchors, Purpose purpose,
                                      String authType) {
        if (purpose == Purpose.NONE) return null;
        X509Certificate[] certs = chain.toArray(X509Certificate[]::new);
        try {
            X509TrustManager jdk = jdkManager(anchors);
            if (purpose == Purpose.SERVER) {
                jdk.checkServerTrusted(certs, authType == null ? "UNKNOWN" : authType);
            } else {
                jdk.checkClientTrusted(certs, certs[0].getPublicKey().getAlgorithm());
            }
            return null;
        } catch (CertificateException e) {
            return new Problem(ProblemKind.REFUSED_BY_JDK, "refused by the JDK's PKIX checks: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            return new Problem(ProblemKind.UNTRUSTED, "chain could not be validated: " + e.getMessage());
        }
    }

    private static X509TrustManager jdkManager(Set<TrustAnchor> anchors) throws GeneralSecurityException {
        X509TrustManager known = JDK_MANAGERS.get(anchors);
        if (known != null) return known;
        PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, null);
        params.setRevocationEnabled(false);
        TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
        factory.init(new CertPathTrustManagerParameters(params));
        for (TrustManager tm : factory.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                JDK_MANAGERS.put(anchors, x);
                return x;
            }
        }
        throw new NoTrustManager();
    }

    /** The JDK returned no X.509 trust manager (cannot happen with its own provider). */
    private static final class NoTrustManager extends GeneralSecurityException {
        NoTrustManager() {
            super("the JDK has no PKIX X.509 trust manager");
        }
    }

    /** The JSSE authentication type of a negotiated suite: "UNKNOWN" for TLS 1.3, "ECDHE_RSA" etc. for TLS 1.2. */
    static String authType(String suite) {
        if (suite == null) return null;
        int with = suite.indexOf("_WITH_");
        if (with < 0) return "UNKNOWN";
        String kx = suite.substring(0, with);
        return kx.startsWith("TLS_") || kx.startsWith("SSL_") ? kx.substring(4) : kx;
    }
}
