package dev.postern.acme;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP-01 listener (RFC 8555 §8.3): plain HTTP that answers {@code GET /.well-known/acme-challenge/TOKEN} with
 * the key authorization of a challenge under way, and 404 to everything else. It is up only while an order is being
 * authorized, so port 80 is open only then.
 */
final class Http01Server implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Http01Server.class);
    static final String PREFIX = "/.well-known/acme-challenge/";

    private final Map<String, String> tokens = new ConcurrentHashMap<>();
    private final HttpServer server;

    private Http01Server(HttpServer server) {
        this.server = server;
    }

    /** Binds {@code address} and serves until closed. */
    static Http01Server start(InetSocketAddress address) throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        Http01Server s = new Http01Server(server);
        server.createContext("/", s::answer);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        return s;
    }

    InetSocketAddress address() { return server.getAddress(); }

    void put(String token, String keyAuthorization) { tokens.put(token, keyAuthorization); }

    void remove(String token) { tokens.remove(token); }

    private void answer(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getRawPath();
            String method = x.getRequestMethod();
            String body = path.startsWith(PREFIX) ? tokens.get(path.substring(PREFIX.length())) : null;
            log.atDebug().addKeyValue("path", dev.postern.logging.Untrusted.clip(path))
                    .addKeyValue("client", x.getRemoteAddress()).addKeyValue("found", body != null)
                    .log("acme http-01 request");
            if (!method.equals("GET") && !method.equals("HEAD")) {
                x.getResponseHeaders().set("Allow", "GET, HEAD"); // RFC 9110 §15.5.6, as mtasts.PolicyPublisher
                x.sendResponseHeaders(405, -1);
                return;
            }
            if (body == null) {
                x.sendResponseHeaders(404, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.US_ASCII);
            x.getResponseHeaders().set("Content-Type", "application/octet-stream");
            x.sendResponseHeaders(200, method.equals("HEAD") ? -1 : bytes.length);
            if (method.equals("GET")) x.getResponseBody().write(bytes);
        }
    }

    @Override public void close() {
        server.stop(0);
    }
}
