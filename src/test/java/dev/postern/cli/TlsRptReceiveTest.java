package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.admin.AdminToken;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tlsrpt.ReportSamples;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS reports about our domains received by a running gateway: by real SMTP to {@code [tls_rpt] receive_address}
 * (the mail lands in the Maildir and the report in the store) and by HTTP POST to the admin server, then read back
 * through the API and {@code postern report tlsrpt}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TlsRptReceiveTest {
    @TempDir static Path data;
    static Gateway gw;
    static String token;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final Instant DAY = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(Duration.ofDays(1));

    @BeforeAll static void start() throws Exception {
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "mx.a.example", Set.of("a.example")),
                Set.of("relayed.example"), java.util.Map.of());
        c = c.withWatch(new Config.Watch(new Config.Admin(new InetSocketAddress("127.0.0.1", 0), false), null, null,
                new Config.TlsRpt(false, null, null, null, "TLSRPT@a.example", 5L << 20)));
        gw = Gateway.start(c);
        token = AdminToken.loadOrCreate(data).value();
    }

    @AfterAll static void stop() {
        if (gw != null) gw.close();
    }

    static HttpResponse<String> post(String path, String contentType, byte[] body, String bearer, String client)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.adminPort() + path))
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (bearer != null) b.header("Authorization", "Bearer " + bearer);
        if (client != null) b.header("X-Forwarded-For", "203.0.113.1, " + client);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String pathAndQuery, String bearer) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.adminPort() + pathAndQuery));
        if (bearer != null) b.header("Authorization", "Bearer " + bearer);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void send(String from, String to, byte[] message) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO reporter.example").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<" + from + ">").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<" + to + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.sendBytes(message);
            SmtpTestClient.Response r = c.command(".");
            assertThat(r.code()).as(r.text()).isEqualTo(250);
            c.command("QUIT");
        }
    }

    static long maildirFiles() throws Exception {
        Path dir = data.resolve("mail/a.example/tlsrpt/new");
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test @Order(1) void aReportByMailIsDeliveredAndStored() throws Exception {
        byte[] mail = ReportSamples.mail("noreply-smtp-tls-reporting@company-x.example", "tlsrpt@a.example",
                "a.example", ReportSamples.gzip(ReportSamples.rfcExample("a.example")));
        send("noreply-smtp-tls-reporting@company-x.example", "tlsrpt@a.example", mail);
        // not a report: delivered all the same, and only a log line says why it was not read
        send("someone@company-x.example", "tlsrpt@a.example",
                "Subject: hello\r\n\r\nnot a report\r\n".getBytes(StandardCharsets.US_ASCII));
        await().atMost(Duration.ofSeconds(20)).until(() -> maildirFiles() == 2);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() ->
                get("/api/tlsrpt?direction=IN&domain=a.example", token).body()
                        .contains("5065427c-23d3-47ca-b6e0-946ea0e8c4be"));
        HttpResponse<String> one = get("/api/tlsrpt/report?id=5065427c-23d3-47ca-b6e0-946ea0e8c4be", token);
        assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
        assertThat(one.body()).contains("\"direction\":\"IN\"", "\"organization\":\"Company-X\"",
                "\"policyDomain\":\"a.example\"", "\"successful\":5326", "\"failed\":303", "\"outcome\":\"accepted\"",
                "\"start\":\"2016-04-01T00:00:00Z\"", "mail from <noreply-smtp-tls-reporting@company-x.example> via ",
                "total-failure-session-count\\\":303");
        // the same mail again: delivered again, stored once
        send("noreply-smtp-tls-reporting@company-x.example", "tlsrpt@a.example", mail);
        await().atMost(Duration.ofSeconds(20)).until(() -> maildirFiles() == 3);
        Thread.sleep(1500);
        assertThat(get("/api/tlsrpt?domain=a.example&since=2016-01-01", token).body()
                .split("5065427c-23d3-47ca-b6e0-946ea0e8c4be", -1)).hasSize(2);
    }

    @Test @Order(2) void reportsArePostedOpenlyOrWithTheToken() throws Exception {
        byte[] gz = ReportSamples.gzip(ReportSamples.daily("Google Inc.", "a.example", DAY, 1200, 7));
        HttpResponse<String> r = post("/tlsrpt", "application/tlsrpt+gzip", gz, null, "192.0.2.1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"status\":\"accepted\"", "\"domains\":[\"a.example\"]");
        r = post("/tlsrpt", "application/tlsrpt+gzip", gz, null, "192.0.2.1");
        assertThat(r.body()).contains("\"status\":\"duplicate\"");
        // another organization with the same report-id (Google's scheme: window and domain) is another report
        byte[] other = ReportSamples.daily("Other Mail Co", "a.example", DAY, 50, 0).getBytes(StandardCharsets.UTF_8);
        r = post("/api/tlsrpt", "application/tlsrpt+json", other, token, null);
        assertThat(r.body()).as(r.body()).contains("\"status\":\"accepted\"");
        // a relay domain is ours too; a foreign one is not, and a mixed report keeps only ours
        String mixed = ReportSamples.daily("Mixed", "relayed.example", DAY, 5, 1).replaceFirst(
                "\"policy-domain\":\"relayed.example\"", "\"policy-domain\":\"bank.example\"");
        r = post("/tlsrpt", "application/tlsrpt+json", mixed.getBytes(StandardCharsets.UTF_8), null, "192.0.2.2");
        assertThat(r.body()).contains("\"domains\":[\"relayed.example\"]", "\"ignored\":[\"bank.example\"]");
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() ->
                get("/api/tlsrpt?direction=IN", token).body().contains("Mixed"));
        String list = get("/api/tlsrpt?direction=IN&since=7d", token).body();
        assertThat(list).startsWith("{\"reports\":[").contains("Google Inc.", "Other Mail Co", "\"json\":null")
                .doesNotContain("Company-X"); // 2016: before since
        assertThat(get("/api/tlsrpt/report?id=" + DAY + "_a.example", token).statusCode()).isEqualTo(409);
        r = get("/api/tlsrpt/report?id=" + DAY + "_a.example&organization=Google%20Inc.", token);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"successful\":1200", "\"failed\":7", "certificate-host-mismatch",
                "https POST from 192.0.2.1");
    }

    @Test @Order(3) void badReportsGetPreciseStatuses() throws Exception {
        String c = "192.0.2.3";
        HttpResponse<String> r = post("/tlsrpt", "application/json", "{}".getBytes(), null, c);
        assertThat(r.statusCode()).isEqualTo(415);
        assertThat(r.body()).contains("content type must be application/tlsrpt+gzip or application/tlsrpt+json");
        r = post("/tlsrpt", "application/tlsrpt+json", "{\"organization-name\":".getBytes(), null, c);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).startsWith("{\"error\":\"not JSON");
        r = post("/tlsrpt", "application/tlsrpt+json", ("{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}")
                .getBytes(), null, c);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("nesting depth");
        r = post("/tlsrpt", "application/tlsrpt+json",
                ReportSamples.daily("X", "bank.example", DAY, 1, 0).getBytes(StandardCharsets.UTF_8), null, c);
        assertThat(r.statusCode()).isEqualTo(422);
        assertThat(r.body()).contains("policy-domain bank.example is not one of this gateway's domains");
        r = post("/tlsrpt", "application/tlsrpt+json",
                ReportSamples.daily("X", "a.example", DAY, -4, 0).getBytes(StandardCharsets.UTF_8), null, c);
        assertThat(r.statusCode()).isEqualTo(422);
        assertThat(r.body()).contains("total-successful-session-count: must not be negative");
        r = post("/tlsrpt", "application/tlsrpt+gzip", "not gzip".getBytes(), null, c);
        assertThat(r.statusCode()).isEqualTo(400);
        // a gzip bomb: 4 MiB that inflate to 4 GiB. Over the open route's 1 MiB wire limit; with the token, read to
        // the 5 MiB inflated limit and refused there
        byte[] bomb = ReportSamples.bomb(4096);
        r = post("/tlsrpt", "application/tlsrpt+gzip", bomb, null, c);
        assertThat(r.statusCode()).isEqualTo(413);
        long t0 = System.nanoTime();
        r = post("/api/tlsrpt", "application/tlsrpt+gzip", bomb, token, null);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("gzip bomb POST (" + bomb.length + " bytes, 4 GiB inflated): " + r.statusCode() + " in "
                + ms + " ms: " + r.body());
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(r.body()).contains("report inflates to more than 5242880 bytes");
        assertThat(ms).isLessThan(5_000);
        // the API itself wants the token
        assertThat(post("/api/tlsrpt", "application/tlsrpt+gzip", new byte[1], null, null).statusCode()).isEqualTo(401);
        assertThat(get("/api/tlsrpt", null).statusCode()).isEqualTo(401);
        assertThat(get("/api/tlsrpt?direction=sideways", token).statusCode()).isEqualTo(400);
        assertThat(get("/api/tlsrpt/report?id=nothing-like-it", token).statusCode()).isEqualTo(404);
    }

    @Test @Order(4) void theOpenRouteIsRateLimitedPerClient() throws Exception {
        int last = 0;
        for (int i = 0; i < 21; i++) {
            last = post("/tlsrpt", "application/tlsrpt+json", "{}".getBytes(), null, "198.51.100.99").statusCode();
            if (i < 20) assertThat(last).isEqualTo(422);
        }
        assertThat(last).isEqualTo(429);
        // another client is still served
        assertThat(post("/tlsrpt", "application/tlsrpt+json", "{}".getBytes(), null, "198.51.100.100").statusCode())
                .isEqualTo(422);
    }

    @Test @Order(5) void theCommandListsAndShowsThem() throws Exception {
        Cli.Result r = Cli.run("report", "tlsrpt", "--since", "2016-01-01", "--data", data.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        List<String> lines = r.outLines();
        assertThat(lines.getFirst()).startsWith("TLS reports (RFC 8460) with a window from 2016-01-01 00:00:00Z on: 4");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("IN   a.example").contains("Company-X",
                "2016-04-01 00:00 - 2016-04-01 23:59", "5326", "303",
                "starttls-not-supported 200, certificate-expired 100, validation-failure 3"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("Google Inc.", "1200", "certificate-host-mismatch 7"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("relayed.example", "Mixed"));
        assertThat(Cli.run("report", "tlsrpt", "--data", data.toString()).out()).doesNotContain("Company-X");
        Cli.Result json = Cli.run("report", "tlsrpt", "--domain", "A.EXAMPLE", "--since", "2016-01-01", "--json",
                "--data", data.toString());
        assertThat(json.out()).contains("\"reports\" : [", "\"topFailures\" : [", "\"resultType\" : "
                + "\"starttls-not-supported\"", "\"sessions\" : 200").doesNotContain("relayed.example");
        Cli.Result show = Cli.run("report", "tlsrpt", "show", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", "--data",
                data.toString());
        assertThat(show.exit()).as(show.toString()).isZero();
        assertThat(show.out()).contains("IN report 5065427c-23d3-47ca-b6e0-946ea0e8c4be from Company-X about a.example",
                "  sessions    5326 successful, 303 failed", "\"failure-reason-code\" : \"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED\"");
        Cli.Result none = Cli.run("report", "tlsrpt", "show", "no-such", "--data", data.toString());
        assertThat(none.exit()).isEqualTo(1);
        assertThat(none.errLines()).containsExactly("postern: no TLS report with report-id \"no-such\"");
        Cli.Result bad = Cli.run("report", "tlsrpt", "--direction", "up", "--data", data.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.errLines()).containsExactly("postern: --direction: expected in or out, got \"up\"");
    }
}
