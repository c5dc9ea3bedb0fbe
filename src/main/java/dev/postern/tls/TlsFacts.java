package dev.postern.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * What a TLS session was, in the words a Received header, a log line and an audit record need.
 * {@code cipherBits} is the symmetric key size of the suite (256 for AES_256 and CHACHA20, 128 for AES_128).
 * {@code peerCertificate} is a short subject summary of the peer's leaf or null when it sent none.
 * {@code clientCertificate} is, for sessions where Postern is the client, whether the server asked for a certificate
 * and whether it got one.
 */
public record TlsFacts(String protocol, String cipher, int cipherBits, String peerCertificate,
                       ClientCertificate clientCertificate) {

    /** Whether the server asked Postern (the client) for a certificate, and whether it got one. */
    public enum ClientCertificate {
        /** A session where Postern is the server. */
        NOT_APPLICABLE("n/a"),
        /** The server sent no certificate request in this handshake. */
        NOT_ASKED("not-asked"),
        /** Asked, and none sent: no certificate configured, or none of a key type the server accepts. */
        ASKED_NONE_SENT("asked-none-sent"),
        /** Asked, and sent. */
        SENT("sent");

        private final String word;

        ClientCertificate(String word) { this.word = word; }

        /** The word for log lines: "not-asked", "asked-none-sent", "sent". */
        public String word() { return word; }
    }

    public TlsFacts {
        if (clientCertificate == null) clientCertificate = ClientCertificate.NOT_APPLICABLE;
    }

    public TlsFacts(String protocol, String cipher, int cipherBits, String peerCertificate) {
        this(protocol, cipher, cipherBits, peerCertificate, ClientCertificate.NOT_APPLICABLE);
    }

    /** The facts of a session where Postern is the server (or where the client side does not matter). */
    public static TlsFacts of(SSLSession session) {
        String suite = session.getCipherSuite();
        return new TlsFacts(session.getProtocol(), suite, cipherBits(suite), peerSubject(session));
    }

    /**
     * The facts of a session where Postern is the client, made from one of {@link TlsContexts}' client contexts
     * (whose key manager notes whether the server asked for a certificate).
     */
    public static TlsFacts ofClient(SSLSession session) {
        String suite = session.getCipherSuite();
        Certificate[] sent = session.getLocalCertificates();
        ClientCertificate client = sent != null && sent.length > 0 ? ClientCertificate.SENT
                : MaterialKeyManager.asked(session) ? ClientCertificate.ASKED_NONE_SENT : ClientCertificate.NOT_ASKED;
        return new TlsFacts(session.getProtocol(), suite, cipherBits(suite), peerSubject(session), client);
    }

    /** "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))", as Postfix writes it. */
    public String receivedClause() {
        // Postfix prints used/algorithm bits; for JSSE suites both are the key size. Unknown sizes are left out.
        String bits = cipherBits < 0 ? "" : " (" + cipherBits + "/" + cipherBits + " bits)";
        return "(using " + protocol + " with cipher " + cipher + bits + ")";
    }

    /** Symmetric key bits for a JSSE/IANA suite name: 256, 128, 112 (3DES), 0 (NULL) or -1 when unknown. */
    public static int cipherBits(String suite) {
        if (suite == null) return -1;
        // The bulk cipher follows "_WITH_" (TLS 1.2 and older) or the "TLS_" prefix (TLS 1.3).
        int with = suite.indexOf("_WITH_");
        String bulk = with >= 0 ? suite.substring(with + "_WITH_".length()) : suite.replaceFirst("^(TLS|SSL)_", "");
        if (bulk.startsWith("AES_256") || bulk.startsWith("CHACHA20")) return 256;
        if (bulk.startsWith("AES_128")) return 128;
        if (bulk.startsWith("3DES")) return 112;
        if (bulk.startsWith("NULL")) return 0;
        return -1;
    }

    private static String peerSubject(SSLSession session) {
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate leaf
                    ? leaf.getSubjectX500Principal().getName() : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
