package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.AdminRecord;
import dev.postern.audit.RecordCodec;
import dev.postern.config.Config;
import dev.postern.peers.PeerLevels;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern domains show} and {@code forget}: after a real delivery over TLS to b.example, show prints the policy
 * delivery applies, the level remembered (out: encrypted), the certificate seen and the last delivery, as text and as
 * JSON, with the gateway running and stopped; forget without a gateway changes the file and is on the audit record.
 */
class DomainsCommandTest {
    @TempDir Path data;

    static void deliver(Gateway gw, String rcpt) throws Exception {
        SmtpTestClient.relay(gw.boundAddresses().getFirst(), "alice@a.example", rcpt, "Subject: hi\r\n\r\nHello");
    }

    @Test void showAndForget() throws Exception {
        KeyMaterial cert = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(cert).start()) {
            Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.a.example", Set.of("a.example")),
                    Set.of("b.example"), Map.of("b.example", new Config.Route("127.0.0.1", server.port(), false)));
            try (Gateway gw = Gateway.start(c)) {
                deliver(gw, "bob@b.example");
                await().atMost(Duration.ofSeconds(15)).until(() -> server.delivered().size() == 1);
                // the audit store hears of the delivery a moment later
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() ->
                        Cli.run("domains", "show", "B.Example", "--no-lookup", "--data", data.toString()).out()
                                .contains("delivered 2.0.0 to <bob@b.example>"));
            }
        }
        Cli.Result text = Cli.run("domains", "show", "b.example", "--no-lookup", "--data", data.toString());
        assertThat(text.exit()).as(text.toString()).isZero();
        List<String> lines = text.outLines();
        assertThat(lines.getFirst()).isEqualTo("Domain b.example");
        assertThat(lines).contains("  Outbound TLS policy", "    source:    default [default]", "    level:     dane",
                "    override:  none", "  DANE", "    not looked up: --no-lookup", "  MTA-STS", "    no cached policy");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("    out:       encrypted since ")
                .endsWith("; refuse below it"));
        assertThat(lines).contains("    in:        never seen; flag below it");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("    CN=mx.b.example (issuer CN=mx.b.example)"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains(" delivered 2.0.0 to <bob@b.example> (queue id "));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("      via 127.0.0.1[127.0.0.1]:"));

        Cli.Result json = Cli.run("domains", "show", "b.example", "--json", "--no-lookup", "--data", data.toString());
        assertThat(json.exit()).as(json.toString()).isZero();
        JsonNode j = RecordCodec.mapper().readTree(json.out());
        assertThat(j.get("domain").asText()).isEqualTo("b.example");
        assertThat(j.get("policy").get("kind").asText()).isEqualTo("default");
        assertThat(j.get("memory").get("out").get("level").asText()).isEqualTo("encrypted");
        assertThat(Instant.parse(j.get("memory").get("out").get("since").asText())).isBefore(Instant.now());
        assertThat(j.get("memory").get("in").isNull()).isTrue();
        assertThat(j.get("memory").get("outboundMode").asText()).isEqualTo("refuse");
        assertThat(j.get("dane").get("lookedUp").asBoolean()).isFalse();
        assertThat(j.get("mtaSts").get("cached").isNull()).isTrue();
        assertThat(j.get("mtaSts").get("txt").isNull()).isTrue();
        assertThat(j.get("certificates").get(0).get("subject").asText()).isEqualTo("CN=mx.b.example");
        assertThat(j.get("lastDelivery").get("delivery").get("outcome").asText()).isEqualTo("DELIVERED");

        // No gateway runs now: forget works on the file under the lock, and the audit store has the record.
        Cli.Result forget = Cli.run("domains", "forget", "b.example", "--data", data.toString());
        assertThat(forget.exit()).as(forget.toString()).isZero();
        assertThat(forget.outLines()).singleElement().asString().startsWith("b.example: forgot out encrypted since ");
        assertThat(PeerLevels.read(data)).isEmpty();
        Cli.Result again = Cli.run("domains", "forget", "b.example", "--direction", "in", "--data", data.toString());
        assertThat(again.outLines()).containsExactly("nothing remembered for b.example inbound");
        assertThat(Cli.run("audit", "actions", "--data", data.toString()).out())
                .contains("peer-level-forgotten b.example", "forgot out encrypted since");
        assertThat(Cli.run("domains", "show", "b.example", "--no-lookup", "--data", data.toString()).outLines())
                .contains("    out:       never seen; refuse below it");
    }

    @Test void badInputIsOneLine() throws Exception {
        Cli.Result suffix = Cli.run("domains", "show", ".b.example", "--data", data.toString());
        assertThat(suffix.exit()).isEqualTo(2);
        assertThat(suffix.errLines()).containsExactly("postern: expected a domain like partner.example, got "
                + "\".b.example\" (a \".suffix\" key is not a domain mail goes to)");
        Cli.Result direction = Cli.run("domains", "forget", "b.example", "--direction", "sideways", "--data",
                data.toString());
        assertThat(direction.exit()).isEqualTo(2);
        assertThat(direction.errLines()).containsExactly(
                "postern: --direction: expected in or out, got \"sideways\"");
        // an unknown domain: nothing known, said plainly
        Cli.Result unknown = Cli.run("domains", "show", "nobody.example", "--no-lookup", "--data", data.toString());
        assertThat(unknown.exit()).as(unknown.toString()).isZero();
        assertThat(unknown.outLines()).contains("    out:       never seen; refuse below it", "    none recorded");
        // a damaged levels file is named, never read as "nothing remembered"
        java.nio.file.Files.createDirectories(PeerLevels.file(data).getParent());
        java.nio.file.Files.writeString(PeerLevels.file(data), "{\"version\":1,\"domains\":[{}]}");
        Cli.Result damaged = Cli.run("domains", "show", "b.example", "--no-lookup", "--data", data.toString());
        assertThat(damaged.exit()).isEqualTo(1);
        assertThat(damaged.errLines()).containsExactly("postern: " + PeerLevels.file(data)
                + ": not a peer levels file: an entry without a domain");
    }

    @Test void forgetGoesThroughTheRunningGateway() throws Exception {
        RecordingAudit audit = new RecordingAudit();
        try (Gateway gw = Gateway.start(TestConfigs.gateway(data, "gw.a.example", Set.of("a.example")), audit)) {
            // the gateway learns b.example inbound: a message from it over STARTTLS
            try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
                c.read();
                c.command("EHLO mx.b.example");
                c.startTls();
                c.command("EHLO mx.b.example");
                assertThat(c.command("MAIL FROM:<carol@b.example>").code()).isEqualTo(250);
                assertThat(c.command("RCPT TO:<bob@a.example>").code()).isEqualTo(250);
                assertThat(c.command("DATA").code()).isEqualTo(354);
                assertThat(c.command("Subject: hi\r\n\r\nHello\r\n.").code()).isEqualTo(250);
            }
            assertThat(PeerLevels.read(data)).singleElement().satisfies(l -> assertThat(l.in()).isNotNull());
            // it holds the levels in memory: the command asks it over the control socket, and it records the action
            Cli.Result r = Cli.run("domains", "forget", "b.example", "--direction", "in", "--data", data.toString());
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.out()).contains("b.example: forgot in encrypted since ");
            AdminRecord forgot = audit.await(AdminRecord.class,
                    a -> a.action() == AdminRecord.Action.PEER_LEVEL_FORGOTTEN);
            assertThat(forgot.actor()).isEqualTo(System.getProperty("user.name"));
            assertThat(PeerLevels.read(data)).isEmpty();
            await().atMost(Duration.ofSeconds(15)).until(() -> gw.spool().list().isEmpty());
        }
    }
}
