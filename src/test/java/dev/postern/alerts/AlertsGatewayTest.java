package dev.postern.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.admin.AdminToken;
import dev.postern.audit.AlertRecord;
import dev.postern.audit.AlertRecord.Kind;
import dev.postern.audit.AlertRecord.State;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.RecordCodec;
import dev.postern.cli.AuditDatabase;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.Maildirs;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Alerts in an in-process gateway with its real audit store: a next hop made in the test (ScriptedSmtpServer) fails
 * an enforced policy, then is fixed; a partner's certificate ends in 5 days, then is renewed; the queue grows past
 * its limit. Alert mail lands in a local Maildir; a webhook receiver on loopback that hangs slows nothing.
 */
class AlertsGatewayTest {
    @TempDir Path data;

    static final String ADMIN = "postmaster@a.example";

    Config gateway(ScriptedSmtpServer server, Config.TlsPolicy bPolicy, URI webhook, int queueSize) {
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.a.example", Set.of("a.example")),
                Set.of("b.example"), Map.of("b.example", new Config.Route("127.0.0.1", server.port(), false)));
        c = c.withOutboundTls(new Config.OutboundTls(Config.TlsPolicy.of(Config.TlsLevel.MAY),
                bPolicy == null ? Map.of() : Map.of("b.example", bPolicy)));
        return c.withWatch(new Config.Watch(new Config.Admin(new InetSocketAddress("127.0.0.1", 0), false),
                new Config.Alerts(webhook, ADMIN, Duration.ofDays(21), queueSize, Duration.ofHours(4)),
                // no periodic probes: one falling at a random moment of its first five minutes would fire probe:D
                new Config.Probes(false, Duration.ofHours(1), Duration.ofSeconds(60), java.util.List.of()), null));
    }

    /** A peer that drops a cached connection at RSET, so every message opens (and records) a session of its own. */
    static ScriptedSmtpServer peer() {
        return ScriptedSmtpServer.create().on(ScriptedSmtpServer.Verb.RSET, ScriptedSmtpServer.DISCONNECT);
    }

    static String submit(Gateway gw, String rcpt, String subject) throws IOException {
        return SmtpTestClient.relay(gw.boundAddresses().getFirst(), "alice@a.example", rcpt, "From: alice@a.example"
                + "\r\nTo: " + rcpt + "\r\nSubject: " + subject + "\r\n\r\nHello");
    }

    List<AlertRecord> stored(Config config) throws Exception {
        try (JdbcAuditStore store = AuditDatabase.open(config)) {
            return store.alerts(Instant.now().minus(Duration.ofDays(1)));
        }
    }

    List<AlertRecord> stored(Config config, Kind kind) throws Exception {
        return stored(config).stream().filter(a -> a.kind() == kind).toList();
    }

    List<String> mailbox(String rcpt) {
        return Maildirs.mailbox(data, rcpt);
    }

    JsonNode api(Gateway gw, String path) throws Exception {
        String token = AdminToken.loadOrCreate(data).value();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gw.adminPort() + path)).header("Authorization", "Bearer " + token)
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RecordCodec.mapper().readTree(r.body());
    }

    @Test void anEnforcedPartnerWithoutStartTlsFiresOnceAndRecoversOnceAcrossARestart() throws Exception {
        KeyMaterial cert = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(90));
        try (Receiver hook = new Receiver(n -> 0); // hangs: must slow neither the alert mail nor the mail
             ScriptedSmtpServer server = peer().start()) { // no STARTTLS under "encrypt"
            Config config = gateway(server, Config.TlsPolicy.of(Config.TlsLevel.ENCRYPT), hook.uri(), 10_000);
            try (Gateway gw = Gateway.start(config)) {
                submit(gw, "bob@b.example", "one");
                submit(gw, "carol@b.example", "two");
                // several attempts (retry_first 1 s), one alert
                await().atMost(Duration.ofSeconds(30)).until(() -> stored(config, Kind.ENFORCED_DELIVERY_FAILURE)
                        .size() == 1);
                await().atMost(Duration.ofSeconds(30)).until(() -> deliveryAttempts(config) >= 4);
                assertThat(stored(config, Kind.ENFORCED_DELIVERY_FAILURE)).singleElement().satisfies(a -> {
                    assertThat(a.key()).isEqualTo("enforced-delivery:b.example");
                    assertThat(a.state()).isEqualTo(State.FIRING);
                    assertThat(a.subject()).isEqualTo("b.example");
                    assertThat(a.summary()).contains("b.example", "deferred", "4.7.10");
                    assertThat(a.detail()).contains("TLS required by policy for b.example");
                });
                assertThat(server.delivered()).isEmpty();
                // the alert mail, through the gateway's own queue, while the webhook receiver hangs
                await().atMost(Duration.ofSeconds(15)).until(() -> mailbox(ADMIN).size() == 1);
                assertThat(mailbox(ADMIN).getFirst()).contains("Subject: [postern gw.a.example] FIRING: b.example",
                        "Auto-Submitted: auto-generated", "key:     enforced-delivery:b.example");
                await().atMost(Duration.ofSeconds(5)).until(() -> hook.bodies.size() >= 1);
                assertThat(hook.bodies.getFirst()).contains("\"key\":\"enforced-delivery:b.example\"",
                        "\"state\":\"FIRING\"", "\"gateway\":\"gw.a.example\"");

                JsonNode answer = api(gw, "/api/alerts");
                assertThat(answer.get("active")).hasSize(1);
                assertThat(answer.get("active").get(0).get("key").asText()).isEqualTo("enforced-delivery:b.example");
                assertThat(answer.get("recent").get(0).get("state").asText()).isEqualTo("FIRING");
            }
            assertThat(AlertState.active(data)).extracting(AlertRecord::key)
                    .containsExactly("enforced-delivery:b.example");

            // a restart: still failing, still firing, not fired again
            try (Gateway gw = Gateway.start(config)) {
                assertThat(gw.alerts().active()).extracting(AlertRecord::key)
                        .containsExactly("enforced-delivery:b.example");
                int before = deliveryAttempts(config);
                await().atMost(Duration.ofSeconds(30)).until(() -> deliveryAttempts(config) >= before + 2);
                assertThat(stored(config, Kind.ENFORCED_DELIVERY_FAILURE)).hasSize(1);

                // the partner is fixed: STARTTLS again
                server.starttls(cert);
                gw.scheduler().flush(null);
                await().atMost(Duration.ofSeconds(30)).until(() -> server.delivered().size() == 2);
                await().atMost(Duration.ofSeconds(15)).until(() -> stored(config, Kind.ENFORCED_DELIVERY_FAILURE)
                        .size() == 2);
                submit(gw, "dave@b.example", "three"); // another delivery: no second RECOVERED
                await().atMost(Duration.ofSeconds(30)).until(() -> server.delivered().size() == 3);
                Thread.sleep(500);
                List<AlertRecord> all = stored(config, Kind.ENFORCED_DELIVERY_FAILURE);
                assertThat(all).extracting(AlertRecord::state).containsExactly(State.RECOVERED, State.FIRING);
                assertThat(all.getFirst().summary()).contains("b.example: delivered over TLS again");
                assertThat(all.getFirst().at()).isAfter(all.get(1).at());
                assertThat(gw.alerts().active()).isEmpty();
                await().atMost(Duration.ofSeconds(15)).until(() -> mailbox(ADMIN).size() == 2);
                assertThat(mailbox(ADMIN)).anySatisfy(m -> assertThat(m)
                        .contains("Subject: [postern gw.a.example] RECOVERED: b.example"));
            }
            assertThat(AlertState.active(data)).isEmpty();
        }
    }

    private int deliveryAttempts(Config config) throws Exception {
        try (JdbcAuditStore store = AuditDatabase.open(config)) {
            return store.traceRecipient("bob@b.example", Instant.now().minus(Duration.ofHours(1))).stream()
                    .mapToInt(t -> t.deliveries().size()).sum();
        }
    }

    @Test void aPartnerCertificateEndingInFiveDaysFiresUntilItIsRenewed() throws Exception {
        KeyMaterial ending = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(5));
        KeyMaterial renewed = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(90));
        try (ScriptedSmtpServer server = peer().starttls(ending).start()) {
            Config config = gateway(server, null, null, 10_000);
            try (Gateway gw = Gateway.start(config)) {
                submit(gw, "bob@b.example", "one");
                submit(gw, "bob@b.example", "two");
                await().atMost(Duration.ofSeconds(30)).until(() -> server.delivered().size() == 2);
                await().atMost(Duration.ofSeconds(15)).until(() -> !stored(config,
                        Kind.PARTNER_CERTIFICATE_EXPIRY).isEmpty());
                Thread.sleep(500);
                AlertRecord fired = stored(config, Kind.PARTNER_CERTIFICATE_EXPIRY).getFirst();
                assertThat(stored(config, Kind.PARTNER_CERTIFICATE_EXPIRY)).hasSize(1);
                assertThat(fired.key()).startsWith("partner-certificate:").hasSize(20 + 64);
                assertThat(fired.summary()).contains("CN=mx.b.example", "expires on", "(in 4 days)");
                assertThat(fired.detail()).contains("out 127.0.0.1:" + server.port());
            }
            // the state file lost (an upgrade, a restore): the start reads the store's certificates seen instead
            Files.delete(AlertState.file(data));
            try (Gateway gw = Gateway.start(config)) {
                await().atMost(Duration.ofSeconds(15)).until(() -> !gw.alerts().active().isEmpty());
                assertThat(gw.alerts().active()).singleElement().satisfies(a -> {
                    assertThat(a.kind()).isEqualTo(Kind.PARTNER_CERTIFICATE_EXPIRY);
                    assertThat(a.detail()).contains("seen out 127.0.0.1:" + server.port() + ", last ");
                });
                AlertRecord fired = gw.alerts().active().getFirst();

                server.starttls(renewed);
                submit(gw, "bob@b.example", "three");
                await().atMost(Duration.ofSeconds(30)).until(() -> server.delivered().size() == 3);
                await().atMost(Duration.ofSeconds(15)).until(() -> stored(config, Kind.PARTNER_CERTIFICATE_EXPIRY)
                        .size() == 3);
                AlertRecord recovered = stored(config, Kind.PARTNER_CERTIFICATE_EXPIRY).getFirst();
                assertThat(recovered.state()).isEqualTo(State.RECOVERED);
                assertThat(recovered.key()).isEqualTo(fired.key());
                assertThat(recovered.summary()).contains("now shows another certificate");
            }
            // a restart reads the store's certificates seen: the ending one was replaced, nothing fires again
            Files.delete(AlertState.file(data));
            try (Gateway gw = Gateway.start(config)) {
                Thread.sleep(1500);
                assertThat(gw.alerts().active()).isEmpty();
                assertThat(stored(config, Kind.PARTNER_CERTIFICATE_EXPIRY)).hasSize(3);
            }
        }
    }

    @Test void theQueuePastItsSizeFiresAndRecoversWhenItDrains() throws Exception {
        try (ScriptedSmtpServer server = peer().on(ScriptedSmtpServer.Verb.RCPT, "451 4.3.0 try later").start()) {
            Config config = gateway(server, null, null, 1);
            try (Gateway gw = Gateway.start(config)) {
                submit(gw, "bob@b.example", "one");
                submit(gw, "bob@b.example", "two");
                gw.alerts().checkNow();
                await().atMost(Duration.ofSeconds(15)).until(() -> gw.alerts().active().stream()
                        .anyMatch(a -> a.kind() == Kind.QUEUE_SIZE));
                server.clear(ScriptedSmtpServer.Verb.RCPT);
                gw.scheduler().flush(null);
                await().atMost(Duration.ofSeconds(30)).until(() -> server.delivered().size() == 2);
                // the alert mails are local and go at once; then the queue is at most 1 again
                await().atMost(Duration.ofSeconds(15)).until(() -> {
                    gw.alerts().checkNow();
                    return gw.alerts().active().isEmpty();
                });
                await().atMost(Duration.ofSeconds(15)).until(() -> stored(config, Kind.QUEUE_SIZE).size() == 2);
                assertThat(stored(config, Kind.QUEUE_SIZE)).extracting(AlertRecord::state)
                        .containsExactly(State.RECOVERED, State.FIRING);
            }
        }
    }

    @Test void aStrippedStartTlsAfterTheMemoryLearntTlsIsOneDowngradeAlertNotAnEnforcedFailure() throws Exception {
        KeyMaterial cert = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(90));
        try (ScriptedSmtpServer server = peer().starttls(cert).start()) {
            Config c = gateway(server, null, null, 10_000);
            Config config = c.withPeerMemory(c.peerMemory().withModes(Config.MemoryMode.REFUSE,
                    Config.MemoryMode.FLAG));
            try (Gateway gw = Gateway.start(config)) {
                submit(gw, "bob@b.example", "teaches");
                await().atMost(Duration.ofSeconds(30)).until(() -> server.delivered().size() == 1);
                server.noStartTls(); // an attacker strips STARTTLS
                submit(gw, "bob@b.example", "stripped");
                await().atMost(Duration.ofSeconds(30)).until(() -> deliveryAttempts(config) >= 4);
                List<AlertRecord> down = stored(config, Kind.DOWNGRADE);
                assertThat(down).singleElement().satisfies(a -> {
                    assertThat(a.key()).isEqualTo("downgrade:out:b.example");
                    assertThat(a.state()).isEqualTo(State.FIRING);
                    assertThat(a.summary()).contains("below the remembered level encrypted", "refused");
                    assertThat(a.detail()).contains("downgrade: b.example was seen at encrypted since");
                });
                // the memory's refusal is not an enforced policy's failure
                assertThat(stored(config, Kind.ENFORCED_DELIVERY_FAILURE)).isEmpty();

                server.starttls(cert); // TLS is back
                gw.scheduler().flush(null);
                await().atMost(Duration.ofSeconds(30)).until(() -> server.delivered().size() == 2);
                await().atMost(Duration.ofSeconds(15)).until(() -> stored(config, Kind.DOWNGRADE).size() == 2);
                assertThat(stored(config, Kind.DOWNGRADE).getFirst()).satisfies(a -> {
                    assertThat(a.state()).isEqualTo(State.RECOVERED);
                    assertThat(a.summary()).contains("b.example: seen at its remembered level again");
                });
            }
        }
    }

    @Test void ourOwnCertificateEndingSoonFiresAtStartAndRecoversWhenTheRenewedOneIsLoaded() throws Exception {
        Path certFile = data.resolve("own.crt");
        Path keyFile = data.resolve("own.key");
        dev.postern.tls.Pem.write(Certificates.selfSigned(List.of("gw.a.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(5)), certFile, keyFile);
        try (ScriptedSmtpServer server = peer().start()) {
            Config config = TestConfigs.withTls(gateway(server, null, null, 10_000), certFile, keyFile)
                    .withWatch(gateway(server, null, null, 10_000).watch());
            try (Gateway gw = Gateway.start(config)) {
                await().atMost(Duration.ofSeconds(15)).until(() -> !gw.alerts().active().isEmpty());
                assertThat(gw.alerts().active()).singleElement().satisfies(a -> {
                    assertThat(a.kind()).isEqualTo(Kind.OWN_CERTIFICATE_EXPIRY);
                    assertThat(a.key()).isEqualTo("own-certificate:" + certFile);
                    assertThat(a.summary()).contains("our certificate CN=gw.a.example expires on", "(in 4 days)");
                });
                // renewed in place; the listeners load it at the next handshake after their check interval
                Thread.sleep(2100);
                dev.postern.tls.Pem.write(Certificates.selfSigned(List.of("gw.a.example"),
                        Certificates.KeyType.EC_P256, Duration.ofDays(90)), certFile, keyFile);
                Thread.sleep(2100);
                try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
                    c.read();
                    c.command("EHLO client.test");
                    c.startTls();
                }
                await().atMost(Duration.ofSeconds(15)).until(() -> gw.alerts().active().isEmpty());
                await().atMost(Duration.ofSeconds(15)).until(() -> stored(config, Kind.OWN_CERTIFICATE_EXPIRY)
                        .size() == 2);
                assertThat(stored(config, Kind.OWN_CERTIFICATE_EXPIRY).getFirst().summary())
                        .contains("is valid until");
            }
        }
    }
}
