package dev.postern.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A key manager over Postern's own key material: the private keys are held as objects, so a handshake never goes
 * through a key store (the JDK's PKIX key manager decrypts a PKCS12 entry, PBKDF2, on every full handshake), and the
 * aliases are fixed ("0", "1", ... in the order given), so nothing grows per handshake.
 *
 * <p>As server, for each key type JSSE asks about (in TLS 1.3 the key types of the client's signature_algorithms in
 * the client's order, in TLS 1.2 the cipher suite's), it chooses among the certificates of that key type whose chain
 * is signed only with algorithms the client accepts (as the JDK's PKIX key manager does); among those it prefers one
 * whose extended key usage allows serverAuth, then one valid now, then one that matches the client's SNI name, then the
 * first given.
 *
 * <p>As client it presents its certificate whenever the server asks for one and the key type is among those the
 * server accepts, whatever the server's list of acceptable issuers says: a partner that pins our certificate may well
 * list no CA, or other ones. Whether the server asked is noted in the handshake session (see {@link #asked}).
 */
final class MaterialKeyManager extends X509ExtendedKeyManager {
    /** Session value set when the server asked this client for a certificate. */
    static final String CERTIFICATE_REQUESTED = "dev.postern.tls.certificate-requested";

    private final List<KeyMaterial> materials;
    private final String[] aliases;
    private final X509Certificate[][] chains;

    MaterialKeyManager(List<KeyMaterial> materials) {
        this.materials = List.copyOf(materials);
        this.aliases = new String[this.materials.size()];
        this.chains = new X509Certificate[this.materials.size()][];
        for (int i = 0; i < aliases.length; i++) {
            aliases[i] = Integer.toString(i);
            chains[i] = this.materials.get(i).chain().toArray(X509Certificate[]::new);
        }
    }

    /** Whether the server of {@code session} asked for a client certificate (known to client sessions of ours). */
    static boolean asked(SSLSession session) {
        return Boolean.TRUE.equals(session.getValue(CERTIFICATE_REQUESTED));
    }

    @Override public PrivateKey getPrivateKey(String alias) {
        int i = index(alias);
        return i < 0 ? null : materials.get(i).key();
    }

    @Override public X509Certificate[] getCertificateChain(String alias) {
        int i = index(alias);
        return i < 0 ? null : chains[i].clone();
    }

    private int index(String alias) {
        for (int i = 0; i < aliases.length; i++) if (aliases[i].equals(alias)) return i;
        return -1;
    }

    // ---- client side

    @Override public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        if (socket instanceof SSLSocket ssl) noteRequest(ssl.getHandshakeSession());
        return clientAlias(keyTypes);
    }

    @Override public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        if (engine != null) noteRequest(engine.getHandshakeSession());
        return clientAlias(keyTypes);
    }

    private static void noteRequest(SSLSession handshake) {
        if (handshake != null) handshake.putValue(CERTIFICATE_REQUESTED, Boolean.TRUE);
    }

    /** The first certificate whose key type the server accepts; the issuers it listed are deliberately ignored. */
    private String clientAlias(String[] keyTypes) {
        if (keyTypes == null) return null;
        List<String> accepted = Arrays.asList(keyTypes);
        for (int i = 0; i < aliases.length; i++) {
            if (accepted.contains(keyAlgorithm(i))) return aliases[i];
        }
        return null;
    }

    @Override public String[] getClientAliases(String keyType, Principal[] issuers) {
        return aliasesOf(keyType);
    }

    // ---- server side

    @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return serverAlias(keyType, socket instanceof SSLSocket ssl ? handshakeSession(ssl) : null);
    }

    @Override public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return serverAlias(keyType, engine == null ? null : engine.getHandshakeSession());
    }

    @Override public String[] getServerAliases(String keyType, Principal[] issuers) {
        return aliasesOf(keyType);
    }

    private static SSLSession handshakeSession(SSLSocket socket) {
        try {
            return socket.getHandshakeSession();
        } catch (RuntimeException e) { // a provider that cannot tell during its certificate callback
            return null;
        }
    }

    private String serverAlias(String keyType, SSLSession handshake) {
        if (keyType == null) return null;
        Set<String> accepted = peerSignatureAlgorithms(handshake);
        String sni = requestedHostName(handshake);
        Date now = new Date();
        int best = -1, bestRank = Integer.MAX_VALUE;
        for (int i = 0; i < aliases.length; i++) {
            if (!keyType.equals(keyAlgorithm(i))) continue;
            if (accepted != null && !signedWith(chains[i], accepted)) continue;
            int rank = rank(chains[i][0], now, sni);
            if (rank < bestRank) {
                best = i;
                bestRank = rank;
            }
        }
        return best < 0 ? null : aliases[best];
    }

    /** Lower is better: a wrong extended key usage weighs most, then expiry, then an SNI name not covered. */
    private static int rank(X509Certificate leaf, Date now, String sni) {
        int rank = 0;
        if (!allowsServerAuth(leaf)) rank += 4;
        try {
            leaf.checkValidity(now);
        } catch (java.security.cert.CertificateException e) {
            rank += 2;
        }
        if (sni != null && NameMatcher.names(leaf).stream().noneMatch(n -> NameMatcher.hostMatches(sni, n))) rank += 1;
        return rank;
    }

    private static boolean allowsServerAuth(X509Certificate leaf) {
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            return eku == null || eku.contains("1.3.6.1.5.5.7.3.1") || eku.contains("2.5.29.37.0");
        } catch (CertificateParsingException e) {
            return false;
        }
    }

    /**
     * The signature algorithms the peer accepts in certificates ("SHA256withECDSA", "RSASSA-PSS", ...), case-folded,
     * or null when unknown (then any chain will do).
     */
    private static Set<String> peerSignatureAlgorithms(SSLSession handshake) {
        if (!(handshake instanceof ExtendedSSLSession extended)) return null;
        try {
            String[] names = extended.getPeerSupportedSignatureAlgorithms();
            if (names == null || names.length == 0) return null;
            Set<String> out = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
            out.addAll(Arrays.asList(names));
            return out;
        } catch (RuntimeException e) { // UnsupportedOperationException from a provider that does not know
            return null;
        }
    }

    private static boolean signedWith(X509Certificate[] chain, Set<String> accepted) {
        for (X509Certificate c : chain) if (!accepted.contains(c.getSigAlgName())) return false;
        return true;
    }

    /** The host name the client asked for (SNI), lower case; null when none. */
    static String requestedHostName(SSLSession handshake) {
        if (!(handshake instanceof ExtendedSSLSession extended)) return null;
        try {
            for (SNIServerName name : extended.getRequestedServerNames()) {
                if (name.getType() != StandardConstants.SNI_HOST_NAME) continue;
                SNIHostName host = name instanceof SNIHostName h ? h : new SNIHostName(name.getEncoded());
                return host.getAsciiName().toLowerCase(Locale.ROOT);
            }
        } catch (RuntimeException e) { // unsupported by the provider, or a name that is not a host name
            return null;
        }
        return null;
    }

    private String keyAlgorithm(int i) {
        return chains[i][0].getPublicKey().getAlgorithm();
    }

    private String[] aliasesOf(String keyType) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < aliases.length; i++) if (keyAlgorithm(i).equals(keyType)) out.add(aliases[i]);
        return out.isEmpty() ? null : out.toArray(String[]::new);
    }
}
