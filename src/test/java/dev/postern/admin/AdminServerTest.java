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
}
