package dev.postern.tls;

import java.net.Socket;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * Builds SSLContexts and wraps sockets with Postern's safe defaults: TLS 1.2 and 1.3 only; AEAD, forward-secret
 * suites only; server cipher order honoured.
 */
public final class TlsContexts {
    private TlsContexts() {}

    /** The protocols Postern ever enables. */
    public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** Server context presenting {@code material}; no client certificate requested (issue 3 adds that). */
    public static SSLContext server(KeyMaterial material) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Client context for opportunistic TLS: accepts any server certificate (verification is done and recorded by the
     * caller from the session, never enforced at this level).
     */
    public static SSLContext opportunisticClient() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Layers server-side TLS over an accepted (plaintext) socket, hardened, handshake not yet started. */
    public static SSLSocket wrapServer(SSLContext context, Socket plain) throws java.io.IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Layers client-side TLS over a connected socket, with SNI set to {@code host}, hardened, handshake not started. */
    public static SSLSocket wrapClient(SSLContext context, Socket plain, String host, int port) throws java.io.IOException {
        throw new UnsupportedOperationException("TODO");
    }
}
