package dev.postern.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin server over a real socket: the token, routes, body limits. */
class AdminServerTest {
    @TempDir static Path data;
    static AdminServer server;
    static String token;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll static void start() throws Exception {
        AdminToken.Loaded t = AdminToken.loadOrCreate(data);
        token = t.value();
        server = new AdminServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), t.token());
        server.route("GET", "/api/echo/*", call -> Reply.json(Map.of("rest", call.rest(),
                "q", call.param("q").orElse(""))));
        server.route("POST", "/api/echo", call -> Reply.json(Map.of("len", call.body().length)));
        server.route(new AdminServer.Route("GET", "/", true, 0, call -> Reply.text(200, "text/html", "<p>hi</p>")));
        server.route(new AdminServer.Route("GET", "/assets/*", true, 0, call -> Reply.text(200, "text/plain",
                "asset " + call.rest())));
        server.route("GET", "/api/secret", call -> Reply.json(Map.of("secret", "s3cr3t-data")));
        server.start();
    }

    @AfterAll static void stop() {
        server.close();
    }

    static HttpResponse<String> get(String path, String bearer) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
        if (bearer != null) b.header("Authorization", "Bearer " + bearer);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test void tokenFileIsPrivateAndStable() throws Exception {
        Path f = AdminToken.file(data);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
        AdminToken.Loaded again = AdminToken.loadOrCreate(data);
        assertThat(again.created()).isFalse();
        assertThat(again.value()).isEqualTo(token);
        assertThat(again.token().matches(token)).isTrue();
        assertThat(again.token().matches(token + "x")).isFalse();
        assertThat(again.token().matches("")).isFalse();
    }

    @Test void withoutTheTokenIs401() throws Exception {
        assertThat(get("/api/echo/x", null).statusCode()).isEqualTo(401);
        assertThat(get("/api/echo/x", "wrong").statusCode()).isEqualTo(401);
        assertThat(get("/api/echo/x", null).headers().firstValue("WWW-Authenticate")).contains("Bearer");
    }

    @Test void withTheTokenTheRouteAnswers() throws Exception {
        HttpResponse<String> r = get("/api/echo/abc?q=%C3%BC", token);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"rest\":\"abc\"").contains("\"q\":\"ü\"");
    }

    @Test void openRoutesNeedNoToken() throws Exception {
        assertThat(get("/", null).statusCode()).isEqualTo(200);
    }

    @Test void unknownPathIs404AndWrongMethod405() throws Exception {
        assertThat(get("/nothing", token).statusCode()).isEqualTo(404);
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/api/echo/x")).header("Authorization", "Bearer " + token)
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(405);
    }

    @Test void aBodyOverTheLimitIs413() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/api/echo")).header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[AdminServer.DEFAULT_MAX_BODY + 1])).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(413);
    }

    @Test void everyAnswerCarriesTheSecurityHeaders() throws Exception {
        for (HttpResponse<String> r : java.util.List.of(get("/", null), get("/api/echo/x", null),
                get("/api/echo/x", token), get("/nothing", null))) {
            assertThat(r.headers().firstValue("Content-Security-Policy").orElseThrow())
                    .contains("default-src 'self'").contains("frame-ancestors 'none'");
            assertThat(r.headers().firstValue("Referrer-Policy")).contains("no-referrer");
            assertThat(r.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
            assertThat(r.headers().firstValue("Cache-Control")).contains("no-store");
            assertThat(r.headers().firstValue("Server")).isEmpty();
        }
    }

    /**
     * An open route's prefix must not lead to a token route: dot segments, encoded dots and slashes, empty segments,
     * path parameters. Each is refused (400), resolved to the token route and asked for the token (401), or not
     * found (404); none shows the token route's data without the token.
     */
    @Test void pathTricksNeverReachATokenRouteWithoutTheToken() throws Exception {
        assertThat(RawHttp.send(server.port(), "GET", "/api/secret", token, null).body()).contains("s3cr3t-data");
        assertThat(RawHttp.send(server.port(), "GET", "/assets/app.js", null, null).body()).isEqualTo("asset app.js");
        java.util.Map<String, Integer> seen = new java.util.LinkedHashMap<>();
        for (String trick : java.util.List.of("/assets/../api/secret", "/assets/%2e%2e/api/secret",
                "/assets/%2E%2E/api/secret", "/assets/..%2fapi/secret", "/assets/..%2Fapi%2Fsecret",
                "/assets/%2e%2e%2fapi%2fsecret", "//api/secret", "/assets//../api/secret", "/assets/.././api/secret",
                "/./api/secret", "/assets/..;/api/secret", "/assets;x=1/../api/secret", "/assets/..%5capi/secret",
                "/assets/%252e%252e/api/secret", "/api//secret", "/api/secret/", "/API/secret",
                "/assets/../../api/secret", "/assets/%00/../api/secret", "/assets/.%2e/api/secret")) {
            RawHttp.Answer a = RawHttp.send(server.port(), "GET", trick, null, null);
            seen.put(trick, a.status());
            assertThat(a.body()).as(trick).doesNotContain("s3cr3t-data");
            assertThat(a.status()).as(trick + ": " + a.body()).isIn(400, 401, 404);
        }
        // the plain ".." is resolved to the token route, which then asks for the token
        assertThat(seen.get("/assets/../api/secret")).isEqualTo(401);
        // encoded dots and slashes are ambiguous: refused before routing
        assertThat(seen.get("/assets/%2e%2e/api/secret")).isEqualTo(400);
        assertThat(seen.get("/assets/..%2fapi/secret")).isEqualTo(400);
        // Jetty's own refusals are JSON too, with the security headers
        RawHttp.Answer ambiguous = RawHttp.send(server.port(), "GET", "/assets/%2e%2e/api/secret", null, null);
        assertThat(ambiguous.header("Content-Type")).startsWith("application/json");
        assertThat(ambiguous.body()).startsWith("{\"error\":");
        assertThat(ambiguous.header("Content-Security-Policy")).contains("frame-ancestors 'none'");
    }

    /** Small server limits with this many wrong tokens per address (and per /32 network) before a lockout. */
    private static AdminServer.Limits tokenLimits(int failures, java.time.Duration lockout, int networkFailures) {
        return new AdminServer.Limits(16, 8192, java.time.Duration.ofSeconds(10), java.time.Duration.ofSeconds(30),
                new dev.postern.auth.AuthLimiter.Limits(failures, java.time.Duration.ofMinutes(1), lockout, lockout,
                        networkFailures, java.time.Duration.ofMinutes(1), 32, 64));
    }

    /**
     * Issue 17: only the exact token, in the Authorization header as a bearer token, opens a token route. A token one
     * byte off (the last, so a comparison that stops at the first difference would take longest), a prefix of it, the
     * token with a byte more, an empty bearer, another scheme, and the token in the query string or a cookie are 401.
     * The comparison is of SHA-256 digests with MessageDigest.isEqual (AdminToken.matches): constant time, and the
     * presented length does not show either.
     */
    @Test void onlyTheExactTokenInTheHeaderOpensATokenRoute() throws Exception {
        AdminServer.Limits lenient = tokenLimits(1000, java.time.Duration.ofSeconds(1), 1000);
        AdminToken t = AdminToken.loadOrCreate(data).token();
        char last = token.charAt(token.length() - 1);
        String lastByteOff = token.substring(0, token.length() - 1) + (last == 'A' ? 'B' : 'A');
        try (AdminServer s = new AdminServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), () -> t,
                null, lenient)) {
            s.route("GET", "/api/secret", call -> Reply.json(Map.of("secret", "s3cr3t-data")));
            s.start();
            String base = "http://127.0.0.1:" + s.port();
            java.util.function.BiFunction<String, String, HttpResponse<String>> ask = (target, authorization) -> {
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + target));
                if (authorization != null) b.header("Authorization", authorization);
                try {
                    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            for (String wrong : List.of("Bearer " + lastByteOff, "Bearer " + token.substring(0, token.length() - 1),
                    "Bearer " + token + "A", "Bearer ", "Bearer", token,
                    "Basic " + java.util.Base64.getEncoder().encodeToString(("admin:" + token).getBytes()),
                    "Token " + token, "Bearer " + token.toUpperCase(java.util.Locale.ROOT) + "x")) {
                HttpResponse<String> r = ask.apply("/api/secret", wrong);
                assertThat(r.statusCode()).as(wrong.replace(token, "TOKEN")).isEqualTo(401);
                assertThat(r.body()).doesNotContain("s3cr3t");
            }
            for (String query : List.of("?token=", "?access_token=", "?auth=", "?Authorization=Bearer%20")) {
                assertThat(ask.apply("/api/secret" + query + token, null).statusCode()).as(query).isEqualTo(401);
            }
            HttpRequest cookie = HttpRequest.newBuilder(URI.create(base + "/api/secret"))
                    .header("Cookie", "token=" + token).build();
            assertThat(HTTP.send(cookie, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
            // The scheme's name is case-insensitive (RFC 7235 §2.1); the token itself is not.
            assertThat(ask.apply("/api/secret", "Bearer " + token).statusCode()).isEqualTo(200);
            assertThat(ask.apply("/api/secret", "bearer " + token).statusCode()).isEqualTo(200);
        }
        assertThat(t.matches(lastByteOff)).isFalse();
    }

    /** Wrong tokens from one address: 401 up to the limit, then 429 even with the right token, for a while. */
    @Test void tooManyWrongTokensAre429() throws Exception {
        AdminServer.Limits limits = tokenLimits(3, java.time.Duration.ofSeconds(2), 100);
        AdminToken t = AdminToken.loadOrCreate(data).token();
        try (AdminServer s = new AdminServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), () -> t,
                null, limits)) {
            s.route("GET", "/api/secret", call -> Reply.json(Map.of("ok", true)));
            s.start();
            for (int i = 0; i < 3; i++) {
                assertThat(RawHttp.send(s.port(), "GET", "/api/secret", "guess" + i, null).status()).isEqualTo(401);
            }
            RawHttp.Answer blocked = RawHttp.send(s.port(), "GET", "/api/secret", token, null);
            assertThat(blocked.status()).isEqualTo(429);
            assertThat(blocked.header("Retry-After")).isEqualTo("60");
            Thread.sleep(2200);
            assertThat(RawHttp.send(s.port(), "GET", "/api/secret", token, null).status()).isEqualTo(200);
        }
    }

    /**
     * A client that sends its request a byte at a time (slowloris) is cut at the request deadline, whatever the idle
     * timeout; a header block beyond the limit is 431.
     */
    @Test void aTricklingClientIsCutAndHugeHeadersAre431() throws Exception {
        AdminServer.Limits limits = new AdminServer.Limits(16, 4096, java.time.Duration.ofSeconds(1),
                java.time.Duration.ofSeconds(30), AdminServer.Limits.DEFAULT.token());
        AdminToken t = AdminToken.loadOrCreate(data).token();
        try (AdminServer s = new AdminServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), () -> t,
                null, limits)) {
            s.route("GET", "/api/secret", call -> Reply.json(Map.of("ok", true)));
            s.start();
            long start = System.nanoTime();
            boolean cut = false;
            try (java.net.Socket c = new java.net.Socket("127.0.0.1", s.port())) {
                c.getOutputStream().write("GET /api/secret HTTP/1.1\r\nHost: x\r\n".getBytes());
                for (int i = 0; i < 40; i++) {
                    Thread.sleep(200);
                    c.getOutputStream().write('X');
                    c.getOutputStream().flush();
                }
            } catch (java.io.IOException e) {
                cut = true; // a write after the server closed: broken pipe / reset
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(cut).as("cut after %d ms", ms).isTrue();
            assertThat(ms).isLessThan(4000);
            try (java.net.Socket c = new java.net.Socket("127.0.0.1", s.port())) {
                c.getOutputStream().write(("GET /api/secret HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(5000)
                        + "\r\n\r\n").getBytes());
                String answer = new String(c.getInputStream().readAllBytes());
                assertThat(answer).startsWith("HTTP/1.1 431").contains("{\"error\":");
            }
        }
    }

    /** A 401 is one logfmt line naming the client, method, path and reason, never the presented token. */
    @Test void refusalsAreLoggedWithoutTheToken() throws Exception {
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(AdminServer.class);
        logger.addAppender(logged);
        try {
            get("/api/echo/a", "Wr0ngT0ken-do-not-log");
            get("/api/echo/b", null);
        } finally {
            logger.detachAppender(logged);
        }
        java.util.List<String> lines = logged.list.stream().map(dev.postern.testkit.LogLines::line).toList();
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("admin: refused (401)")
                .contains("client=127.0.0.1", "method=GET", "path=/api/echo/a", "reason=\"wrong token\""));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("path=/api/echo/b", "reason=\"no token\""));
        assertThat(String.join("\n", lines)).doesNotContain("Wr0ngT0ken").doesNotContain(token);
    }
    /** An admin server reachable from a network without TLS sends the token in clear text: the start says so. */
    @Test void plainHttpBeyondLoopbackIsWarnedOf() {
        assertThat(AdminServer.cleartext(new InetSocketAddress("0.0.0.0", 8025), false))
                .contains("0.0.0.0:8025", "clear text", "[admin] tls = true");
        assertThat(AdminServer.cleartext(new InetSocketAddress("192.0.2.10", 8025), false)).isNotNull();
        assertThat(AdminServer.cleartext(new InetSocketAddress("0.0.0.0", 8025), true)).isNull();
        assertThat(AdminServer.cleartext(new InetSocketAddress("127.0.0.1", 8025), false)).isNull();
        assertThat(AdminServer.cleartext(new InetSocketAddress("::1", 8025), false)).isNull();
    }
}
