package dev.postern.tls;

import dev.postern.audit.CertificateSummary;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.conscrypt.Conscrypt;

/**
 * The facts of a TLS session that the audit records and the Received header does not need: the peer's chain as
 * {@link CertificateSummary} values, the key-exchange group, SNI, resumption. Made once per session (hashes and PEM
 * are computed here, never per message), from what the finished handshake already holds: no I/O, no DNS.
 */
public final class AuditFacts {
    private AuditFacts() {}

    /** The chain (leaf first) as the audit keeps it: every certificate summarised, the leaf's PEM too. */
    public static List<CertificateSummary> chain(List<X509Certificate> chain) {
        List<CertificateSummary> out = new ArrayList<>(chain.size());
        for (int i = 0; i < chain.size(); i++) out.add(summary(chain.get(i), i == 0));
        return out;
    }

    /** One certificate; {@code withPem} for the leaf. */
    public static CertificateSummary summary(X509Certificate c, boolean withPem) {
        byte[] der;
        String pem = null;
        try {
            der = c.getEncoded();
            if (withPem) pem = Pem.certificate(c);
        } catch (CertificateEncodingException e) {
            der = new byte[0]; // a certificate the JDK parsed can be encoded again; never seen in practice
        }
        int bits = PeerCheck.keyBits(c.getPublicKey());
        return new CertificateSummary(c.getSubjectX500Principal().getName(), sans(c),
                c.getIssuerX500Principal().getName(), c.getNotBefore().toInstant(), c.getNotAfter().toInstant(),
                c.getPublicKey().getAlgorithm(), bits == 0 ? -1 : bits, PeerCheck.sha256(der),
                PeerCheck.sha256(c.getPublicKey().getEncoded()), pem);
    }

    /** DNS and IP address SANs as written in the certificate, in its order. */
    static List<String> sans(X509Certificate c) {
        Collection<List<?>> all;
        try {
            all = c.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return List.of();
        }
        if (all == null) return List.of();
        List<String> out = new ArrayList<>();
        for (List<?> san : all) {
            int type = (Integer) san.get(0);
            if ((type == 2 || type == 7) && san.get(1) instanceof String s) out.add(s); // dNSName, iPAddress
        }
        return out;
    }

    /** The peer's certificates of a session, leaf first; empty when it sent none. */
    public static List<X509Certificate> peerChain(SSLSession session) {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (java.security.cert.Certificate c : session.getPeerCertificates()) {
                if (c instanceof X509Certificate x) out.add(x);
            }
            return List.copyOf(out);
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    /** Where a session keeps the group its handshake used, for a TLS 1.2 resumption (which makes no new one). */
    private static final String GROUP_VALUE = "dev.postern.keyExchangeGroup";

    /**
     * The negotiated key-exchange group by its IANA name ("x25519", "secp256r1", "X25519MLKEM768"), or null when
     * unknown. Conscrypt says ({@code Conscrypt.getGroupName}, whose BoringSSL names are mapped to the IANA ones); the
     * JDK's JSSE (through JDK 25) has no API for it, so {@link TlsContexts} layers its sockets over a
     * {@link HandshakeTap} that reads the group from the server's plaintext handshake messages. A resumed TLS 1.2
     * session makes no key exchange: its group is the one of the handshake that made the session, kept on the session
     * (so a client knows it; the JDK's server resumes from a stateless ticket, a new session: null). Call after the
     * handshake.
     */
    public static String keyExchangeGroup(SSLSocket socket) {
        try {
            if (TlsProviders.isConscrypt(socket)) return NamedGroups.fromBoringSsl(Conscrypt.getGroupName(socket));
            String group = HandshakeTap.groupOf(socket);
            SSLSession session = socket.getSession();
            if (group != null) session.putValue(GROUP_VALUE, group);
            else if (session.getValue(GROUP_VALUE) instanceof String kept) group = kept;
            return group;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The server name the client asked for (SNI) in a session where Postern is the server, or null. */
    public static String requestedServerName(SSLSession session) {
        return MaterialKeyManager.requestedHostName(session);
    }

    /** The server name Postern sent (SNI) as a client, or null (an IP literal gets none). */
    public static String sentServerName(SSLSocket socket) {
        List<SNIServerName> names = socket.getSSLParameters().getServerNames();
        if (names == null) return null;
        for (SNIServerName name : names) {
            if (name instanceof SNIHostName h) return h.getAsciiName();
        }
        return null;
    }

    /**
     * Whether the session was resumed rather than made by a full handshake: a resumed session was created before
     * this handshake started ({@code handshakeStartMillis}, taken just before it). Both JSSE and Conscrypt keep the
     * original creation time on the session they resume; Conscrypt's is BoringSSL's, in whole seconds, so for it
     * only a session made in an earlier second counts (a resumption within the second of the full handshake is
     * recorded as a full one: never the other way round).
     */
    public static boolean resumed(SSLSession session, long handshakeStartMillis) {
        long start = session.getClass().getName().startsWith("org.conscrypt.")
                ? handshakeStartMillis - Math.floorMod(handshakeStartMillis, 1000L) : handshakeStartMillis;
        return session.getCreationTime() < start;
    }
}
