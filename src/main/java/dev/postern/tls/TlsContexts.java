package dev.postern.tls;

import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Builds SSLContexts and wraps sockets with Postern's safe defaults: TLS 1.2 and 1.3 only; AEAD, forward-secret
 * suites only; server cipher order honoured.
 */
public final class TlsContexts {
    private TlsContexts() {}

    private static final String JDK_PROVIDER = "SunJSSE";

    /** The protocols Postern ever enables. */
    public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** AEAD ciphers in server preference order; the index is the rank. */
    private static final List<String> AEAD_PREFERENCE = List.of("AES_256_GCM", "CHACHA20_POLY1305", "AES_128_GCM");
    private static final Pattern TLS13_SUITE = Pattern.compile("TLS_(AES_256_GCM|CHACHA20_POLY1305|AES_128_GCM)_SHA(256|384)");
    /** TLS 1.2: ephemeral ECDH only (no RSA key transport, no finite-field DHE), AEAD only (no CBC). */
    private static final Pattern TLS12_SUITE =
            Pattern.compile("TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_256_GCM|CHACHA20_POLY1305|AES_128_GCM)_SHA(256|384)");


    /** Server context presenting {@code material}; client certificates are asked for per socket, see wrapServer. */
    public static SSLContext server(KeyMaterial material) {
        return server(List.of(material));
    }

    /**
     * Server context holding every one of {@code materials} (say an RSA and an ECDSA certificate). For each handshake
     * {@link MaterialKeyManager} picks one the client can use: in TLS 1.3 by the key types of the client's
     * signature_algorithms, in order of the client's preference; in TLS 1.2 by the cipher suite (ECDHE_ECDSA or
     * ECDHE_RSA) chosen in the server's order; in both only a certificate whose chain is signed with algorithms the
     * client accepts. Among several of the same key type it prefers one for serverAuth, valid now, whose names match
     * the client's SNI name, then the first.
     */
    public static SSLContext server(List<KeyMaterial> materials) {
        return server(materials, null);
    }

    /**
     * As {@link #server(List)}, from {@code provider}'s TLS implementation (null: the JDK's default), for example
     * {@link TlsProviders#conscrypt()}. The provider is used for this context only, never installed JVM-wide.
     */
    public static SSLContext server(List<KeyMaterial> materials, Provider provider) {
        // Client certificates (when a listener asks for them) are judged after the handshake by PeerCheck, so
        // that a client learns why it was refused in an SMTP reply instead of a bare TLS alert.
        return context(materials, "server", provider);
    }

    /** A context presenting {@code materials} that accepts any peer certificate (judged later by the caller). */
    private static SSLContext context(List<KeyMaterial> materials, String role, Provider provider) {
        if (materials.isEmpty()) throw new IllegalArgumentException("no certificate for the " + role + " context");
        return context(keyManager(materials), role, provider);
    }

    /** The key manager of a context presenting {@code materials}. */
    static X509ExtendedKeyManager keyManager(List<KeyMaterial> materials) {
        return new MaterialKeyManager(materials);
    }

