package dev.postern.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.cli.AuditDatabase;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.TestConfigs;
import dev.postern.trace.Json;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's API over real HTTP against a gateway: the same JSON as the commands, the same rules for overrides,
 * and a precise status with one line for every bad request (as an attacker or a confused administrator sends it).
 */
class DashboardApiTest {
    @TempDir static Path data;
    static Gateway gw;
    static JdbcAuditStore store;
    static String token;
    static String base;
    static String queueId;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll static void start() throws Exception {
        Config c = TestConfigs.gateway(data, "gw.a.example", Set.of("a.example"));
        Config.OutboundTls pinned = new Config.OutboundTls(Config.TlsPolicy.of(Config.TlsLevel.MAY), Map.of(),
                Duration.ofDays(2));
        c = c.withOutboundTls(pinned).withWatch(new Config.Watch(new Config.Admin(
                new InetSocketAddress("127.0.0.1", 0), false), null, null, null));
        gw = Gateway.start(c);
        store = AuditDatabase.open(c);
        token = AdminToken.loadOrCreate(data).value();
        base = "http://127.0.0.1:" + gw.adminPort();
        queueId = DashboardBrowserTest.submit(gw, false, "bob@a.example", "api-1");
        await().atMost(Duration.ofSeconds(20)).until(() -> !store.trace(queueId).isEmpty()
                && !store.trace(queueId).getFirst().deliveries().isEmpty());
    }

    @AfterAll static void stop() {
        store.close();
        gw.close();
    }

