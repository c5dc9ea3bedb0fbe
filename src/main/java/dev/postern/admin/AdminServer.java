package dev.postern.admin;

import dev.postern.auth.AuthLimiter;
import dev.postern.logging.Untrusted;
import dev.postern.tls.TlsContexts;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.VirtualThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin server: routes registered with {@link #route}, matched by method and path (exact, or a prefix ending
 * in "/*"), the token checked before any route that needs it. Nothing is served until {@link #start}.
 *
 * <p>Matching is on the path as Jetty decodes and normalises it, under Jetty's strict URI compliance: a request with
 * an ambiguous path ({@code %2e%2e}, an encoded slash, an empty segment) is refused 400 before it is routed, and a
 * {@code ..} segment is resolved first, so {@code /assets/../api/queue} is {@code /api/queue} and needs the token.
 *
 * <p>Limits ({@link Limits}): request header size, a cap on connections, and a deadline from the connection's start
 * (or the end of the previous answer) to the end of the next request's headers and body, so a client that trickles
 * its request a byte at a time (slowloris) cannot hold connections. Too many requests with a wrong or missing token
 * from one address are answered 429 for a while ({@link AuthLimiter}: the token is not even checked then).
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    /** The default most a request body may hold; a route may allow more. */
    public static final int DEFAULT_MAX_BODY = 64 * 1024;
    /** The largest body read and dropped to answer 413 cleanly (see {@code body}). */
    private static final long DRAIN_MAX = 8L << 20;
    /** What the token limiter counts failures under (one secret, so one name). */
    private static final String TOKEN = "admin-token";

    /**
     * One route.
     *
     * @param method  "GET", "POST", "DELETE"
     * @param path    an exact path, or a prefix ending in "/*"
     * @param open    served without the token (the dashboard's static files only: they hold no data)
     * @param maxBody the largest request body accepted, bytes
     */
    public record Route(String method, String path, boolean open, int maxBody, Endpoint endpoint) { }

    /**
     * How much the server takes from its clients.
     *
     * @param maxConnections connections open at once; more wait in the listen queue
     * @param maxHeaderSize  the largest request line and headers, bytes (431 beyond)
     * @param requestTimeout the most a client may take from connecting (or from the end of the previous answer) to the
     *                       end of its request's headers and body; then the connection is closed
     * @param idleTimeout    the most a connection may stay without I/O while an answer is made or sent
     * @param token          wrong or missing tokens per address before 429: {@code maxFailures} within
     *                       {@code window} locks the address out for {@code lockout}, doubling up to {@code maxLockout}
     */
    public record Limits(int maxConnections, int maxHeaderSize, Duration requestTimeout, Duration idleTimeout,
                         AuthLimiter.Limits token) {
        public static final Limits DEFAULT = new Limits(64, 8 * 1024, Duration.ofSeconds(10), Duration.ofMinutes(2),
                new AuthLimiter.Limits(10, Duration.ofMinutes(10), Duration.ofMinutes(1), Duration.ofMinutes(15),
                        100, Duration.ofMinutes(15), 32, 64));
    }

    private final InetSocketAddress listen;
    private final Supplier<AdminToken> token;
    private final Supplier<SSLContext> tls;
    private final Limits limits;
    private final AuthLimiter failures;
    private final List<Route> routes = new CopyOnWriteArrayList<>();
    /** Each open connection: where it is in its request, for the request deadline. */
    private final Map<Connection, Progress> connections = new ConcurrentHashMap<>();
    private Server server;
    private volatile boolean running;

    public AdminServer(InetSocketAddress listen, AdminToken token) {
        this(listen, () -> token, null, Limits.DEFAULT);
    }

    /**
     * @param token  the token in force, asked per request (a rotated token applies at once)
     * @param tls    the server context (HTTPS), asked per connection so a renewed certificate applies to the next
     *               one; null: plain HTTP
     * @param limits what the server takes from its clients
     */
    public AdminServer(InetSocketAddress listen, Supplier<AdminToken> token, Supplier<SSLContext> tls, Limits limits) {
        this.listen = listen;
        this.token = token;
        this.tls = tls;
        this.limits = limits;
        this.failures = new AuthLimiter(limits.token(), Clock.systemUTC());
    }

    /** A route that needs the token, with the default body limit. */
    public AdminServer route(String method, String path, Endpoint endpoint) {
        return route(new Route(method, path, false, DEFAULT_MAX_BODY, endpoint));
    }

    public AdminServer route(Route route) {
        routes.add(route);
        return this;
    }

    public void start() throws IOException {
        server = new Server(new VirtualThreadPool());
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(limits.maxHeaderSize());
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setUriCompliance(UriCompliance.DEFAULT);
        if (tls != null) {
            // an admin server is reached by address (127.0.0.1) more often than by the certificate's name: the name
            // is the client's to check (curl --cacert with --resolve, or -k), not a reason for a 400
            org.eclipse.jetty.server.SecureRequestCustomizer secure = new org.eclipse.jetty.server.SecureRequestCustomizer();
            secure.setSniHostCheck(false);
            secure.setSniRequired(false);
            http.addCustomizer(secure);
        }
        HttpConnectionFactory h1 = new HttpConnectionFactory(http);
        ServerConnector connector = tls == null ? new ServerConnector(server, h1)
                : new ServerConnector(server, new SslConnectionFactory(new Engines(tls), h1.getProtocol()), h1);
        connector.setHost(listen.getAddress().getHostAddress());
        connector.setPort(listen.getPort());
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        connector.addEventListener(new Connection.Listener() {
            @Override public void onOpened(Connection c) {
                // the HTTP connection (over TLS: the one above the TLS layer) is the one a request names
                if (!(c instanceof org.eclipse.jetty.io.ssl.SslConnection)) connections.put(c, new Progress());
            }

            @Override public void onClosed(Connection c) {
                connections.remove(c);
            }
        });
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(limits.maxConnections(), connector));
        server.setHandler(new Dispatch());
        server.setErrorHandler(new JsonErrors());
        try {
            server.start();
        } catch (Exception e) {
            close();
            throw new IOException("admin server on " + listen + ": " + e.getMessage(), e);
        }
        running = true;
        String exposed = cleartext(listen, tls != null);
        if (exposed != null) log.warn(exposed);
        Thread.ofVirtual().name("admin-deadlines").start(this::sweep);
        log.info("admin server listening on {}://{}:{}", tls == null ? "http" : "https",
                listen.getAddress().getHostAddress(), port());
    }

    /**
     * A warning when the token would cross a network in clear text (plain HTTP on an address other than loopback),
     * else null.
     */
    static String cleartext(InetSocketAddress listen, boolean tls) {
        if (tls || listen.getAddress().isLoopbackAddress()) return null;
        return "admin server on " + listen.getAddress().getHostAddress() + ":" + listen.getPort() + " without TLS: the "
                + "admin token crosses the network in clear text; set [admin] tls = true, or listen on 127.0.0.1";
    }

    /** The bound port (the configured one, or the one chosen for port 0). */
    public int port() {
        return server == null ? -1 : ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    @Override public void close() {
        running = false;
        if (server == null) return;
        try {
            server.stop();
        } catch (Exception e) {
            log.warn("admin server: stop: {}", e.toString());
        }
        server = null;
    }

    /** Where a connection is: waiting for a request (or reading its body) since {@code since}, or answering. */
    private static final class Progress {
        volatile boolean answering;
        volatile long since = System.nanoTime();
    }

    /** Closes the connections whose request has not arrived (headers and body) within the request timeout. */
    private void sweep() {
        long timeout = limits.requestTimeout().toNanos();
        long tick = Math.max(50, Math.min(1000, limits.requestTimeout().toMillis() / 4));
        while (running) {
            try {
                Thread.sleep(tick);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            connections.forEach((c, p) -> {
                if (!p.answering && now - p.since > timeout) {
                    connections.remove(c);
                    c.getEndPoint().close();
                }
            });
        }
    }

    /** The TLS engines of HTTPS: each from the context in force, with the gateway's hardened parameters. */
    private static final class Engines extends SslContextFactory.Server {
        private final Supplier<SSLContext> contexts;

        Engines(Supplier<SSLContext> contexts) {
            this.contexts = contexts;
            setSslContext(contexts.get());
        }

        @Override public SSLEngine newSSLEngine() {
            return engine(null, -1);
        }

        @Override public SSLEngine newSSLEngine(String host, int port) {
            return engine(host, port);
        }

        @Override public SSLEngine newSSLEngine(InetSocketAddress address) {
            return address == null ? engine(null, -1) : engine(address.getHostString(), address.getPort());
        }

        private SSLEngine engine(String host, int port) {
            SSLContext context = contexts.get();
            SSLEngine e = host == null ? context.createSSLEngine() : context.createSSLEngine(host, port);
            e.setUseClientMode(false);
            e.setSSLParameters(TlsContexts.serverParameters(context));
            return e;
        }
    }

    /**
     * What Jetty answers itself (an ambiguous path, headers too large, a malformed request): {"error": ...} as JSON,
     * with the security headers, like every other answer, instead of its HTML page.
     */
    private static final class JsonErrors extends org.eclipse.jetty.server.handler.ErrorHandler {
        @Override protected void generateResponse(Request request, Response response, int code, String message,
                                                  Throwable cause, Callback callback) {
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, Reply.JSON);
            SECURITY.forEach((k, v) -> response.getHeaders().put(k, v));
            response.write(true, ByteBuffer.wrap(json(code, message)), callback);
        }

        @Override public ByteBuffer badMessageError(int status, String reason,
                                                    org.eclipse.jetty.http.HttpFields.Mutable fields) {
            fields.put(HttpHeader.CONTENT_TYPE, Reply.JSON);
            SECURITY.forEach(fields::put);
            return ByteBuffer.wrap(json(status, reason));
        }

        private static byte[] json(int code, String message) {
            String text = message == null || message.isBlank()
                    ? org.eclipse.jetty.http.HttpStatus.getMessage(code) : message;
            return Reply.error(code, Untrusted.clip(text)).body();
        }
    }

    private Route match(String method, String path) {
        for (Route r : routes) {
            if (!r.method.equals(method)) continue;
            if (r.path.endsWith("/*") ? path.startsWith(r.path.substring(0, r.path.length() - 1))
                    || path.equals(r.path.substring(0, r.path.length() - 2)) : path.equals(r.path)) {
                return r;
            }
        }
        return null;
    }

    /** Headers of every answer: the dashboard's pages load nothing from elsewhere and are framed nowhere. */
    private static final Map<String, String> SECURITY = Map.of(
            "Cache-Control", "no-store",
            "X-Content-Type-Options", "nosniff",
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "Referrer-Policy", "no-referrer",
            "X-Frame-Options", "DENY");

    private final class Dispatch extends Handler.Abstract {
        @Override public boolean handle(Request request, Response response, Callback callback) {
            Progress progress = connections.get(request.getConnectionMetaData().getConnection());
            String method = request.getMethod();
            String path = Request.getPathInContext(request);
            String peer = Request.getRemoteAddr(request);
            Reply reply;
            try {
                reply = answer(request, method, path, peer, progress);
            } catch (RuntimeException e) {
                log.atWarn().addKeyValue("client", peer).addKeyValue("method", method)
                        .addKeyValue("path", Untrusted.clip(path)).addKeyValue("error", e.toString()).log("admin");
                reply = Reply.error(500, "internal error");
            }
            response.setStatus(reply.status());
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, reply.contentType());
            SECURITY.forEach((k, v) -> response.getHeaders().put(k, v));
            reply.headers().forEach((k, v) -> response.getHeaders().put(k, v));
            response.write(true, ByteBuffer.wrap(reply.body()), Callback.from(() -> {
                if (progress != null) {
                    progress.since = System.nanoTime();
                    progress.answering = false;
                }
            }, callback));
            return true;
        }

        private Reply answer(Request request, String method, String path, String peer, Progress progress) {
            Route route = match(method, path);
            if (route == null) {
                boolean other = routes.stream().anyMatch(r -> match(r.method, path) != null);
                return other ? Reply.error(405, "method not allowed") : Reply.error(404, "not found");
            }
            boolean authorized = false;
            if (!route.open || request.getHeaders().get(HttpHeader.AUTHORIZATION) != null) {
                InetAddress client = address(peer);
                if (client != null && !failures.allowed(client, TOKEN)) {
                    return new Reply(429, Reply.JSON, "{\"error\":\"too many requests without the admin token; try again later\"}"
                            .getBytes(StandardCharsets.UTF_8), Map.of("Retry-After", "60"));
                }
                String reason = refusal(request);
                authorized = reason == null;
                if (authorized && client != null) failures.success(client, TOKEN);
                if (!route.open && !authorized) {
                    if (client != null) failures.failure(client, TOKEN);
                    // never the token itself: the reason says only whether one came
                    log.atWarn().addKeyValue("client", peer).addKeyValue("method", Untrusted.clip(method))
                            .addKeyValue("path", Untrusted.clip(path)).addKeyValue("reason", reason)
                            .log("admin: refused (401)");
                    return new Reply(401, Reply.JSON, "{\"error\":\"admin token required\"}".getBytes(
                            StandardCharsets.UTF_8), Map.of("WWW-Authenticate", "Bearer"));
                }
            }
            byte[] body;
            try {
                body = body(request, route.maxBody);
            } catch (IOException e) {
                return Reply.error(400, "cannot read the request body");
            }
            if (progress != null) progress.answering = true;
            if (body == null) return Reply.error(413, "request body larger than " + route.maxBody + " bytes");
            String rest = route.path.endsWith("/*") && path.length() > route.path.length() - 1
                    ? path.substring(route.path.length() - 1) : "";
            Call call = new Call(method, path, rest, query(request), headers(request), body, peer, authorized);
            try {
                return route.endpoint.handle(call);
            } catch (IllegalArgumentException e) {
                return Reply.error(400, e.getMessage());
            } catch (dev.postern.audit.AuditStore.AuditStoreException e) {
                log.atWarn().addKeyValue("client", peer).addKeyValue("method", method)
                        .addKeyValue("path", Untrusted.clip(path)).addKeyValue("error", e.getMessage()).log("admin");
                return Reply.error(503, "audit store unavailable (the gateway's log says why)");
            } catch (Exception e) {
                log.atWarn().addKeyValue("client", peer).addKeyValue("method", method)
                        .addKeyValue("path", Untrusted.clip(path)).addKeyValue("error", e.toString()).log("admin");
                return Reply.error(500, "internal error");
            }
        }

        /** Null when the request carries the token in force; else why not ("no token", "wrong token"). */
        private String refusal(Request request) {
            String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
            if (h == null || h.isBlank()) return "no token";
            if (!h.regionMatches(true, 0, "Bearer ", 0, 7)) return "not a bearer token";
            AdminToken t = token.get();
            return t != null && t.matches(h.substring(7).strip()) ? null : "wrong token";
        }
    }

    private static InetAddress address(String peer) {
        try {
            return InetAddress.ofLiteral(peer.startsWith("[") ? peer.substring(1, peer.length() - 1) : peer);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The body, or null when it is larger than {@code max}. */
    private static byte[] body(Request request, int max) throws IOException {
        long declared = request.getLength();
        try (InputStream in = Request.asInputStream(request)) {
            if (declared > max) {
                // a body a little over the limit is read and dropped before the 413, so the client, still sending,
                // gets the answer instead of a reset connection; a larger one is answered at once
                if (declared <= DRAIN_MAX) in.skipNBytes(declared);
                return null;
            }
            byte[] b = in.readNBytes(max + 1);
            return b.length > max ? null : b;
        }
    }

    private static Map<String, List<String>> query(Request request) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        Fields fields = Request.extractQueryParameters(request);
        for (Fields.Field f : fields) out.put(f.getName(), new ArrayList<>(f.getValues()));
        return out;
    }

    private static Map<String, String> headers(Request request) {
        Map<String, String> out = new LinkedHashMap<>();
        for (HttpField f : request.getHeaders()) {
            if (f.getName() != null) out.putIfAbsent(f.getName().toLowerCase(Locale.ROOT), f.getValue());
        }
        return out;
    }
}
