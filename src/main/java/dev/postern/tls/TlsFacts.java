package dev.postern.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * What a TLS session was, in the words a Received header, a log line and an audit record need.
 * {@code cipherBits} is the symmetric key size of the suite (256 for AES_256 and CHACHA20, 128 for AES_128).
 * {@code peerCertificate} is a short subject summary of the peer's leaf or null when it sent none.
 */
public record TlsFacts(String protocol, String cipher, int cipherBits, String peerCertificate) {

    public static TlsFacts of(SSLSession session) {
        String suite = session.getCipherSuite();
        return new TlsFacts(session.getProtocol(), suite, cipherBits(suite), peerSubject(session));
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
