package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.admin.AdminToken;
import dev.postern.admin.RawHttp;
import dev.postern.audit.AdminLog;
import dev.postern.audit.AdminRecord.Action;
import dev.postern.config.ConfigLoader;
import dev.postern.queue.QueueState;
import dev.postern.testkit.LogLines;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.Pem;
import dev.postern.trace.Json;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API of a gateway started in-process from a TOML file, over HTTPS with the gateway's own certificate: the
 * queue's write side against real deferred mail, policies and certificates as the commands print them, the token
 * printed and rotated by the real CLI while the gateway runs, and the body limit.
 */
class AdminApiTest {
    @TempDir static Path dir;
    static ScriptedSmtpServer nextHop;
    static Gateway gateway;
    static String cfg;
        static int port;
    static List<String> startLines;
    static String firstToken;

    @BeforeAll static void start() throws Exception {
        nextHop = ScriptedSmtpServer.create().on(ScriptedSmtpServer.Verb.RCPT, "451 4.3.0 try again later").start();
        Path f = dir.resolve("postern.toml");
        String route = "\"[127.0.0.1]:" + nextHop.port() + "\"";
        Files.writeString(f, """
                hostname = "gw.api.test"
                data_dir = "data"
                local_domains = ["api.test"]
                relay_domains = ["a.example", "b.example"]

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [tls]
                provider = "jdk"

                [queue]                 # deferred mail stays deferred for the test
                retry_first = "2h"
                retry_max = "3h"

                [routes]
                "a.example" = %s
                "b.example" = %s

                [outbound_tls."partner.example"]
                level = "verify"

                [admin]
                listen = "127.0.0.1:%d"
                tls = true
                """.formatted(QueueSelectorsTest.closedPort(), route, route, QueueSelectorsTest.closedPort()));
        cfg = f.toString();
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(logged);
        try {
            gateway = Gateway.start(ConfigLoader.load(f));
        } finally {
            root.detachAppender(logged);
        }
        startLines = logged.list.stream().map(LogLines::line).toList();
        firstToken = token();
        port = gateway.adminPort();
    }

    /**
     * Trusts exactly the gateway's certificates as they are on disk now (no name check: a raw TLS socket, as curl
     * --cacert with --resolve would).
     */
    static SSLContext trusting() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        int i = 0;
        for (Gateway.Generated g : Gateway.generatedPairs(dir.resolve("data"))) {
            ks.setCertificateEntry("gw" + i++, Pem.readCertificates(g.certificate()).getFirst());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        SSLContext trusting = SSLContext.getInstance("TLS");
        trusting.init(null, tmf.getTrustManagers(), null);
        return trusting;
    }

    @AfterAll static void stop() throws Exception {
        if (gateway != null) gateway.close();
        if (nextHop != null) nextHop.close();
    }

    static String token() throws Exception {
        return AdminToken.read(AdminToken.file(dir.resolve("data")));
    }

    static RawHttp.Answer call(String method, String path, String body) throws Exception {
        return RawHttp.send(trusting(), port, method, path, token(), body);
    }

    /** Not on a terminal (as under systemd): the first start logs where the token is, never the token. */
    @Test void theFirstStartLogsTheTokensFileNotTheToken() throws Exception {
        assertThat(startLines).anySatisfy(l -> assertThat(l).startsWith("admin token made")
                .contains("file=" + AdminToken.file(dir.resolve("data"))));
        assertThat(startLines).anySatisfy(l -> assertThat(l).startsWith("admin server listening on https://"));
        assertThat(String.join("\n", startLines)).doesNotContain(firstToken);
    }