    static HttpResponse<String> send(String method, String path, String body, boolean withToken) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).method(method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (withToken) b.header("Authorization", "Bearer " + token);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return send("GET", path, null, true);
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return RecordCodec.mapper().readTree(r.body());
    }

    static void error(HttpResponse<String> r, int status, String contains) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(json(r).get("error").asText()).contains(contains);
    }

    @Test void theReportIsTheCommandsJsonAndTheTimelineAddsUpToIt() throws Exception {
        HttpResponse<String> t = get("/api/report/timeline?since=2h&bucket=30m");
        assertThat(t.statusCode()).isEqualTo(200);
        JsonNode timeline = json(t);
        String since = timeline.get("since").asText();
        JsonNode api = json(get("/api/report/tls?since=" + since));
        // postern report tls --format json prints Json.pretty(store.report(...)): the same document but "until"
        ObjectNode cli = (ObjectNode) RecordCodec.mapper().readTree(Json.pretty(store.report(Instant.parse(since),
                null, null)));
        cli.remove("until");
        ((ObjectNode) api).remove("until");
        assertThat(api).isEqualTo(cli);
        for (String dir : new String[] {"IN", "OUT"}) {
            long sum = 0;
            for (JsonNode b : timeline.get("buckets")) sum += b.get(dir.equals("IN") ? "in" : "out").get("total").asLong();
            long total = 0;
            for (JsonNode p : api.get("directions")) if (p.get("direction").asText().equals(dir)) total = p.get("messages").get("total").asLong();
            assertThat(sum).as(dir).isEqualTo(total);
        }
        TlsReport r = store.report(Instant.parse(since), null, Direction.IN);
        assertThat(r.directions().getFirst().messages().total()).isEqualTo(1);
    }

    @Test void badParametersAreOneLineEach() throws Exception {
        error(get("/api/report/tls?since=yesterday"), 400, "since: expected a duration like");
        error(get("/api/report/tls?direction=sideways"), 400, "direction: expected in or out");
        error(get("/api/report/tls?domain=-bad-.example"), 400, "domain: expected a domain");
        error(get("/api/report/timeline?bucket=5s"), 400, "bucket: expected at least 1m");
        error(get("/api/report/timeline?since=400d&bucket=1m"), 400, "expected at most 2000");
        error(get("/api/trace"), 400, "q: expected");
        error(get("/api/trace?q=nothing-like-this"), 404, "no message nothing-like-this on record");
        assertThat(get("/api/queue/..%2F..%2Fetc").statusCode()).isEqualTo(400); // Jetty refuses an encoded "/"
        error(get("/api/queue/not-an-id"), 400, "not a queue id");
        error(get("/api/queue/" + "0".repeat(26)), 404, "no message");
        assertThat(get("/assets/index.html%00").statusCode()).isEqualTo(400); // Jetty refuses a NUL
        error(get("/assets/nothing.js"), 404, "not found");
        assertThat(get("/assets/../admin/token").statusCode()).isIn(400, 404);
    }

    @Test void withoutTheTokenOnlyThePageIsServedAndItForbidsInlineCode() throws Exception {
        for (String p : new String[] {"/api/dashboard", "/api/report/tls", "/api/queue", "/api/overrides",
                "/api/trace?q=" + queueId, "/api/report/timeline"}) {
            assertThat(send("GET", p, null, false).statusCode()).as(p).isEqualTo(401);
        }
        assertThat(send("POST", "/api/overrides", "{}", false).statusCode()).isEqualTo(401);
        HttpResponse<String> page = send("GET", "/", null, false);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<script src=\"/assets/dashboard.js\" defer></script>")
                .doesNotContain("<script>").doesNotContain("style=");
        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
                .contains("script-src 'self'", "style-src 'self'", "default-src 'none'");
        assertThat(send("GET", "/assets/dashboard.js", null, false).body()).doesNotContain("innerHTML")
                .doesNotContain("eval(");
        assertThat(send("GET", "/assets/dashboard.css", null, false).headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("text/css"));
    }

    @Test void traceQueueAndDashboardAnswerWhatTheCommandsPrint() throws Exception {
        JsonNode byId = json(get("/api/trace?q=" + queueId));
        JsonNode byMessageId = json(get("/api/trace?q=%3Capi-1@a.example%3E"));
        JsonNode byRecipient = json(get("/api/trace?q=bob@a.example"));
        JsonNode cli = RecordCodec.mapper().readTree(Json.pretty(store.trace(queueId)));
        assertThat(byId).isEqualTo(cli);
        assertThat(byMessageId).isEqualTo(cli);
        assertThat(byRecipient).isEqualTo(cli);

        JsonNode queue = json(get("/api/queue"));
        assertThat(queue.get("count").asInt()).isEqualTo(queue.get("messages").size());
        assertThat(queue.get("dataDir").asText()).isEqualTo(data.toString());

        JsonNode dash = json(get("/api/dashboard"));
        assertThat(dash.get("partners").isArray()).isTrue();
        assertThat(dash.get("events").isArray()).isTrue();
    }

    @Test void overridesFollowTheCommandsRules() throws Exception {
        error(send("POST", "/api/overrides", "not json", true), 400, "expected a JSON object");
        error(send("POST", "/api/overrides", "[1]", true), 400, "expected a JSON object");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"may\",\"until\":\"1h\","
                + "\"by\":\"alice\"}", true), 400, "reason: expected some words");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"may\",\"until\":\"1h\","
                + "\"reason\":\"  \",\"by\":\"alice\"}", true), 400, "reason: expected some words");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"maybe\",\"until\":\"1h\","
                + "\"reason\":\"r\",\"by\":\"alice\"}", true), 400, "level: expected none, may");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"may\",\"until\":\"3d\","
                + "\"reason\":\"r\",\"by\":\"alice\"}", true), 400, "until: expected at most 2d");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"may\",\"until\":\"2020-01-01\","
                + "\"reason\":\"r\",\"by\":\"alice\"}", true), 400, "until: expected a time in the future");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"fingerprint\",\"until\":\"1h\","
                + "\"reason\":\"r\",\"by\":\"alice\"}", true), 400, "has no pins");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"may\",\"until\":\"1h\","
                + "\"reason\":\"r\",\"by\":\"al\\u0007ice\"}", true), 400, "by: expected a name");
        error(send("POST", "/api/overrides", "{\"domain\":\"x.example\",\"level\":\"may\",\"until\":\"1h\","
                + "\"reason\":\"r\"}", true), 400, "by: expected who");
        error(send("POST", "/api/overrides", "{\"domain\":\"not a domain\",\"level\":\"may\",\"until\":\"1h\","
                + "\"reason\":\"r\",\"by\":\"alice\"}", true), 400, "expected a domain");
        error(send("POST", "/api/overrides", "{\"domain\":7}", true), 400, "domain: expected a string");
        assertThat(json(get("/api/overrides")).get("overrides").size()).isZero();

        HttpResponse<String> set = send("POST", "/api/overrides", "{\"domain\":\"Bücher.Example\",\"level\":\"may\","
                + "\"until\":\"1h\",\"reason\":\"ticket 12\",\"by\":\"alice\"}", true);
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        assertThat(json(set).get("domain").asText()).isEqualTo("xn--bcher-kva.example");
        JsonNode listed = json(get("/api/overrides")).get("overrides");
        assertThat(listed.size()).isEqualTo(1);
        assertThat(listed.get(0).get("active").asBoolean()).isTrue();
        assertThat(listed.get(0).get("setBy").asText()).isEqualTo("alice");

        error(send("DELETE", "/api/overrides/xn--bcher-kva.example", "{\"by\":\"bob\"}", true), 400, "reason");
        error(send("DELETE", "/api/overrides/other.example?reason=r&by=bob", null, true), 404, "no override for");
        HttpResponse<String> end = send("DELETE", "/api/overrides/xn--bcher-kva.example?reason=done&by=bob", null,
                true);
        assertThat(end.statusCode()).as(end.body()).isEqualTo(200);
        assertThat(json(end).get("overrides").size()).isZero();
        String log = Files.readString(data.resolve("admin.log"));
        assertThat(log).contains("\"by\":\"alice\",\"peer\":\"127.0.0.1\",\"action\":\"POLICY_OVERRIDE_SET\","
                + "\"target\":\"xn--bcher-kva.example\",\"detail\":\"level may until")
                .contains("\"by\":\"bob\",\"peer\":\"127.0.0.1\",\"action\":\"POLICY_OVERRIDE_CLEARED\"")
                .contains("ended early (done)");
    }
}