    /** A context whose certificates {@code keys} chooses, accepting any peer certificate (judged later). */
    static SSLContext context(X509ExtendedKeyManager keys, String role, Provider provider) {
        try {
            // Our own key manager, not the JDK's PKIX one over a key store: that one decrypts the key on every full
            // handshake and hands out a new alias each time. Conscrypt asks any X509ExtendedKeyManager as well.
            SSLContext context = provider == null ? SSLContext.getInstance("TLS")
                    : SSLContext.getInstance("TLS", provider);
            context.init(new KeyManager[] {keys}, new TrustManager[] {new AcceptAnyCertificate()}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build " + role + " TLS context: " + e.getMessage(), e);
        }
    }

    /**
     * Client context that accepts any server certificate (the caller checks the peer against its policy after the
     * handshake, with {@link PeerCheck}) and presents {@code clientMaterial} whenever the server asks for a
     * certificate of its key type, whatever issuers the server lists; {@link TlsFacts#ofClient} tells whether it was
     * asked.
     */
    public static SSLContext client(KeyMaterial clientMaterial) {
        return client(clientMaterial, null);
    }

    /** As {@link #client(KeyMaterial)}, from {@code provider}'s TLS implementation (null: the JDK's). */
    public static SSLContext client(KeyMaterial clientMaterial, Provider provider) {
        return clientMaterial == null ? opportunisticClient(provider)
                : context(List.of(clientMaterial), "client", provider);
    }

    /**
     * Client context that verifies the server (PKIX, by the JDK) against the system's CAs and those of {@code caFile}
     * (null: the system's only), for HTTPS clients that let the JDK judge: MTA-STS policy fetches, the ACME server.
     *
     * @throws TlsConfigException when the file cannot be read; the message names it
     */
    public static SSLContext verifying(java.nio.file.Path caFile) throws TlsConfigException {
        try {
            java.util.Set<java.security.cert.TrustAnchor> anchors = new java.util.HashSet<>(PeerCheck.systemAnchors());
            if (caFile != null) anchors.addAll(PeerCheck.anchors(Pem.readCertificates(caFile)));
            java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
            store.load(null, null);
            int i = 0;
            for (java.security.cert.TrustAnchor a : anchors) {
                X509Certificate cert = a.getTrustedCert();
                if (cert != null) store.setCertificateEntry("anchor-" + i++, cert);
            }
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new TlsConfigException("cannot build a trust store" + (caFile == null ? "" : " with " + caFile)
                    + ": " + e.getMessage());
        }
    }

    /**
     * Client context for opportunistic TLS: accepts any server certificate (verification is done and recorded by the
     * caller from the session, never enforced at this level).
     */
    public static SSLContext opportunisticClient() {
        return opportunisticClient(null);
    }

    /**
     * As {@link #opportunisticClient()}, from {@code provider}'s TLS implementation (null: the JDK's), for example
     * {@link TlsProviders#conscrypt()}; each such context keeps its own client session cache (resumption by host and
     * port), so one context per provider serves every destination.
     */
    public static SSLContext opportunisticClient(Provider provider) {
        // A key manager without certificates, so that a server's request for one is still noted (TlsFacts.ofClient).
        return context(new MaterialKeyManager(List.of()), "client", provider);
    }

    /** Layers server-side TLS over an accepted (plaintext) socket, hardened, handshake not yet started. */
    public static SSLSocket wrapServer(SSLContext context, Socket plain) throws java.io.IOException {
        return wrapServer(context, plain, Constraints.DEFAULT, false);
    }

    /**
     * As {@link #wrapServer(SSLContext, Socket)}, accepting only what {@code constraints} allow, and asking the client
     * for a certificate when {@code askForCertificate} (a client without one may still go on: policy decides later).
     */
    public static SSLSocket wrapServer(SSLContext context, Socket plain, Constraints constraints,
                                       boolean askForCertificate) throws java.io.IOException {
        // The JDK's provider ignores TLS_FALLBACK_SCSV: the guard looks at the ClientHello first (RFC 7507).
        // Conscrypt (BoringSSL) honours it itself.
        // It does not tell the key-exchange group either: the tap reads it from the ServerHello Postern writes.
        FallbackGuard guard = jdk(context) ? new FallbackGuard(plain) : null;
        SSLSocket socket;
        if (guard != null) {
            HandshakeTap tap = new HandshakeTap(plain, true);
            socket = (SSLSocket) context.getSocketFactory().createSocket(tap, guard, true);
            guard.attach(socket);
            tap.attach(socket);
        } else {
            String peer = plain.getInetAddress() == null ? null : plain.getInetAddress().getHostAddress();
            socket = (SSLSocket) context.getSocketFactory().createSocket(plain, peer, plain.getPort(), true);
        }
        socket.setUseClientMode(false);
        // Conscrypt issues no TLS 1.3 session tickets (so no resumption) unless asked, per socket.
        TlsProviders.prepareServer(socket);
        SSLParameters parameters = enabled(context, socket, constraints).applyTo(socket.getSSLParameters());
        parameters.setUseCipherSuitesOrder(true);
        parameters.setWantClientAuth(askForCertificate);
        socket.setSSLParameters(parameters);
        return socket;
    }

    /**
     * The parameters of {@link #wrapServer} (protocols, suites in the server's order, no client certificate) for a
     * server that makes its own engines from {@code context}, such as the JDK's HttpsServer.
     */
    public static SSLParameters serverParameters(SSLContext context) {
        SSLParameters supported = context.getSupportedSSLParameters();
        try {
            SSLParameters parameters = hardened(context.getDefaultSSLParameters(), supported.getProtocols(),
                    supported.getCipherSuites());
            parameters.setUseCipherSuitesOrder(true);
            parameters.setNeedClientAuth(false);
            return parameters;
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static boolean jdk(SSLContext context) {
        return JDK_PROVIDER.equals(context.getProvider().getName());
    }

    private static void restrict(SSLParameters parameters, Constraints constraints) throws IOException {
        String[] protocols = Arrays.stream(parameters.getProtocols())
                .filter(constraints::allowsProtocol).toArray(String[]::new);
        String[] suites = Arrays.stream(parameters.getCipherSuites())
                .filter(constraints::allowsSuite).toArray(String[]::new);
        if (protocols.length == 0 || suites.length == 0) {
            throw new IOException("the policy allows no protocol or cipher suite this TLS provider supports");
        }
        parameters.setProtocols(protocols);
        parameters.setCipherSuites(suites);
    }

    /** Layers client-side TLS over a connected socket, with SNI set to {@code host}, hardened, handshake not started. */
    public static SSLSocket wrapClient(SSLContext context, Socket plain, String host, int port) throws java.io.IOException {
        return wrapClient(context, plain, host, port, Constraints.DEFAULT);
    }

    /**
     * As {@link #wrapClient(SSLContext, Socket, String, int)}, offering only what {@code constraints} allow, so that a
     * server that could do better is never talked into something weaker.
     */
    public static SSLSocket wrapClient(SSLContext context, Socket plain, String host, int port, Constraints constraints)
            throws java.io.IOException {
        SSLSocket socket;
        if (jdk(context)) { // the JDK's provider does not tell the group: the tap reads it from the ServerHello
            HandshakeTap tap = new HandshakeTap(plain, false);
            socket = (SSLSocket) context.getSocketFactory().createSocket(tap, host, port, true);
            tap.attach(socket);
        } else {
            socket = (SSLSocket) context.getSocketFactory().createSocket(plain, host, port, true);
        }
        socket.setUseClientMode(true);
        SSLParameters parameters = enabled(context, socket, constraints).applyTo(socket.getSSLParameters());
        parameters.setServerNames(serverNames(host));
        parameters.setEndpointIdentificationAlgorithm(null); // the caller verifies names against its policy
        socket.setSSLParameters(parameters);
        return socket;
    }

    /** The cipher suites Postern enables out of {@code supported}, most preferred first. */
    static List<String> cipherSuites(String[] supported) {
        return Arrays.stream(supported)
                .filter(s -> TLS13_SUITE.matcher(s).matches() || TLS12_SUITE.matcher(s).matches())
                .sorted(Comparator.comparingInt(TlsContexts::rank)) // stable: JDK order within a rank
                .toList();
    }

    private static int rank(String suite) {
        for (int i = 0; i < AEAD_PREFERENCE.size(); i++) if (suite.contains(AEAD_PREFERENCE.get(i))) return i;
        return AEAD_PREFERENCE.size();
    }

    /** The protocols and suites a socket of one context enables under one set of constraints. */
    private record Enabled(String[] protocols, String[] suites) {
        SSLParameters applyTo(SSLParameters parameters) {
            parameters.setProtocols(protocols.clone());
            parameters.setCipherSuites(suites.clone());
            return parameters;
        }
    }

    private record EnabledKey(SSLContext context, Constraints constraints) {}

    /** Per context and constraints: filtering and ranking the suites took ~1 % of a relayed message's CPU. */
    private static final java.util.concurrent.ConcurrentHashMap<EnabledKey, Enabled> ENABLED =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** What {@link #hardened} and {@link #restrict} leave enabled on {@code socket}, computed once per context. */
    private static Enabled enabled(SSLContext context, SSLSocket socket, Constraints constraints) throws IOException {
        EnabledKey key = new EnabledKey(context, constraints);
        Enabled e = ENABLED.get(key);
        if (e != null) return e;
        SSLParameters p = hardened(socket.getSSLParameters(), socket.getSupportedProtocols(),
                socket.getSupportedCipherSuites());
        restrict(p, constraints); // throws when nothing is left: never cached
        e = new Enabled(p.getProtocols(), p.getCipherSuites());
        if (ENABLED.size() >= 256) ENABLED.clear(); // reloaded contexts and per-partner constraints: keep it bounded
        ENABLED.put(key, e);
        return e;
    }

    private static SSLParameters hardened(SSLParameters parameters, String[] supportedProtocols, String[] supportedSuites)
            throws IOException {
        List<String> supported = List.of(supportedProtocols);
        String[] protocols = Arrays.stream(PROTOCOLS).filter(supported::contains).toArray(String[]::new);
        String[] suites = cipherSuites(supportedSuites).toArray(String[]::new);
        if (protocols.length == 0 || suites.length == 0) {
            throw new IOException("TLS provider offers none of Postern's protocols or cipher suites");
        }
        parameters.setProtocols(protocols);
        parameters.setCipherSuites(suites);
        return parameters;
    }

    /** SNI carries DNS names only (RFC 6066): none for IP literals or names JSSE cannot encode. */
    private static List<SNIServerName> serverNames(String host) {
        if (host == null || host.isBlank() || Hosts.isIpLiteral(host)) return List.of();
        try {
            return List.of(new SNIHostName(Hosts.asciiDnsName(host)));
        } catch (IllegalArgumentException e) {
            return List.of();
        }
    }

    /**
     * Accepts every certificate. Only for opportunistic TLS, where an unverified encrypted session is better than
     * plaintext; whoever needs verification checks the session's peer certificates against its own policy.
     */
    private static final class AcceptAnyCertificate extends X509ExtendedTrustManager {
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}
        @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
    }
}