    @Test void servesHttpsWithTheGatewaysCertificate() throws Exception {
        RawHttp.Answer a = call("GET", "/api/policies", null);
        assertThat(a.status()).isEqualTo(200);
        List<X509Certificate> generated = new ArrayList<>();
        for (Gateway.Generated g : Gateway.generatedPairs(dir.resolve("data"))) {
            generated.add(Pem.readCertificates(g.certificate()).getFirst());
        }
        assertThat(generated).contains((X509Certificate) a.peer()[0]);
        assertThat(a.header("Content-Security-Policy")).contains("default-src 'self'");
        // a client that trusts another certificate does not get through
        SSLContext other = SSLContext.getInstance("TLS");
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("x", dev.postern.tls.Certificates.selfSigned(List.of("other.test"),
                dev.postern.tls.Certificates.KeyType.EC_P256, Duration.ofDays(2)).leaf());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        other.init(null, tmf.getTrustManagers(), null);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RawHttp.send(other, port, "GET", "/api/policies",
                token(), null)).isInstanceOf(SSLHandshakeException.class);
        // plain HTTP on the HTTPS port gets no API answer
        try {
            RawHttp.Answer plain = RawHttp.send(port, "GET", "/api/policies", token(), null);
            assertThat(plain.status()).isEqualTo(400);
        } catch (java.io.IOException expected) {
            // closed without an HTTP answer
        }
    }

    @Test void theQueueWriteSideActsAsTheCommandsDoAndIsRecordedWithThePeer() throws Exception {
        InetSocketAddress mx = gateway.boundAddresses().getFirst();
        String m1 = QueueSelectorsTest.send(mx, "alice@client.test", "u1@a.example");
        String m2 = QueueSelectorsTest.send(mx, "alice@client.test", "u2@b.example");
        await().atMost(Duration.ofSeconds(30)).until(() -> state(m1) == QueueState.DEFERRED
                && state(m2) == QueueState.DEFERRED);

        RawHttp.Answer hold = call("POST", "/api/queue/hold", "{\"ids\":[\"" + m1 + "\"],\"by\":\"alice\"}");
        assertThat(hold.status()).as(hold.body()).isEqualTo(200);
        JsonNode report = Json.mapper().readTree(hold.body());
        assertThat(report.get("matched").asInt()).isEqualTo(1);
        assertThat(report.get("outcomes").get(0).get("id").asText()).isEqualTo(m1);
        assertThat(report.get("outcomes").get(0).get("done").asBoolean()).isTrue();
        assertThat(report.get("outcomes").get(0).get("text").asText()).isEqualTo("held " + m1);
        assertThat(state(m1)).isEqualTo(QueueState.HOLD);

        RawHttp.Answer release = call("POST", "/api/queue/release", "{\"state\":\"hold\",\"by\":\"bob\"}");
        assertThat(Json.mapper().readTree(release.body()).get("matched").asInt()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(15)).until(() -> state(m1) == QueueState.DEFERRED);

        int before = nextHop.transactions().size();
        RawHttp.Answer flush = call("POST", "/api/queue/flush", "{\"domain\":\"B.EXAMPLE\"}");
        assertThat(Json.mapper().readTree(flush.body()).get("matched").asInt()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(15)).until(() -> nextHop.transactions().size() > before);

        // refused: a bare delete, a bad state, an unknown key, not JSON, a bad "by"
        for (String[] bad : new String[][] {
                {"{}", "delete: name queue ids or a selector"},
                {"", "delete: name queue ids or a selector"},
                {"{\"state\":\"held\"}", "state: expected active, deferred or hold, got \"held\""},
                {"{\"ids\":[\"../etc\"]}", "not a queue id: ../etc"},
                {"{\"everything\":true}", "unknown key \"everything\""},
                {"[1]", "expected a JSON object"},
                {"{\"all\":true,\"by\":\"a\\nb\"}", "by: expected a name of 1 to 100 characters"}}) {
            RawHttp.Answer r = call("POST", "/api/queue/delete", bad[0]);
            assertThat(r.status()).as(bad[0] + " " + r.body()).isEqualTo(400);
            assertThat(Json.mapper().readTree(r.body()).get("error").asText()).as(bad[0]).startsWith(bad[1]);
        }
        assertThat(state(m1)).isNotNull();

        RawHttp.Answer delete = call("POST", "/api/queue/delete", "{\"sender\":\"alice@client.test\","
                + "\"state\":\"deferred\",\"by\":\"carol\"}");
        assertThat(Json.mapper().readTree(delete.body()).get("matched").asInt()).isEqualTo(2);
        assertThat(state(m1)).isNull();
        assertThat(state(m2)).isNull();

        List<String> log = AdminLog.in(dir.resolve("data")).read().stream()
                .filter(e -> e.action().name().startsWith("QUEUE_"))
                .map(e -> e.action() + " " + e.target() + " by " + e.by() + " via " + e.peer()).toList();
        assertThat(log).containsExactly(
                "QUEUE_HOLD " + m1 + " by alice via 127.0.0.1",
                "QUEUE_RELEASE " + m1 + " by bob via 127.0.0.1",
                "QUEUE_FLUSH " + m2 + " by api via 127.0.0.1",
                "QUEUE_DELETE " + m1 + " by carol via 127.0.0.1",
                "QUEUE_DELETE " + m2 + " by carol via 127.0.0.1");
    }

    private static QueueState state(String id) throws Exception {
        return gateway.spool().find(id).map(dev.postern.queue.Spool.Entry::state).orElse(null);
    }

    @Test void policiesAndCertificatesAreWhatTheCommandsPrint() throws Exception {
        JsonNode api = Json.mapper().readTree(call("GET", "/api/policies/Partner.Example", null).body());
        Cli.Result cli = Cli.run("policy", "show", "partner.example", "--json", "--config", cfg);
        assertThat(cli.exit()).as("%s", cli).isZero();
        assertThat(api).isEqualTo(Json.mapper().readTree(cli.out()));
        assertThat(api.get("level").asText()).isEqualTo("verify");

        JsonNode all = Json.mapper().readTree(call("GET", "/api/policies", null).body());
        assertThat(all.get("policies")).anySatisfy(p -> assertThat(p).isEqualTo(api));

        RawHttp.Answer bad = call("GET", "/api/policies/-x-.example", null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).contains("expected a domain like partner.example");

        JsonNode certs = Json.mapper().readTree(call("GET", "/api/certificates?expiring=21d", null).body());
        Cli.Result seen = Cli.run("certs", "seen", "--expiring", "21d", "--json", "--config", cfg);
        assertThat(seen.exit()).as("%s", seen).isZero();
        assertThat(certs).isEqualTo(Json.mapper().readTree(seen.out()));
        RawHttp.Answer soon = call("GET", "/api/certificates?expiring=soon", null);
        assertThat(soon.status()).isEqualTo(400);
        assertThat(soon.body()).contains("expiring: expected");
    }

    /** A renewed certificate (new files) is served from a later connection, without a restart. */
    @Test void aRenewedCertificateIsServedWithoutARestart() throws Exception {
        List<X509Certificate> renewed = new ArrayList<>();
        for (Gateway.Generated g : Gateway.generatedPairs(dir.resolve("data"))) {
            dev.postern.tls.KeyMaterial m = dev.postern.tls.Certificates.selfSigned(List.of("gw.api.test"),
                    g.keyType(), Duration.ofDays(30));
            Pem.writePrivate(m, g.certificate(), g.key());
            renewed.add(m.leaf());
        }
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(300)).ignoreExceptions().until(() ->
                renewed.contains((X509Certificate) call("GET", "/api/policies", null).peer()[0]));
    }

    @Test void aBodyOverTheLimitIs413() throws Exception {
        RawHttp.Answer a = call("POST", "/api/queue/delete", "{\"ids\":[\"" + "A".repeat(70_000) + "\"]}");
        assertThat(a.status()).isEqualTo(413);
    }

    /**
     * The real CLI prints the token; --rotate writes a new one that the running gateway takes at its next request
     * (the old one is refused from then on), records who rotated it, and never writes the token to a log.
     */
    @Test void theTokenIsPrintedAndRotatedWhileTheGatewayRuns() throws Exception {
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(logged);
        String old, fresh;
        try {
            Cli.Result shown = Cli.run("admin", "token", "--config", cfg);
            assertThat(shown.exit()).as("%s", shown).isZero();
            old = shown.out().strip();
            assertThat(old).isEqualTo(token()).matches("[A-Za-z0-9_-]{43}");
            assertThat(RawHttp.send(trusting(), port, "GET", "/api/policies", old, null).status()).isEqualTo(200);

            Cli.Result rotated = Cli.run("admin", "token", "--rotate", "--by", "dora", "--config", cfg);
            assertThat(rotated.exit()).as("%s", rotated).isZero();
            fresh = rotated.out().strip();
            assertThat(fresh).isNotEqualTo(old).isEqualTo(token());
            assertThat(dev.postern.files.DurableFiles.PRIVATE_FILE)
                    .isEqualTo(Files.getPosixFilePermissions(AdminToken.file(dir.resolve("data"))));

            assertThat(RawHttp.send(trusting(), port, "GET", "/api/policies", old, null).status()).isEqualTo(401);
            assertThat(RawHttp.send(trusting(), port, "GET", "/api/policies", fresh, null).status()).isEqualTo(200);
        } finally {
            root.detachAppender(logged);
        }
        AdminLog.Entry last = AdminLog.in(dir.resolve("data")).read().stream()
                .filter(e -> e.action() == Action.ADMIN_TOKEN_ROTATED).reduce((a, b) -> b).orElseThrow();
        assertThat(last.by()).isEqualTo("dora");
        String adminLog = Files.readString(dir.resolve("data").resolve("admin.log"));
        String lines = String.join("\n", logged.list.stream().map(LogLines::line).toList());
        assertThat(lines).contains("reason=\"wrong token\"");
        for (String secret : List.of(old, fresh)) {
            assertThat(adminLog).doesNotContain(secret);
            assertThat(lines).doesNotContain(secret);
        }
    }
}
