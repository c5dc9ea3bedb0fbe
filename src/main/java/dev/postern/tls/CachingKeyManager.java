package dev.postern.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * JSSE's PKIX key manager chooses well among several certificates (by the client's signature algorithms, key types
 * and SNI), but fetches the private key from its key store on every handshake, and an in-memory PKCS12 store
 * decrypts it each time (PBKDF2, 10 000 rounds): a third of the gateway's CPU in the relay benchmark. This wrapper
 * keeps the choosing and remembers the keys and chains once fetched.
 */
final class CachingKeyManager extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager delegate;
    private final Map<String, PrivateKey> keys = new ConcurrentHashMap<>();
    private final Map<String, X509Certificate[]> chains = new ConcurrentHashMap<>();

    CachingKeyManager(X509ExtendedKeyManager delegate) {
        this.delegate = delegate;
    }

    @Override public PrivateKey getPrivateKey(String alias) {
        if (alias == null) return null;
        PrivateKey known = keys.get(alias);
        if (known != null) return known;
        PrivateKey key = delegate.getPrivateKey(alias);
        if (key != null) keys.put(alias, key);
        return key;
    }

    @Override public X509Certificate[] getCertificateChain(String alias) {
        if (alias == null) return null;
        X509Certificate[] known = chains.get(alias);
        if (known != null) return known.clone();
        X509Certificate[] chain = delegate.getCertificateChain(alias);
        if (chain != null) chains.put(alias, chain.clone());
        return chain;
    }

    @Override public String[] getClientAliases(String keyType, Principal[] issuers) {
        return delegate.getClientAliases(keyType, issuers);
    }

    @Override public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return delegate.chooseClientAlias(keyType, issuers, socket);
    }

    @Override public String[] getServerAliases(String keyType, Principal[] issuers) {
        return delegate.getServerAliases(keyType, issuers);
    }

    @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return delegate.chooseServerAlias(keyType, issuers, socket);
    }

    @Override public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return delegate.chooseEngineClientAlias(keyType, issuers, engine);
    }

    @Override public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return delegate.chooseEngineServerAlias(keyType, issuers, engine);
    }
}
