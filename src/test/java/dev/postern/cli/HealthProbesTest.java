package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.admin.AdminToken;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.ProbeRecord;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.Pem;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Health probes against real SMTP servers on loopback with real TLS: {@code postern probe} offline and through a
 * running gateway, the periodic probes, the admin API, DANE and MX order through a DNS server on loopback. Each
 * result is read back from the audit store; no server ever sees MAIL.
 */
class HealthProbesTest {
    @TempDir static Path dir;
    static Issued root;
    static Issued good;
    static ScriptedSmtpServer goodMx;
    static ScriptedSmtpServer wrongNameMx;
    static ScriptedSmtpServer plainMx;
    static ScriptedSmtpServer hangingMx;
    static ServerSocket dnsSink;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll static void servers() throws Exception {
        root = TestPki.root("Probe Root");
        Issued inter = TestPki.cert("Probe Intermediate").issuer(root).ca().build();
        good = TestPki.cert("mx.good.test").issuer(inter).dns("mx.good.test").ip("127.0.0.1").build();
        Issued wrong = TestPki.cert("mx.other.test").issuer(inter).dns("mx.other.test").build();
        Pem.write(root.material(), dir.resolve("root.pem"), dir.resolve("root.key"));
        goodMx = ScriptedSmtpServer.create().hostname("mx.good.test").starttls(good.material(inter.cert())).start();
        wrongNameMx = ScriptedSmtpServer.create().starttls(wrong.material(inter.cert())).start();
        plainMx = ScriptedSmtpServer.create().start();
        hangingMx = ScriptedSmtpServer.create().starttls(good.material(inter.cert())).on(ScriptedSmtpServer.Verb.EHLO,
                ScriptedSmtpServer.HANG).start();
        dnsSink = new ServerSocket(0); // [dns] points here unless a test has a DNS server of its own
    }

    @AfterAll static void stop() throws Exception {
        for (ScriptedSmtpServer s : List.of(goodMx, wrongNameMx, plainMx, hangingMx)) s.close();
        dnsSink.close();
    }

