package dev.postern.tls;

import dev.postern.config.Config;
import java.security.Provider;
import javax.net.ssl.SSLSocket;
import org.conscrypt.Conscrypt;

/**
 * The TLS implementations {@code [tls] provider} chooses between. A provider is handed to the contexts that use it
 * ({@link TlsContexts#server(java.util.List, Provider)}), never installed with {@code Security.insertProviderAt}, so
 * that gateways in one JVM (as in tests) do not affect each other.
 */
public final class TlsProviders {
    private TlsProviders() {}

    /**
     * The provider for {@code choice}: null for the JDK's own (the default JSSE), a new Conscrypt provider otherwise.
     *
     * @throws TlsConfigException when Conscrypt's native library cannot be loaded on this machine
     */
    public static Provider of(Config.TlsProvider choice) throws TlsConfigException {
        return switch (choice) {
            case JDK -> null;
            case CONSCRYPT -> conscrypt();
            case AUTO -> throw new IllegalArgumentException("provider auto is resolved by the gateway first");
        };
    }

    /** A new Conscrypt provider (BoringSSL through JNI), for use by explicit contexts only. */
    public static Provider conscrypt() throws TlsConfigException {
        try {
            Conscrypt.checkAvailability();
            return Conscrypt.newProvider();
        } catch (Throwable e) { // UnsatisfiedLinkError, or an Error wrapping it, when the native library does not load
            throw new TlsConfigException("[tls] provider = \"conscrypt\": Conscrypt cannot be used on this machine: "
                    + e, e);
        }
    }

    /** Provider-specific settings for a server socket, before its handshake; nothing for the JDK's. */
    static void prepareServer(SSLSocket socket) {
        if (!isConscrypt(socket)) return;
        Conscrypt.setUseSessionTickets(socket, true);
        // Shared direct buffers instead of one per engine for the connection's life: an idle session holds less.
        Conscrypt.setBufferAllocator(socket, DirectBufferPool.SERVER);
    }

    /** Whether {@code socket} is Conscrypt's, without loading Conscrypt (or its native library) when it is not. */
    static boolean isConscrypt(SSLSocket socket) {
        return socket.getClass().getName().startsWith("org.conscrypt.") && Conscrypt.isConscrypt(socket);
    }
}
