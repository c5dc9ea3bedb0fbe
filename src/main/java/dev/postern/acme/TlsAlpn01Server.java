package dev.postern.acme;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS-ALPN-01 listener (RFC 8737): a TLS server that only completes handshakes offering the ALPN protocol
 * {@code acme-tls/1} for a name with a challenge under way (a client offering no ALPN gets no certificate), presenting that name's self-signed validation
 * certificate (the {@code acmeIdentifier} extension made by acme4j), and then closes. Up only while an order is being
 * authorized.
 */
final class TlsAlpn01Server implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TlsAlpn01Server.class);
    static final String PROTOCOL = "acme-tls/1";

    /** A validation certificate and its key, per name (lookup form). */
    record Validation(PrivateKey key, X509Certificate certificate) {}

    private final Map<String, Validation> names;
    private final SSLServerSocket server;
    private volatile boolean closed;

    private TlsAlpn01Server(Map<String, Validation> names, SSLServerSocket server) {
        this.names = names;
        this.server = server;
    }

    static TlsAlpn01Server start(InetSocketAddress address) throws IOException {
        Map<String, Validation> names = new ConcurrentHashMap<>();
        SSLContext context;
        try {
            context = SSLContext.getInstance("TLS");
            context.init(new KeyManager[] {new BySni(names::get)}, null, null);
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot make the TLS-ALPN-01 context: " + e.getMessage(), e);
        }
        SSLServerSocket socket = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
        socket.bind(address, 16);
        TlsAlpn01Server s = new TlsAlpn01Server(names, socket);
        Thread.ofPlatform().name("acme-tls-alpn").daemon(true).start(s::serve);
        return s;
    }

    InetSocketAddress address() { return (InetSocketAddress) server.getLocalSocketAddress(); }

    void put(String name, Validation v) { names.put(name, v); }

    void remove(String name) { names.remove(name); }

    private void serve() {
        while (!closed) {
            try {
                SSLSocket s = (SSLSocket) server.accept();
                Thread.ofVirtual().name("acme-tls-alpn-conn").start(() -> handshake(s));
            } catch (IOException e) {
                if (!closed) log.warn("acme tls-alpn-01 listener: {}", e.getMessage());
                return;
            }
        }
    }

    private static void handshake(SSLSocket s) {
        try (s) {
            s.setSoTimeout(10_000);
            // RFC 8737 §3: only acme-tls/1; null ends the handshake with no_application_protocol
            s.setHandshakeApplicationProtocolSelector((sock, offered) ->
                    offered.contains(PROTOCOL) ? PROTOCOL : null);
            s.startHandshake();
            log.atDebug().addKeyValue("client", s.getRemoteSocketAddress()).log("acme tls-alpn-01 handshake done");
        } catch (IOException e) {
            log.atDebug().addKeyValue("client", s.getRemoteSocketAddress()).addKeyValue("reason", e.getMessage())
                    .log("acme tls-alpn-01 handshake failed");
        }
    }

    @Override public void close() throws IOException {
        closed = true;
        server.close();
    }

    /** Chooses the validation certificate of the name the client asked for (SNI); none for any other name. */
    private static final class BySni extends X509ExtendedKeyManager {
        private final java.util.function.Function<String, Validation> lookup;

        BySni(java.util.function.Function<String, Validation> lookup) {
            this.lookup = lookup;
        }

        private String alias(String keyType, SSLSession handshake) {
            if (!(handshake instanceof ExtendedSSLSession e)) return null;
            for (SNIServerName n : e.getRequestedServerNames()) {
                if (n instanceof SNIHostName h) {
                    String name = h.getAsciiName().toLowerCase(java.util.Locale.ROOT);
                    Validation v = lookup.apply(name);
                    return v != null && v.key().getAlgorithm().equals(keyType) ? name : null;
                }
            }
            return null;
        }

        // A client that offers no ALPN at all never reaches the protocol selector, so the negotiated protocol is
        // checked here too (it is chosen before the certificate): an ordinary client gets no certificate.
        @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return socket instanceof SSLSocket s && PROTOCOL.equals(s.getHandshakeApplicationProtocol())
                    ? alias(keyType, s.getHandshakeSession()) : null;
        }

        @Override public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return PROTOCOL.equals(engine.getHandshakeApplicationProtocol())
                    ? alias(keyType, engine.getHandshakeSession()) : null;
        }

        @Override public X509Certificate[] getCertificateChain(String alias) {
            Validation v = lookup.apply(alias);
            return v == null ? null : new X509Certificate[] {v.certificate()};
        }

        @Override public PrivateKey getPrivateKey(String alias) {
            Validation v = lookup.apply(alias);
            return v == null ? null : v.key();
        }

        @Override public String[] getServerAliases(String keyType, Principal[] issuers) { return null; }

        @Override public String[] getClientAliases(String keyType, Principal[] issuers) { return null; }

        @Override public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }
}
