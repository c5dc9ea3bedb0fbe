package dev.postern.tls;

import javax.net.ssl.SSLSession;

/**
 * What a TLS session was, in the words a Received header, a log line and an audit record need.
 * {@code cipherBits} is the symmetric key size of the suite (256 for AES_256 and CHACHA20, 128 for AES_128).
 * {@code peerCertificate} is a short subject summary of the peer's leaf or null when it sent none.
 */
public record TlsFacts(String protocol, String cipher, int cipherBits, String peerCertificate) {

    public static TlsFacts of(SSLSession session) {
        throw new UnsupportedOperationException("TODO");
    }

    /** "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))", as Postfix writes it. */
    public String receivedClause() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Symmetric key bits for a JSSE/IANA suite name: 256, 128, 112 (3DES), 0 (NULL) or -1 when unknown. */
    public static int cipherBits(String suite) {
        throw new UnsupportedOperationException("TODO");
    }
}