    /** A gateway's file in {@code name}/: static routes to the servers, their policies, [probes] off by default. */
    static Path config(String name, int dnsPort, String dnsMore, String more) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        Path f = d.resolve("postern.toml");
        Files.writeString(f, """
                hostname = "gw.probes.test"
                data_dir = "%s"
                [[listeners]]
                address = "127.0.0.1:2525"
                role = "mx"
                [dns]
                servers = ["127.0.0.1:%d"]
                timeout = "2s"
                %s
                [admin]
                listen = ""
                [probes]
                enabled = false
                timeout = "3s"
                domains = ["listed.test"]
                [routes]
                "good.test" = "[127.0.0.1]:%d"
                "secure.test" = "[127.0.0.1]:%d"
                "wrong.test" = "[127.0.0.1]:%d"
                "plain.test" = "[127.0.0.1]:%d"
                "hang.test" = "[127.0.0.1]:%d"
                "may.test" = "[127.0.0.1]:%d"
                [outbound_tls.default]
                level = "may"
                [outbound_tls."good.test"]
                level = "verify"
                ca_file = "%s"
                [outbound_tls."secure.test"]
                level = "secure"
                match = ["mx.good.test"]
                ca_file = "%s"
                [outbound_tls."wrong.test"]
                level = "verify"
                ca_file = "%s"
                [outbound_tls."plain.test"]
                level = "encrypt"
                [outbound_tls."hang.test"]
                level = "encrypt"
                [outbound_tls.".wild.test"]
                level = "verify"
                %s
                """.formatted(d.resolve("data"), dnsPort, dnsMore, goodMx.port(), goodMx.port(), wrongNameMx.port(),
                plainMx.port(), hangingMx.port(), plainMx.port(), dir.resolve("root.pem"), dir.resolve("root.pem"),
                dir.resolve("root.pem"), more));
        return f;
    }

    static Config load(Path file) throws Exception {
        return ConfigLoader.load(file);
    }

    /**
     * {@code c} as a gateway in a test runs it: its listener and the admin server on ports chosen by the system (the
     * file cannot say port 0; the commands never bind them), with {@code probes}.
     */
    static Config runnable(Config c, Config.Probes probes) {
        Config r = new Config(c.source(), c.hostname(), c.dataDir(), List.of(new Config.Listener(
                new java.net.InetSocketAddress("127.0.0.1", 0), Config.Role.MX)), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), c.routes(), c.outboundTls(),
                c.inbound(), c.audit(), c.mtaSts(), c.peerMemory(), c.log(), c.watch());
        return r.withWatch(new Config.Watch(new Config.Admin(new java.net.InetSocketAddress("127.0.0.1", 0), false),
                null, probes, null));
    }

    static List<ProbeRecord> history(Config config, String domain) throws Exception {
        try (JdbcAuditStore store = AuditDatabase.open(config)) {
            return store.probeHistory(domain, Instant.now().minus(Duration.ofDays(1)));
        }
    }

    static long outboundSessions(Config config) throws Exception {
        try (JdbcAuditStore store = AuditDatabase.open(config)) {
            TlsReport r = store.report(Instant.now().minus(Duration.ofDays(1)), null, TlsSessionRecord.Direction.OUT);
            return r.directions().getFirst().sessions().total();
        }
    }

    @Test void offlineProbesAreRecordedWithTheRightVerdicts() throws Exception {
        Path file = config("offline", dnsSink.getLocalPort(), "", "");
        Config config = load(file);

        Cli.Result ok = Cli.withConfig(file, List.of("probe"), "good.test", "--by", "alice");
        assertThat(ok.exit()).as(ok.toString()).isZero();
        assertThat(ok.out()).contains("probe good.test: ok", "policy: verify (static)",
                "host: 127.0.0.1[127.0.0.1]:" + goodMx.port() + ", TLSv1.3 ", ", verified",
                "tried: 127.0.0.1[127.0.0.1]:" + goodMx.port() + " tls-verified", "by alice");

        Cli.Result secure = Cli.withConfig(file, List.of("probe"), "secure.test", "--json");
        assertThat(secure.exit()).as(secure.toString()).isZero();
        JsonNode j = RecordCodec.mapper().readTree(secure.out());
        assertThat(j.at("/ok").asBoolean()).isTrue();
        assertThat(j.at("/policyLevel").asText()).isEqualTo("secure");
        assertThat(j.at("/verification").asText()).isEqualTo("verified");
        assertThat(j.at("/tlsSessionId").isNull()).isTrue();

        Cli.Result plain = Cli.withConfig(file, List.of("probe"), "plain.test");
        assertThat(plain.exit()).as(plain.toString()).isEqualTo(1);
        assertThat(plain.out()).contains("probe plain.test: FAILED", "policy: encrypt (static)",
                "problem: mail for plain.test would be deferred (policy encrypt, static entry \"plain.test\"): "
                        + "127.0.0.1[127.0.0.1]:" + plainMx.port() + ": does not offer STARTTLS");

        Cli.Result wrong = Cli.withConfig(file, List.of("probe"), "wrong.test");
        assertThat(wrong.exit()).as(wrong.toString()).isEqualTo(1);
        assertThat(wrong.out()).contains("certificate name mismatch: mx.other.test does not match 127.0.0.1");

        // under may, clear text is what the policy allows: the probe passes and says so
        Cli.Result may = Cli.withConfig(file, List.of("probe"), "may.test");
        assertThat(may.exit()).as(may.toString()).isZero();
        assertThat(may.out()).contains("policy: may (default)", ", no TLS, none");

        long start = System.nanoTime();
        Cli.Result hang = Cli.withConfig(file, List.of("probe"), "hang.test");
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(hang.exit()).as(hang.toString()).isEqualTo(1);
        assertThat(ms).as("bounded by [probes] timeout = 3s").isBetween(2_500L, 5_500L);

        ProbeRecord g = history(config, "good.test").getFirst();
        assertThat(g.ok()).isTrue();
        assertThat(g.trigger()).isEqualTo("alice");
        assertThat(g.policySource()).isEqualTo("static");
        assertThat(g.protocol()).isEqualTo("TLSv1.3");
        assertThat(g.port()).isEqualTo(goodMx.port());
        assertThat(g.tlsSessionId()).isNull();
        ProbeRecord p = history(config, "plain.test").getFirst();
        assertThat(p.ok()).isFalse();
        assertThat(p.verification()).isEqualTo("none");
        assertThat(p.problem()).contains("does not offer STARTTLS");
        assertThat(p.trigger()).isEqualTo(System.getProperty("user.name"));
        assertThat(history(config, "hang.test").getFirst().ok()).isFalse();
        assertThat(outboundSessions(config)).as("a probe is no mail traffic").isZero();
        for (ScriptedSmtpServer s : List.of(goodMx, plainMx, wrongNameMx)) assertThat(s.transactions()).isEmpty();
        assertThat(goodMx.connections()).allSatisfy(c -> assertThat(c.commands()).noneMatch(x -> x.startsWith("MAIL")));

        Cli.Result list = Cli.withConfig(file, List.of("probe"), "--list");
        assertThat(list.exit()).as(list.toString()).isZero();
        assertThat(list.out()).contains("good.test  ([outbound_tls] verify; route [127.0.0.1]:" + goodMx.port()
                        + " under verify)", "plain.test  ([outbound_tls] encrypt;", "listed.test  ([probes] domains)",
                "  last: never probed").doesNotContain("wild.test", "may.test");
        assertThat(list.outLines()).containsSubsequence("plain.test  ([outbound_tls] encrypt; route [127.0.0.1]:"
                + plainMx.port() + " under encrypt)", "  last: FAILED at " + p.at() + ": " + p.problem());
        JsonNode listed = RecordCodec.mapper().readTree(Cli.withConfig(file, List.of("probe"), "--list", "--json")
                .out());
        assertThat(listed.at("/targets/0/domain").asText()).isEqualTo("good.test");
        assertThat(listed.at("/targets/0/last/ok").asBoolean()).isTrue();
    }

    @Test void badUsageIsOneLineAndExit2() throws Exception {
        Path file = config("usage", dnsSink.getLocalPort(), "", "");
        for (String[] args : List.of(new String[] {}, new String[] {"good.test", "--list"},
                new String[] {"no_such..domain"}, new String[] {"[127.0.0.1]:25"}, new String[] {"good.test", "--by",
                        ""})) {
            Cli.Result r = Cli.withConfig(file, List.of("probe"), args);
            assertThat(r.exit()).as(r.toString()).isEqualTo(2);
            assertThat(r.errLines()).as(r.toString()).hasSize(1);
            assertThat(r.err()).startsWith("postern: ").doesNotContain("Exception");
        }
    }

    /** Through the running gateway: its audit writer stores the record; the API runs and lists probes. */
    @Test void runningGatewayProbesThroughTheControlSocketAndTheApi() throws Exception {
        Path file = config("running", dnsSink.getLocalPort(), "", "");
        Config config = runnable(load(file), load(file).watch().probes());
        try (Gateway gw = Gateway.start(config)) {
            Cli.Result r = Cli.withConfig(file, List.of("probe"), "good.test", "--by", "bob", "--json");
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(RecordCodec.mapper().readTree(r.out()).at("/trigger").asText()).isEqualTo("bob");
            Cli.Result plain = Cli.withConfig(file, List.of("probe"), "plain.test");
            assertThat(plain.exit()).as(plain.toString()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(20)).until(() -> history(config, "good.test").size() == 1
                    && history(config, "plain.test").size() == 1);

            String token = AdminToken.loadOrCreate(config.dataDir()).value();
            String base = "http://127.0.0.1:" + gw.adminPort();
            HttpResponse<String> none = get(base + "/api/probes", null);
            assertThat(none.statusCode()).isEqualTo(401);
            HttpResponse<String> latest = get(base + "/api/probes", token);
            assertThat(latest.statusCode()).isEqualTo(200);
            JsonNode probes = RecordCodec.mapper().readTree(latest.body()).get("probes");
            assertThat(probes.size()).isEqualTo(2);
            assertThat(probes.get(0).get("domain").asText()).isEqualTo("good.test");
            assertThat(probes.get(1).get("ok").asBoolean()).isFalse();

            HttpResponse<String> now = send(HttpRequest.newBuilder(URI.create(base + "/api/probes/GOOD.test"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"by\":\"carol\"}")), token);
            assertThat(now.statusCode()).as(now.body()).isEqualTo(200);
            JsonNode made = RecordCodec.mapper().readTree(now.body());
            assertThat(made.get("domain").asText()).isEqualTo("good.test");
            assertThat(made.get("trigger").asText()).isEqualTo("carol");
            assertThat(made.get("ok").asBoolean()).isTrue();
            await().atMost(Duration.ofSeconds(20)).until(() -> history(config, "good.test").size() == 2);
            HttpResponse<String> hist = get(base + "/api/probes/good.test?since=1d", token);
            JsonNode h = RecordCodec.mapper().readTree(hist.body()).get("probes");
            assertThat(h.size()).isEqualTo(2);
            assertThat(h.get(0).get("trigger").asText()).isEqualTo("carol"); // newest first
            assertThat(h.get(1).get("trigger").asText()).isEqualTo("bob");

            assertThat(send(HttpRequest.newBuilder(URI.create(base + "/api/probes/good.test"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"by\":\"carol\"}")), null).statusCode())
                    .isEqualTo(401);
            for (String bad : List.of("/api/probes/bad..domain", "/api/probes/good.test?since=soon")) {
                HttpResponse<String> b = get(base + bad, token);
                assertThat(b.statusCode()).as(bad).isEqualTo(400);
                assertThat(b.body()).startsWith("{\"error\":");
            }
            HttpResponse<String> badBody = send(HttpRequest.newBuilder(URI.create(base + "/api/probes/good.test"))
                    .POST(HttpRequest.BodyPublishers.ofString("[1,2")), token);
            assertThat(badBody.statusCode()).isEqualTo(400);
            assertThat(outboundSessions(config)).as("probes made no TLS session records").isZero();
        }
    }

    /** The periodic probes: every watched domain, again and again; a reload adds a domain; a stop does not wait. */
    @Test void periodicProbesRunJitteredAndFollowAReload() throws Exception {
        Path file = config("periodic", dnsSink.getLocalPort(), "", "");
        Config.Probes fast = new Config.Probes(true, Duration.ofSeconds(2), Duration.ofSeconds(5), List.of());
        Config config = runnable(load(file), fast);
        Gateway gw = Gateway.start(config);
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() ->
                    history(config, "good.test").size() >= 3 && history(config, "plain.test").size() >= 2);
            List<ProbeRecord> goods = history(config, "good.test");
            assertThat(goods).allSatisfy(r -> assertThat(r.trigger()).isEqualTo("scheduled"));
            // (on a loaded machine a probe during the start-up may miss its time: the later ones pass)
            assertThat(goods.subList(0, 2)).allSatisfy(r -> assertThat(r.ok()).isTrue());
            // about 2s apart (± a tenth, plus the 0.5s turn and the probe itself)
            for (int i = 0; i + 1 < goods.size(); i++) {
                long gap = Duration.between(goods.get(i + 1).at(), goods.get(i).at()).toMillis();
                assertThat(gap).isBetween(1_700L, 3_500L);
            }
            assertThat(history(config, "plain.test")).allSatisfy(r -> assertThat(r.ok()).isFalse());
            assertThat(history(config, "may.test")).as("not watched").isEmpty();

            // a domain added by a reload is probed without a restart
            Files.writeString(file, Files.readString(file) + """
                    [outbound_tls."later.test"]
                    level = "encrypt"
                    """);
            gw.reloadFrom(() -> runnable(ConfigLoader.load(file), fast));
            assertThat(gw.reload("test").applied()).isTrue();
            await().atMost(Duration.ofSeconds(20)).until(() -> !history(config, "later.test").isEmpty());
            assertThat(outboundSessions(config)).isZero();
        } finally {
            long start = System.nanoTime();
            gw.close(); // hang.test's probe may be under way: a stop waits a moment at most
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(4_000L);
        }
    }

    /** A stop while a probe hangs (timeout 60s) waits a moment only, and the cut probe is not recorded. */
    @Test void aStopDoesNotWaitForAHangingProbe() throws Exception {
        Path file = config("stop", dnsSink.getLocalPort(), "", "");
        Config config = runnable(load(file), new Config.Probes(true, Duration.ofSeconds(2), Duration.ofSeconds(60),
                List.of()));
        int before = hangingMx.connectionCount();
        Gateway gw = Gateway.start(config);
        long start;
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> hangingMx.connectionCount() > before);
            Thread.sleep(300); // the probe is now waiting for the EHLO reply that never comes
        } finally {
            start = System.nanoTime();
            gw.close();
        }
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(3_000L);
        Thread.sleep(500);
        assertThat(history(config, "hang.test")).isEmpty();
    }

    /** Probes asked through the API hold a thread and a connection each: a fifth while four hang is answered 429. */
    @Test void probesOnDemandThroughTheApiAreBounded() throws Exception {
        Path file = config("ondemand", dnsSink.getLocalPort(), "", "");
        Config config = runnable(load(file), new Config.Probes(false, Duration.ofHours(1), Duration.ofSeconds(4),
                List.of()));
        try (Gateway gw = Gateway.start(config)) {
            String token = AdminToken.loadOrCreate(config.dataDir()).value();
            URI hang = URI.create("http://127.0.0.1:" + gw.adminPort() + "/api/probes/hang.test");
            int before = hangingMx.connectionCount();
            List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> hanging = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                hanging.add(HTTP.sendAsync(HttpRequest.newBuilder(hang).header("Authorization", "Bearer " + token)
                        .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> hangingMx.connectionCount() >= before + 4);
            HttpResponse<String> fifth = send(HttpRequest.newBuilder(hang).POST(HttpRequest.BodyPublishers.noBody()),
                    token);
            assertThat(fifth.statusCode()).as(fifth.body()).isEqualTo(429);
            assertThat(fifth.headers().firstValue("Retry-After")).isPresent();
            for (var f : hanging) assertThat(f.get().statusCode()).isEqualTo(200); // failed probes, answered
            // the slots are free again
            HttpResponse<String> after = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.adminPort()
                    + "/api/probes/good.test")).POST(HttpRequest.BodyPublishers.noBody()), token);
            assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
        }
    }

    /** MX order, the first host that passes decides; DANE by the TLSA records; the total bound over many hosts. */
    @Test void mxOrderDaneAndTheTotalBound() throws Exception {
        byte[] spki = java.util.HexFormat.of().parseHex(PeerCheck.sha256(good.cert().getPublicKey().getEncoded()));
        String tlsa = "_" + goodMx.port() + "._tcp.";
        try (TestDnsServer dns = TestDnsServer.start()) {
            dns.mx("mx.test", 10, "mx2.good.test").mx("mx.test", 20, "mx.good.test").mx("mx.test", 30, "mx3.good.test")
                    .a("mx.good.test", "127.0.0.1").a("mx2.good.test", "127.0.0.1").a("mx3.good.test", "127.0.0.1")
                    .mx("dane.test", 10, "mx.dane.test").a("mx.dane.test", "127.0.0.1")
                    .tlsa(tlsa + "mx.dane.test", 3, 1, 1, spki)
                    .mx("wrong-dane.test", 10, "mx.wrong-dane.test").a("mx.wrong-dane.test", "127.0.0.1")
                    .tlsa(tlsa + "mx.wrong-dane.test", 3, 1, 1, new byte[32])
                    .authentic("dane.test", "mx.dane.test", tlsa + "mx.dane.test", "wrong-dane.test",
                            "mx.wrong-dane.test", tlsa + "mx.wrong-dane.test");
            Path file = config("dns", dns.address().getPort(), "trust_ad = true", """
                    [delivery]
                    smtp_port = %d
                    [outbound_tls."mx.test"]
                    level = "verify"
                    ca_file = "%s"
                    [outbound_tls."dane.test"]
                    level = "dane-only"
                    [outbound_tls."wrong-dane.test"]
                    level = "dane-only"
                    """.formatted(goodMx.port(), dir.resolve("root.pem")));
            Config config = load(file);

            Cli.Result mx = Cli.withConfig(file, List.of("probe"), "mx.test", "--json");
            assertThat(mx.exit()).as(mx.toString()).isZero();
            ProbeRecord m = RecordCodec.mapper().readValue(mx.out(), ProbeRecord.class);
            assertThat(m.host()).isEqualTo("mx.good.test");
            assertThat(m.hostsTried()).hasSize(2); // mx3 is never tried: the second passed
            assertThat(m.hostsTried().get(0)).startsWith("mx2.good.test[127.0.0.1]:" + goodMx.port() + " defer: ")
                    .contains("certificate name mismatch");
            assertThat(m.hostsTried().get(1)).isEqualTo("mx.good.test[127.0.0.1]:" + goodMx.port()
                    + " tls-verified");

            Cli.Result dane = Cli.withConfig(file, List.of("probe"), "dane.test", "--json");
            assertThat(dane.exit()).as(dane.toString()).isZero();
            ProbeRecord d = RecordCodec.mapper().readValue(dane.out(), ProbeRecord.class);
            assertThat(d.verification()).isEqualTo("dane");
            assertThat(d.policySource()).isEqualTo("dane");
            assertThat(d.policyLevel()).isEqualTo("dane-only");

            Cli.Result wrong = Cli.withConfig(file, List.of("probe"), "wrong-dane.test");
            assertThat(wrong.exit()).as(wrong.toString()).isEqualTo(1);
            assertThat(wrong.out()).contains("TLSA mismatch");
            assertThat(history(config, "wrong-dane.test").getFirst().problem()).contains("TLSA mismatch");
        }
    }

    /** Three MX hosts that hang after EHLO: the probe's timeout ends it, whatever each step's own timeout. */
    @Test void hangingHostsAreBoundedByTheTotal() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start()) {
            dns.mx("slow.test", 10, "a.slow.test").mx("slow.test", 20, "b.slow.test").mx("slow.test", 30, "c.slow.test")
                    .a("a.slow.test", "127.0.0.1").a("b.slow.test", "127.0.0.1").a("c.slow.test", "127.0.0.1");
            Path file = config("slow", dns.address().getPort(), "", """
                    [delivery]
                    smtp_port = %d
                    command_timeout = "30s"
                    [outbound_tls."slow.test"]
                    level = "encrypt"
                    """.formatted(hangingMx.port()));
            long start = System.nanoTime();
            Cli.Result r = Cli.withConfig(file, List.of("probe"), "slow.test", "--json");
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(r.exit()).as(r.toString()).isEqualTo(1);
            ProbeRecord p = RecordCodec.mapper().readValue(r.out(), ProbeRecord.class);
            assertThat(p.millis()).as("[probes] timeout = 3s for all three hosts").isBetween(2_900L, 4_000L);
            assertThat(ms).as("the command, with its store").isLessThan(10_000L);
            assertThat(p.hostsTried()).hasSize(1);
            assertThat(p.problem()).contains("the probe's time (3s) ran out");
        }
    }

    static HttpResponse<String> get(String url, String token) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(url)).GET(), token);
    }

    static HttpResponse<String> send(HttpRequest.Builder b, String token) throws Exception {
        if (token != null) b.header("Authorization", "Bearer " + token);
        return HTTP.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
