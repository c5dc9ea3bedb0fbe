package dev.postern.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.admin.AdminToken;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.cli.AuditDatabase;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.testkit.PartnerPki;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.KeyMaterial;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway started in-process receives real mail over SMTP, with and without STARTTLS, and delivers it to three
 * next hops made here: b.example under "verify" (STARTTLS, a certificate from b's CA), d.example under "may" (no
 * STARTTLS: clear text), and c.example under "encrypt" (no STARTTLS: the enforced link fails). Then {@code GET
 * /metrics} is scraped with the admin token and its counters are compared with the traffic and with the store's
 * {@code report tls}; the Grafana dashboard's metric names are looked up in the same scrape.
 */
class MetricsEndToEndTest {
    static final HttpClient HTTP = HttpClient.newHttpClient();
    @TempDir static Path data;
    @TempDir static Path pki;
    static KeyMaterial mxCert;
    static ScriptedSmtpServer b;
    static ScriptedSmtpServer c;
    static ScriptedSmtpServer d;
    static Config config;
    static Gateway gw;
    static String token;
    static PromText scrape;
    static String scrapeText;

    @BeforeAll static void traffic() throws Exception {
        PartnerPki bank = PartnerPki.create("Bank CA", "mx.b.example", Duration.ofDays(10), pki);
        mxCert = bank.server();
        Path caFile = bank.caFile();
        b = ScriptedSmtpServer.create().pipelining().starttls(mxCert).start();
        c = ScriptedSmtpServer.create().pipelining().noStartTls().start();
        d = ScriptedSmtpServer.create().pipelining().noStartTls().start();
        config = config(data, caFile);
        gw = Gateway.start(config);
        token = AdminToken.loadOrCreate(data).value();

        // one STARTTLS session carrying two messages (two recipients at b.example; one at d.example)
        try (SmtpTestClient s = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            s.read();
            s.command("EHLO client.test");
            s.startTls();
            s.command("EHLO client.test");
            send(s, List.of("bob@b.example", "carol@b.example"), 1);
            send(s, List.of("dave@d.example"), 2);
            s.command("QUIT");
        }
        // one clear-text session with one message for c.example, whose enforced link fails
        try (SmtpTestClient s = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            s.read();
            s.command("EHLO client.test");
            send(s, List.of("erin@c.example"), 3);
            s.command("QUIT");
        }
        // every session ended on record and every recipient had its attempt
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            PromText p = PromText.parse(get("/metrics", token).body());
            return sum(p, "postern_sessions_total", "direction", "in") == 2
                    && sum(p, "postern_deliveries_total") == 4
                    && p.value("postern_queue_messages", "state", "deferred") == 1;
        });
        Thread.sleep(Metrics.QUEUE_CACHE.toMillis()); // the queue gauge's scan is fresh at the next scrape
        scrapeText = get("/metrics", token).body();
        scrape = PromText.parse(scrapeText);
    }

    static Config config(Path dataDir, Path caFile) {
        TlsPolicy verify = new TlsPolicy(TlsLevel.VERIFY, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                TlsPolicy.LEVEL_KEY_FLOOR, List.of("mx.b.example"), caFile, List.of(), null, null);
        Config base = TestConfigs.withRelay(TestConfigs.gateway(dataDir, "gw.a.example", Set.of("a.example")),
                Set.of("b.example", "c.example", "d.example"), Map.of(
                        "b.example", new Config.Route("127.0.0.1", b.port(), false),
                        "c.example", new Config.Route("127.0.0.1", c.port(), false),
                        "d.example", new Config.Route("127.0.0.1", d.port(), false)));
        // no second attempt during the test: every counter is exact
        base = TestConfigs.withQueue(base, new Config.Queue(Duration.ofHours(1), Duration.ofHours(2),
                Duration.ofDays(5), null));
        return base.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                        Map.of("b.example", verify, "c.example", TlsPolicy.of(TlsLevel.ENCRYPT))))
                .withWatch(new Config.Watch(new Config.Admin(new InetSocketAddress("127.0.0.1", 0), false),
                        null, null, null));
    }

    static void send(SmtpTestClient s, List<String> rcpts, int n) throws Exception {
        assertThat(s.command("MAIL FROM:<alice@a.example>").code()).isEqualTo(250);
        for (String r : rcpts) assertThat(s.command("RCPT TO:<" + r + ">").code()).isEqualTo(250);
        assertThat(s.command("DATA").code()).isEqualTo(354);
        s.send("From: alice@a.example\r\nSubject: m" + n + "\r\nMessage-ID: <m" + n + "@a.example>\r\n\r\nhi\r\n.\r\n");
        assertThat(s.read().code()).isEqualTo(250);
    }

    @AfterAll static void stop() {
        if (gw != null) gw.close();
        for (ScriptedSmtpServer s : new ScriptedSmtpServer[] {b, c, d}) if (s != null) s.close();
    }

    static HttpResponse<String> get(String path, String bearer) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.adminPort() + path));
        if (bearer != null) r.header("Authorization", "Bearer " + bearer);
        return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    static double sum(PromText p, String name, String... labels) {
        return p.find(name, labels).stream().mapToDouble(PromText.Sample::value).sum();
    }

    @Test void countersAreTheTraffic() {
        PromText p = scrape;
        // inbound: one encrypted session with two messages, one clear session with one
        assertThat(p.value("postern_sessions_total", "direction", "in", "tls", "encrypted")).isEqualTo(1);
        assertThat(p.value("postern_sessions_total", "direction", "in", "tls", "clear")).isEqualTo(1);
        assertThat(p.value("postern_sessions_total", "direction", "in", "tls", "verified")).isZero();
        assertThat(p.value("postern_messages_total", "direction", "in", "tls", "encrypted")).isEqualTo(2);
        assertThat(p.value("postern_messages_total", "direction", "in", "tls", "clear")).isEqualTo(1);
        assertThat(p.value("postern_messages_total", "direction", "in", "tls", "unknown")).isZero();
        // outbound: b verified (one session, two recipients), d clear (delivered), c clear (refused by policy)
        assertThat(p.value("postern_sessions_total", "direction", "out", "tls", "verified")).isEqualTo(1);
        assertThat(p.value("postern_sessions_total", "direction", "out", "tls", "clear")).isEqualTo(2);
        assertThat(p.value("postern_messages_total", "direction", "out", "tls", "verified")).isEqualTo(2);
        assertThat(p.value("postern_messages_total", "direction", "out", "tls", "clear")).isEqualTo(1);
        assertThat(p.value("postern_messages_total", "direction", "out", "tls", "encrypted")).isZero();
        assertThat(p.value("postern_deliveries_total", "outcome", "delivered")).isEqualTo(3);
        assertThat(p.value("postern_deliveries_total", "outcome", "deferred")).isEqualTo(1);
        // versions and ciphers: what the next hop's TLS stack saw is what the counter names
        ScriptedSmtpServer.TlsInfo seen = b.connections().stream().map(ScriptedSmtpServer.ConnectionRecord::tls)
                .filter(t -> t != null).findFirst().orElseThrow();
        assertThat(p.value("postern_tls_sessions_total", "direction", "out", "protocol", seen.protocol(),
                "cipher", seen.cipherSuite())).isEqualTo(1);
        assertThat(sum(p, "postern_tls_sessions_total", "direction", "out")).isEqualTo(1);
        assertThat(sum(p, "postern_tls_sessions_total", "direction", "in", "protocol", "TLSv1.3")).isEqualTo(1);
        assertThat(p.value("postern_tls_verification_total", "direction", "out", "result", "verified")).isEqualTo(1);
        assertThat(p.value("postern_tls_verification_total", "direction", "out", "result", "not_checked"))
                .isEqualTo(2);
        assertThat(p.value("postern_tls_verification_total", "direction", "in", "result", "not_checked"))
                .isEqualTo(2);
        // enforced links: b (verify) delivered twice; c (encrypt) failed once; d (may) is not one
        assertThat(p.value("postern_enforced_attempts_total", "domain", "b.example", "outcome", "delivered"))
                .isEqualTo(2);
        assertThat(p.value("postern_enforced_failures_total", "domain", "b.example")).isZero();
        assertThat(p.value("postern_enforced_attempts_total", "domain", "c.example", "outcome", "deferred"))
                .isEqualTo(1);
        assertThat(p.value("postern_enforced_failures_total", "domain", "c.example")).isEqualTo(1);
        assertThat(p.find("postern_enforced_attempts_total", "domain", "d.example")).isEmpty();
        // latency: three recipients delivered over SMTP, each within seconds of its receipt
        assertThat(p.value("postern_delivery_latency_seconds_count", "via", "smtp")).isEqualTo(3);
        assertThat(p.value("postern_delivery_latency_seconds_bucket", "via", "smtp", "le", "30.0")).isEqualTo(3);
        assertThat(p.value("postern_delivery_latency_seconds_sum", "via", "smtp")).isGreaterThan(0);
        // the queue: c's message waits
        assertThat(p.value("postern_queue_messages", "state", "deferred")).isEqualTo(1);
        assertThat(p.value("postern_queue_messages", "state", "active")).isZero();
        assertThat(p.value("postern_queue_oldest_age_seconds", "state", "deferred")).isBetween(0.001, 120.0);
        // the audit writer
        assertThat(p.value("postern_audit_dropped_total")).isZero();
        assertThat(p.value("postern_audit_store_up")).isEqualTo(1);
        assertThat(p.has("postern_audit_queued")).isTrue();
        assertThat(p.has("postern_audit_spill_bytes")).isTrue();
    }

    @Test void certificateExpiryOfOursAndThePartnersSeen() throws Exception {
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(mxCert.leaf().getEncoded())).substring(0, 16);
        var partner = scrape.find("postern_certificate_expiry_days", "owner", "partner");
        assertThat(partner).singleElement().satisfies(s -> {
            assertThat(s.labels()).containsEntry("sha256", sha).containsEntry("endpoint", "127.0.0.1:" + b.port())
                    .containsEntry("subject", mxCert.leaf().getSubjectX500Principal().getName());
            assertThat(s.value()).isBetween(9.9, 10.0);
        });
        // the generated EC and RSA certificates, 397 days
        var own = scrape.find("postern_certificate_expiry_days", "owner", "own");
        assertThat(own).hasSize(2).allSatisfy(s -> assertThat(s.value()).isBetween(396.0, 397.0));
    }

    /** The counters agree with {@code postern report tls} over the same records (docs/audit.md's definitions). */
    @Test void countersAgreeWithTheStoresReport() throws Exception {
        try (JdbcAuditStore store = AuditDatabase.open(config)) {
            TlsReport report = await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                    .ignoreExceptions().until(() -> store.report(Instant.now().minus(Duration.ofHours(1)), null,
                            null), r -> part(r, Direction.OUT).enforced().size() == 2
                            && part(r, Direction.IN).sessions().total() == 2);
            for (Direction dir : Direction.values()) {
                String dn = dir.name().toLowerCase();
                TlsReport.Part part = part(report, dir);
                assertThat(scrape.value("postern_messages_total", "direction", dn, "tls", "clear")).as(dn)
                        .isEqualTo(part.messages().clear());
                assertThat(scrape.value("postern_messages_total", "direction", dn, "tls", "encrypted")).as(dn)
                        .isEqualTo(part.messages().unverified());
                assertThat(scrape.value("postern_messages_total", "direction", dn, "tls", "verified")).as(dn)
                        .isEqualTo(part.messages().verified());
                assertThat(sum(scrape, "postern_sessions_total", "direction", dn)).as(dn)
                        .isEqualTo(part.sessions().total());
                assertThat(scrape.value("postern_sessions_total", "direction", dn, "tls", "clear")).as(dn)
                        .isEqualTo(part.sessions().clear());
            }
            for (TlsReport.Enforced e : part(report, Direction.OUT).enforced()) {
                assertThat(sum(scrape, "postern_enforced_attempts_total", "domain", e.domain())).as(e.domain())
                        .isEqualTo(e.attempts());
                assertThat(scrape.value("postern_enforced_attempts_total", "domain", e.domain(), "outcome",
                        "delivered")).isEqualTo(e.delivered());
                assertThat(scrape.value("postern_enforced_failures_total", "domain", e.domain()))
                        .isEqualTo(e.failed());
                assertThat(scrape.value("postern_enforced_would_fail_total", "domain", e.domain()))
                        .isEqualTo(e.wouldFail());
            }
        }
    }

    static TlsReport.Part part(TlsReport r, Direction d) {
        return r.directions().stream().filter(p -> p.direction() == d).findFirst().orElseThrow();
    }

    @Test void theTokenIsRequired() throws Exception {
        HttpResponse<String> none = get("/metrics", null);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.body()).doesNotContain("postern_");
        assertThat(get("/metrics", token + "x").statusCode()).isEqualTo(401);
        assertThat(get("/metrics", "").statusCode()).isEqualTo(401);
        HttpResponse<String> ok = get("/metrics", token);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("Content-Type")).hasValue(Metrics.CONTENT_TYPE);
    }

    @Test void everyLineOfARealScrapeParses() {
        assertThat(scrape.samples).hasSizeGreaterThan(50);
        for (String line : scrapeText.split("\n")) {
            assertThat(line).as("one line").doesNotContain("\r");
        }
        assertThat(scrape.types).containsEntry("postern_sessions_total", "counter")
                .containsEntry("postern_delivery_latency_seconds", "histogram")
                .containsEntry("postern_certificate_expiry_days", "gauge")
                .containsEntry("postern_queue_messages", "gauge");
    }

    /** Every metric the Grafana dashboard asks for is in a real scrape: the dashboard cannot drift from the code. */
    @Test void theGrafanaDashboardUsesOnlyMetricsThatExist() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(Files.readString(Path.of("docs/grafana/postern.json")));
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            if (panel.path("type").asText().equals("row")) continue;
            assertThat(panel.path("datasource").path("uid").asText()).as(panel.path("title").asText())
                    .isEqualTo("${datasource}");
            for (JsonNode t : panel.path("targets")) exprs.add(t.path("expr").asText());
        }
        assertThat(dashboard.path("templating").path("list").findValuesAsText("type")).contains("datasource");
        assertThat(exprs).hasSizeGreaterThan(10);
        Set<String> used = new TreeSet<>();
        Matcher m = Pattern.compile("\\b(postern_[a-z0-9_]+|jvm_[a-z0-9_]+)").matcher(String.join("\n", exprs));
        while (m.find()) used.add(m.group(1));
        assertThat(used).as("names the dashboard reads").hasSizeGreaterThan(12);
        assertThat(scrape.names()).containsAll(used);
        // and the other way round: each family Postern exports is on the dashboard
        Set<String> families = new TreeSet<>();
        for (String f : scrape.types.keySet()) {
            // Micrometer's *_max: the largest latency of the last few minutes, not worth a panel
            if (f.startsWith("postern_") && !f.endsWith("_max")) families.add(f);
        }
        Set<String> shown = new TreeSet<>();
        for (String u : used) shown.add(scrape.family(u));
        assertThat(shown).containsAll(families);
    }

    /**
     * Prometheus' own tools agree, where they are installed (Debian's {@code prometheus} package): the scrape passes
     * {@code promtool check metrics} (its parser and its naming lints), and every dashboard query parses as PromQL
     * ({@code promtool check rules}, with Grafana's variables given values).
     */
    @Test void promtoolAcceptsTheScrapeAndTheDashboardsQueries(@TempDir Path tmp) throws Exception {
        Path promtool = Path.of("/usr/bin/promtool");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(promtool), "promtool not installed");
        Path scrapeFile = tmp.resolve("scrape.txt");
        Files.writeString(scrapeFile, scrapeText);
        Process check = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true)
                .redirectInput(scrapeFile.toFile()).start();
        String said = new String(check.getInputStream().readAllBytes());
        int status = check.waitFor();
        // the one lint: days, not seconds, on purpose (the issue names the metric; expiry thresholds are in days)
        assertThat(said.lines().toList()).as(said).containsOnly(
                "postern_certificate_expiry_days use base unit \"seconds\" instead of \"days\"");
        assertThat(status).as("3: lint problems only, 1 would be a parse error").isIn(0, 3);

        JsonNode dashboard = new ObjectMapper().readTree(Files.readString(Path.of("docs/grafana/postern.json")));
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        int n = 0;
        for (JsonNode t : dashboard.path("panels").findValues("expr")) {
            String expr = t.asText().replace("$__rate_interval", "5m").replace("$__range", "1h")
                    .replace("$instance", ".*");
            rules.append("      - record: dashboard:q").append(n++).append("\n        expr: '")
                    .append(expr.replace("'", "''")).append("'\n");
        }
        Path rulesFile = tmp.resolve("rules.yml");
        Files.writeString(rulesFile, rules);
        Process r = new ProcessBuilder(promtool.toString(), "check", "rules", rulesFile.toString())
                .redirectErrorStream(true).start();
        String rs = new String(r.getInputStream().readAllBytes());
        assertThat(r.waitFor()).as(rs).isZero();
        assertThat(rs).contains("SUCCESS: " + n + " rules found");
    }

    /**
     * A real Prometheus (Debian's, where installed) scrapes the gateway with the scrape config of docs/monitoring.md:
     * the token from {@code credentials_file}; a job with a wrong token is down. Its query answers the test's counts.
     */
    @Test void prometheusScrapesWithTheTokenFromAFile(@TempDir Path tmp) throws Exception {
        Path prometheus = Path.of("/usr/bin/prometheus");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(prometheus), "prometheus not installed");
        Path tokenFile = tmp.resolve("postern-token");
        Files.writeString(tokenFile, token + "\n");
        Path wrong = tmp.resolve("wrong-token");
        Files.writeString(wrong, "not-the-token\n");
        String target = "127.0.0.1:" + gw.adminPort();
        Files.writeString(tmp.resolve("prometheus.yml"), """
                global: {scrape_interval: 1s}
                scrape_configs:
                  - job_name: postern
                    authorization: {credentials_file: %s}
                    static_configs: [{targets: ["%s"]}]
                  - job_name: wrong
                    authorization: {credentials_file: %s}
                    static_configs: [{targets: ["%s"]}]
                """.formatted(tokenFile, target, wrong, target));
        int port;
        try (var probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort(); // Prometheus cannot say which port 0 gave it
        }
        Process p = new ProcessBuilder(prometheus.toString(), "--config.file=" + tmp.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + tmp.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("prometheus.log").toFile()).start();
        try {
            String q = "http://127.0.0.1:" + port + "/api/v1/query?query=";
            JsonNode up = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .ignoreExceptions().until(() -> query(q + "up"), r -> r.size() == 2);
            for (JsonNode series : up) {
                String job = series.path("metric").path("job").asText();
                assertThat(series.path("value").get(1).asText()).as(job).isEqualTo(job.equals("postern") ? "1" : "0");
            }
            JsonNode in = query(q + java.net.URLEncoder.encode(
                    "postern_messages_total{job=\"postern\",direction=\"in\",tls=\"encrypted\"}",
                    java.nio.charset.StandardCharsets.UTF_8));
            assertThat(in).singleElement().satisfies(s -> assertThat(s.path("value").get(1).asText()).isEqualTo("2"));
        } finally {
            p.destroy();
            if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    static JsonNode query(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
        return new ObjectMapper().readTree(r.body()).path("data").path("result");
    }

    /** A restart keeps the partners' certificates: they are read back from the store's certificates seen. */
    @Test void aRestartedGatewayStillShowsThePartnersCertificates(@TempDir Path other) throws Exception {
        Config second = config(other, pki.resolve("ca.pem"));
        try (Gateway one = Gateway.start(second)) {
            try (SmtpTestClient s = SmtpTestClient.connect(one.boundAddresses().getFirst())) {
                s.read();
                s.command("EHLO client.test");
                send(s, List.of("zoe@b.example"), 9);
                s.command("QUIT");
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> one.spool().list().isEmpty());
        }
        try (Gateway two = Gateway.start(second)) {
            String t = AdminToken.loadOrCreate(other).value();
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + two.adminPort() + "/metrics"))
                    .header("Authorization", "Bearer " + t).build();
            var certs = await().atMost(Duration.ofSeconds(20)).until(() -> PromText.parse(
                    HTTP.send(r, HttpResponse.BodyHandlers.ofString()).body())
                    .find("postern_certificate_expiry_days", "owner", "partner"), l -> !l.isEmpty());
            assertThat(certs).singleElement().satisfies(s -> {
                assertThat(s.labels()).containsEntry("endpoint", "127.0.0.1:" + b.port());
                assertThat(s.value()).isBetween(9.9, 10.0);
            });
            // nothing was sent since this start
            PromText p = PromText.parse(HTTP.send(r, HttpResponse.BodyHandlers.ofString()).body());
            assertThat(sum(p, "postern_sessions_total")).isZero();
        }
    }
}
