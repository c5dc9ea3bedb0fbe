package dev.postern.admin;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.thread.VirtualThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin server: routes registered with {@link #route}, matched by method and path (exact, or a prefix ending
 * in "/*"), the token checked before any route that needs it. Nothing is served until {@link #start}.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    /** The default most a request body may hold; a route may allow more. */
    public static final int DEFAULT_MAX_BODY = 64 * 1024;

    /**
     * One route.
     *
     * @param method  "GET", "POST", "DELETE"
     * @param path    an exact path, or a prefix ending in "/*"
     * @param open    served without the token (the dashboard's static files only: they hold no data)
     * @param maxBody the largest request body accepted, bytes
     */
    public record Route(String method, String path, boolean open, int maxBody, Endpoint endpoint) { }

    private final InetSocketAddress listen;
    private final AdminToken token;
    private final List<Route> routes = new CopyOnWriteArrayList<>();
    private Server server;

    public AdminServer(InetSocketAddress listen, AdminToken token) {
        this.listen = listen;
        this.token = token;
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
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(listen.getAddress().getHostAddress());
        connector.setPort(listen.getPort());
        server.addConnector(connector);
        server.setHandler(new Dispatch());
        try {
            server.start();
        } catch (Exception e) {
            close();
            throw new IOException("admin server on " + listen + ": " + e.getMessage(), e);
        }
        log.info("admin server listening on http://{}:{}", listen.getAddress().getHostAddress(), port());
    }

    /** The bound port (the configured one, or the one chosen for port 0). */
    public int port() {
        return server == null ? -1 : ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    @Override public void close() {
        if (server == null) return;
        try {
            server.stop();
        } catch (Exception e) {
            log.warn("admin server: stop: {}", e.toString());
        }
        server = null;
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

    private final class Dispatch extends Handler.Abstract {
        @Override public boolean handle(Request request, Response response, Callback callback) {
            String method = request.getMethod();
            String path = Request.getPathInContext(request);
            String peer = Request.getRemoteAddr(request);
            Reply reply;
            try {
                reply = answer(request, method, path, peer);
            } catch (RuntimeException e) {
                log.warn("admin {} {} from {}: {}", method, path, peer, e.toString());
                reply = Reply.error(500, "internal error");
            }
            response.setStatus(reply.status());
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, reply.contentType());
            response.getHeaders().put("Cache-Control", "no-store");
            response.getHeaders().put("X-Content-Type-Options", "nosniff");
            reply.headers().forEach((k, v) -> response.getHeaders().put(k, v));
            response.write(true, ByteBuffer.wrap(reply.body()), callback);
            return true;
        }

        private Reply answer(Request request, String method, String path, String peer) {
            Route route = match(method, path);
            if (route == null) {
                boolean other = routes.stream().anyMatch(r -> match(r.method, path) != null);
                return other ? Reply.error(405, "method not allowed") : Reply.error(404, "not found");
            }
            boolean authorized = authorized(request);
            if (!route.open && !authorized) {
                log.warn("admin {} {} from {}: refused (401): {}", method, path, peer,
                        request.getHeaders().get(HttpHeader.AUTHORIZATION) == null ? "no token" : "wrong token");
                return new Reply(401, Reply.JSON, "{\"error\":\"admin token required\"}".getBytes(
                        java.nio.charset.StandardCharsets.UTF_8), Map.of("WWW-Authenticate", "Bearer"));
            }
            byte[] body;
            try {
                body = body(request, route.maxBody);
            } catch (IOException e) {
                return Reply.error(400, "cannot read the request body");
            }
            if (body == null) return Reply.error(413, "request body larger than " + route.maxBody + " bytes");
            String rest = route.path.endsWith("/*") && path.length() > route.path.length() - 1
                    ? path.substring(route.path.length() - 1) : "";
            Call call = new Call(method, path, rest, query(request), headers(request), body, peer, authorized);
            try {
                return route.endpoint.handle(call);
            } catch (IllegalArgumentException e) {
                return Reply.error(400, e.getMessage());
            } catch (Exception e) {
                log.warn("admin {} {} from {}: {}", method, path, peer, e.toString());
                return Reply.error(500, "internal error: " + e.getClass().getSimpleName());
            }
        }

        private boolean authorized(Request request) {
            String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
            if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) return false;
            return token.matches(h.substring(7).strip());
        }
    }

    /** The body, or null when it is larger than {@code max}. */
    private static byte[] body(Request request, int max) throws IOException {
        long declared = request.getLength();
        if (declared > max) return null;
        try (InputStream in = Request.asInputStream(request)) {
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
