package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.tls.Certificates.KeyType;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 1: the server's key manager must not fetch (decrypt) a key per handshake nor grow per handshake. The
 * JDK's PKIX key manager over a key store hands out a new alias for every handshake ("1.0.server-0", "2.0.server-0",
 * ...) and decrypts the PKCS12 entry for each new alias, so a cache keyed by alias neither hit nor stopped growing.
 * Real full handshakes on loopback (each client session invalidated after use, so no resumption), watched by a recording key
 * manager around the one {@link TlsContexts} builds.
 */
class KeyManagerReuseTest {
    static KeyMaterial rsa;
    static KeyMaterial ec;

    @BeforeAll static void certificates() {
        rsa = Certificates.selfSigned(List.of("gw.example"), KeyType.RSA_2048, Duration.ofDays(30));
        ec = Certificates.selfSigned(List.of("gw.example"), KeyType.EC_P256, Duration.ofDays(30));
    }

    @Test void aThousandFullHandshakesFetchNoKeyAndAddNoAlias() throws Exception {
        Recording keys = new Recording(TlsContexts.keyManager(List.of(rsa, ec)), Set.of(rsa.key(), ec.key()));
        handshakes(TlsContexts.context(keys, "server", null), 1000, List.of(ClientShape.ecdsaOnly("TLSv1.3"),
                ClientShape.rsaOnly("TLSv1.3"), ClientShape.ecdsaOnly("TLSv1.2"), ClientShape.rsaOnly("TLSv1.2")));

        assertThat(keys.keyCalls.get()).as("one key per full handshake").isGreaterThanOrEqualTo(1000);
        assertThat(keys.aliases).as("aliases handed out").hasSizeLessThanOrEqualTo(2);
        assertThat(keys.fetched.get()).as("keys that are not the configured objects (fetched from a store)").isZero();
    }

    /** Conscrypt asks the same key manager, through its own calls: the same must hold. */
    @Test void conscryptToo() throws Exception {
        Provider conscrypt;
        try {
            conscrypt = TlsProviders.conscrypt();
        } catch (TlsConfigException e) {
            org.junit.jupiter.api.Assumptions.abort("Conscrypt not available here: " + e.getMessage());
            return;
        }
        Recording keys = new Recording(TlsContexts.keyManager(List.of(rsa, ec)), Set.of(rsa.key(), ec.key()));
        // Conscrypt 2.9 serves one certificate per connection (the EC one here): ECDSA-capable clients only.
        handshakes(TlsContexts.context(keys, "server", conscrypt), 200, List.of(ClientShape.ecdsaOnly("TLSv1.3"),
                ClientShape.ecdsaOnly("TLSv1.2")));

        assertThat(keys.keyCalls.get()).isGreaterThanOrEqualTo(200);
        assertThat(keys.aliases).hasSizeLessThanOrEqualTo(2);
        assertThat(keys.fetched.get()).isZero();
    }

    /** {@code count} handshakes, {@code clients} in turn, each a full handshake (no session is resumed). */
    private static void handshakes(SSLContext server, int count, List<ClientShape> clients) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (!listener.isClosed()) {
                    try (Socket plain = listener.accept(); SSLSocket tls = TlsContexts.wrapServer(server, plain)) {
                        plain.setTcpNoDelay(true); // no delayed-ACK stall per handshake
                        tls.setSoTimeout(10_000);
                        tls.startHandshake();
                        tls.getOutputStream().write(tls.getInputStream().read());
                        tls.getOutputStream().flush();
                    } catch (IOException e) {
                        // the client side reports
                    }
                }
            });
            // One client context per shape (building one per handshake cost most of the test's time); each session
            // is invalidated after use, so the next handshake is a full one (the key-call count below checks it).
            List<SSLContext> contexts = new java.util.ArrayList<>();
            for (int i = 0; i < clients.size(); i++) contexts.add(TlsContexts.opportunisticClient());
            for (int i = 0; i < count; i++) {
                ClientShape client = clients.get(i % clients.size());
                try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                     SSLSocket tls = client.wrap(plain, contexts.get(i % clients.size()))) {
                    plain.setTcpNoDelay(true);
                    tls.setSoTimeout(10_000);
                    tls.startHandshake();
                    X509Certificate leaf = (X509Certificate) tls.getSession().getPeerCertificates()[0];
                    assertThat(leaf).as("handshake %d, %s", i, client)
                            .isEqualTo(client.label().startsWith("RSA") ? rsa.leaf() : ec.leaf());
                    tls.getOutputStream().write('x');
                    tls.getOutputStream().flush();
                    assertThat(tls.getInputStream().read()).isEqualTo('x');
                    tls.getSession().invalidate();
                }
            }
            listener.close();
            acceptor.join(10_000);
        }
    }

    /** Delegates everything, noting each alias handed out and each private key that is not a configured object. */
    private static final class Recording extends X509ExtendedKeyManager {
        final X509ExtendedKeyManager delegate;
        final Set<PrivateKey> configured;
        final Set<String> aliases = ConcurrentHashMap.newKeySet();
        final AtomicInteger keyCalls = new AtomicInteger();
        final AtomicInteger fetched = new AtomicInteger();

        Recording(X509ExtendedKeyManager delegate, Set<PrivateKey> configured) {
            this.delegate = delegate;
            this.configured = configured;
        }

        private String note(String alias) {
            if (alias != null) aliases.add(alias);
            return alias;
        }

        @Override public PrivateKey getPrivateKey(String alias) {
            keyCalls.incrementAndGet();
            PrivateKey key = delegate.getPrivateKey(alias);
            // Identity, not equality: a key decrypted from a store is a new object with the same content.
            if (key != null && configured.stream().noneMatch(k -> k == key)) fetched.incrementAndGet();
            return key;
        }

        @Override public X509Certificate[] getCertificateChain(String alias) {
            return delegate.getCertificateChain(alias);
        }

        @Override public String[] getClientAliases(String keyType, Principal[] issuers) {
            return delegate.getClientAliases(keyType, issuers);
        }

        @Override public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return note(delegate.chooseClientAlias(keyType, issuers, socket));
        }

        @Override public String[] getServerAliases(String keyType, Principal[] issuers) {
            return delegate.getServerAliases(keyType, issuers);
        }

        @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return note(delegate.chooseServerAlias(keyType, issuers, socket));
        }

        @Override public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return note(delegate.chooseEngineClientAlias(keyType, issuers, engine));
        }

        @Override public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return note(delegate.chooseEngineServerAlias(keyType, issuers, engine));
        }
    }
}
