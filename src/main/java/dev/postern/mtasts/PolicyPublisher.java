package dev.postern.mtasts;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.postern.tls.TlsContexts;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * Serves {@link PublishedPolicy#body()} at {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt} (RFC 8461 §3.2) for
 * the gateway's own domains, over the JDK's HttpsServer. Only that one path, only GET and HEAD, only for a Host
 * {@code mta-sts.D} with D one of {@code domains}; everything else is 404 or 405. The admin server (a later issue)
 * can take over {@link #handle} on its own listener.
 */
public final class PolicyPublisher implements Closeable {
    public static final String PATH = "/.well-known/mta-sts.txt";

    static {
        // The JDK server's own limits are system properties read once, when its classes load; set ours unless the
        // administrator set them: idle connections closed after 30 s, a request must arrive within 10 s, a response
        // go out within 10 s, few and small headers (the policy needs none).
        setIfAbsent("sun.net.httpserver.idleInterval", "30");
        setIfAbsent("sun.net.httpserver.maxIdleConnections", "50");
        setIfAbsent("sun.net.httpserver.maxReqTime", "10");
        setIfAbsent("sun.net.httpserver.maxRspTime", "10");
        setIfAbsent("sun.net.httpserver.maxReqHeaders", "50");
        setIfAbsent("sun.net.httpserver.maxReqHeaderSize", "16384");
    }

    private final byte[] body;
    private final long maxAge;
    private final Set<String> hosts;
    private final HttpsServer server;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

    /**
     * Binds {@code listen} with {@code tls}'s current context for each connection (server side, as hardened as the
     * SMTP listeners; a reloading one serves a renewed certificate without a restart) for {@code domains} (lookup
     * form); {@link #start} begins serving.
     */
    public PolicyPublisher(InetSocketAddress listen, Supplier<SSLContext> tls, PublishedPolicy policy,
                           List<String> domains) throws IOException {
        this.body = policy.body().getBytes(StandardCharsets.UTF_8);
        this.maxAge = policy.maxAge();
        this.hosts = Set.copyOf(domains.stream().map(d -> "mta-sts." + d).toList());
        server = HttpsServer.create(listen, 50);
        // The JDK server keeps the one context it is given: this one asks tls for the current one per connection.
        server.setHttpsConfigurator(new HttpsConfigurator(new Following(tls)) {
            @Override public void configure(HttpsParameters parameters) {
                parameters.setSSLParameters(TlsContexts.serverParameters(getSSLContext()));
            }
        });
        server.createContext("/", this::handle);
        server.setExecutor(threads);
    }

    public void start() { server.start(); }

    /** Where it listens (the port chosen when 0 was asked for). */
    public InetSocketAddress address() { return server.getAddress(); }

    /** The policy host names served, sorted. */
    public List<String> hosts() { return hosts.stream().sorted().toList(); }

    /** One request: the policy, or 404 / 405 with an empty body. */
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            exchange.getRequestBody().close();
            String method = exchange.getRequestMethod();
            if (!PATH.equals(exchange.getRequestURI().getRawPath()) || exchange.getRequestURI().getRawQuery() != null
                    || !hosts.contains(host(exchange.getRequestHeaders().getFirst("Host")))) {
                exchange.sendResponseHeaders(404, -1);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                exchange.sendResponseHeaders(405, -1);
            } else {
                exchange.getResponseHeaders().set("Content-Type", "text/plain");
                exchange.getResponseHeaders().set("Cache-Control", "max-age=" + maxAge);
                if (method.equals("HEAD")) {
                    exchange.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
                    exchange.sendResponseHeaders(200, -1);
                } else {
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                }
            }
        }
    }

    /** The Host header's name: lower case, without port or trailing dot; "" when absent. */
    static String host(String header) {
        if (header == null) return "";
        String h = header.trim().toLowerCase(Locale.ROOT);
        int colon = h.lastIndexOf(':');
        if (colon >= 0 && h.indexOf(']') < colon) h = h.substring(0, colon);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    @Override public void close() {
        server.stop(0);
        threads.close();
    }

    /** An SSLContext whose every engine comes from the context {@code current} supplies at that moment. */
    private static final class Following extends SSLContext {
        Following(Supplier<SSLContext> current) {
            super(new SSLContextSpi() {
                @Override protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random) {
                    throw new UnsupportedOperationException("initialised by its supplier");
                }
                @Override protected SSLSocketFactory engineGetSocketFactory() {
                    return current.get().getSocketFactory();
                }
                @Override protected SSLServerSocketFactory engineGetServerSocketFactory() {
                    return current.get().getServerSocketFactory();
                }
                @Override protected SSLEngine engineCreateSSLEngine() { return current.get().createSSLEngine(); }
                @Override protected SSLEngine engineCreateSSLEngine(String host, int port) {
                    return current.get().createSSLEngine(host, port);
                }
                @Override protected SSLSessionContext engineGetServerSessionContext() {
                    return current.get().getServerSessionContext();
                }
                @Override protected SSLSessionContext engineGetClientSessionContext() {
                    return current.get().getClientSessionContext();
                }
                @Override protected SSLParameters engineGetDefaultSSLParameters() {
                    return current.get().getDefaultSSLParameters();
                }
                @Override protected SSLParameters engineGetSupportedSSLParameters() {
                    return current.get().getSupportedSSLParameters();
                }
            }, current.get().getProvider(), current.get().getProtocol());
        }
    }

    private static void setIfAbsent(String property, String value) {
        if (System.getProperty(property) == null) System.setProperty(property, value);
    }
}
