package dev.postern.outbound;

import static dev.postern.mtasts.PolicyServer.ok;
import static dev.postern.mtasts.PolicyServer.policy;
import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.dns.TestDnsServer;
import dev.postern.mtasts.PolicyServer;
import dev.postern.queue.Envelope;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.KeyMaterial;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MTA-STS end to end: a gateway delivers to b.example, whose MX (mx.b.example, 127.0.0.71) and policy host
 * (mta-sts.b.example, 127.0.0.72, HTTPS with a test CA's certificate) are found through a real DNS server, and
 * whose TXT record and policy decide what the gateway may do.
 */
class MtaStsDeliveryTest {
    private static final String MX_IP = "127.0.0.71";
    private static final String POLICY_IP = "127.0.0.72";

    @TempDir Path data;
    @TempDir Path caDir;
    private TestDnsServer dns;
    private PolicyServer.Ca ca;
    private PolicyServer policyHost;
    private final RecordingAudit audit = new RecordingAudit();

    @BeforeEach void setUp() throws Exception {
        dns = TestDnsServer.start().ttl(0); // the tests change answers: nothing cached across a change
        dns.mx("b.example", 10, "mx.b.example").a("mx.b.example", MX_IP).a("mta-sts.b.example", POLICY_IP)
                .txt("_mta-sts.b.example", "v=STSv1; id=one");
        ca = PolicyServer.Ca.create(caDir);
    }

    @AfterEach void tearDown() throws Exception {
        if (policyHost != null) policyHost.close();
        dns.close();
    }

    private Config config(int smtpPort, UnaryOperator<Config> more) {
        Config c = TestConfigs.withDns(TestConfigs.withRelay(
                TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("b.example"), Map.of()),
                dns.address(), smtpPort);
        return more.apply(c.withMtaSts(new Config.MtaSts(true, ca.file(), Duration.ofSeconds(2),
                Duration.ofSeconds(5), policyHost.port(), 100, Duration.ofHours(1))));
    }

    private ScriptedSmtpServer mx(KeyMaterial certificate) throws Exception {
        ScriptedSmtpServer s = ScriptedSmtpServer.create().hostname("mx.b.example");
        if (certificate != null) s.starttls(certificate);
        return s.start(new InetSocketAddress(MX_IP, 0));
    }

    private TlsSessionRecord outboundSession() {
        return audit.await(TlsSessionRecord.class, r -> r.direction() == TlsSessionRecord.Direction.OUT);
    }

    private Envelope.Recipient awaitDeferred(Gateway gw, String id) {
        return awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() >= 1).recipients().getFirst();
    }

    @Test void enforceWithAMatchingMxDeliversOverVerifiedTls() throws Exception {
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "mx.b.example")));
        try (ScriptedSmtpServer server = mx(ca.issue("mx.b.example"));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog();
             Gateway gw = Gateway.start(config(server.port(), c -> c), audit)) {
            submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts enforce", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            eventually().until(() -> log.lines().stream().anyMatch(l -> l.startsWith("delivery ")
                    && l.contains("policy=verify policy-source=\"mta-sts policy id=one mode=enforce (fetched ")
                    && l.contains("result=delivered")));
            assertThat(server.delivered().getFirst().usedTls()).isTrue();
            TlsSessionRecord s = outboundSession();
            assertThat(s.verification()).isEqualTo(TlsSessionRecord.Verification.VERIFIED);
            assertThat(s.policy().source()).isEqualTo("mta-sts");
            assertThat(s.policy().level()).isEqualTo("verify");
            assertThat(s.policy().mode()).isEqualTo("enforce");
            assertThat(s.policy().sourceDetail()).startsWith("mta-sts policy id=one mode=enforce (fetched ");
            assertThat(policyHost.requests()).hasSize(1);
            assertThat(data.resolve("mta-sts/b.example.json")).exists();
        }
    }

    @Test void enforceWithAnMxOutsideThePolicyIsDeferredWithoutConnecting() throws Exception {
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "*.elsewhere.example")));
        try (ScriptedSmtpServer server = mx(ca.issue("mx.b.example"));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog();
             Gateway gw = Gateway.start(config(server.port(), c -> c), audit)) {
            String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts outside", "Hello"));
            Envelope.Recipient r = awaitDeferred(gw, id);
            assertThat(r.status()).isEqualTo(Envelope.Recipient.Status.PENDING);
            assertThat(r.lastResult()).contains("4.7.10", "MX host mx.b.example does not match the MTA-STS "
                    + "policy's mx *.elsewhere.example (id=one)");
            assertThat(server.connections()).as("never connected, never clear text").isEmpty();
            assertThat(log.lines()).anyMatch(l -> l.startsWith("MTA-STS id=" + id + " domain=b.example ")
                    && l.contains("reason=\"MX host mx.b.example does not match"));
        }
    }

    @Test void enforceWithACertificateForAnotherNameIsDeferred() throws Exception {
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "mx.b.example")));
        try (ScriptedSmtpServer server = mx(ca.issue("other.b.example"));
             Gateway gw = Gateway.start(config(server.port(), c -> c), audit)) {
            String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts name", "Hello"));
            Envelope.Recipient r = awaitDeferred(gw, id);
            assertThat(r.lastResult()).contains("4.7.10", "certificate name mismatch");
            assertThat(server.transactions()).as("no MAIL over an unverified session").isEmpty();
        }
    }

    @Test void enforceWithoutStartTlsIsDeferredNeverClearText() throws Exception {
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "mx.b.example")));
        try (ScriptedSmtpServer server = mx(null);
             Gateway gw = Gateway.start(config(server.port(), c -> c), audit)) {
            String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts plain", "Hello"));
            Envelope.Recipient r = awaitDeferred(gw, id);
            assertThat(r.lastResult()).contains("4.7.10");
            assertThat(server.transactions()).isEmpty();
        }
    }

    @Test void testingModeDeliversAndRecordsWhatWouldFail() throws Exception {
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("testing", 86400, "mx1.b.example")));
        try (ScriptedSmtpServer server = mx(ca.issue("other.b.example"));
             Gateway gw = Gateway.start(config(server.port(), c -> c), audit)) {
            submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts testing", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            TlsSessionRecord s = outboundSession();
            assertThat(s.policy().source()).isEqualTo("mta-sts");
            assertThat(s.policy().mode()).isEqualTo("testing");
            assertThat(s.policy().wouldFail()).anyMatch(f -> f.startsWith("MX host mx.b.example does not match"))
                    .anyMatch(f -> f.startsWith("certificate name mismatch"));
        }
    }

    @Test void aStaticEntryWinsOverMtaSts() throws Exception {
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "*.elsewhere.example")));
        try (ScriptedSmtpServer server = mx(ca.issue("mx.b.example"));
             Gateway gw = Gateway.start(config(server.port(), c -> c.withOutboundTls(new Config.OutboundTls(
                     Config.TlsPolicy.of(Config.TlsLevel.MAY),
                     Map.of("b.example", Config.TlsPolicy.of(Config.TlsLevel.ENCRYPT))))), audit)) {
            submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts static", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            assertThat(outboundSession().policy().source()).isEqualTo("static");
            assertThat(policyHost.requests()).as("not even looked up").isEmpty();
        }
    }

    @Test void anEnforcedPolicyCarriesRequireTlsATestingOneDoesNot() throws Exception {
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "mx.b.example")));
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example")
                .enhancedStatusCodes().extensions("REQUIRETLS").starttls(ca.issue("mx.b.example"))
                .start(new InetSocketAddress(MX_IP, 0));
             Gateway gw = Gateway.start(config(server.port(), c -> c), audit)) {
            RequireTlsTest.submitRequireTls(gw, "bob@b.example");
            eventually().until(() -> server.delivered().size() == 1);
            assertThat(server.delivered().getFirst().mailParameters()).contains("REQUIRETLS");

            policyHost.script(ok(policy("testing", 86400, "mx.b.example")));
            dns.remove("_mta-sts.b.example", org.xbill.DNS.Type.TXT).txt("_mta-sts.b.example", "v=STSv1; id=two");
            RequireTlsTest.submitRequireTls(gw, "carol@b.example");
            String bounce = String.join("\n", Outbound.awaitMailbox(data, "alice@a.example", 1));
            assertThat(bounce).contains("5.7.30", "testing mode");
            assertThat(server.delivered()).hasSize(1);
        }
    }

    @Test void aTestingPolicysMxPatternsAreNotEnforcedByTheDowngradeMemory() throws Exception {
        // b.example was seen at verified (the downgrade memory's floor, refuse by default), then its policy turns to
        // testing with mx patterns its MX host does not match: testing delivers (and records the would-fail)
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "mx.b.example")));
        try (ScriptedSmtpServer server = mx(ca.issue("mx.b.example"));
             Gateway gw = Gateway.start(config(server.port(), c -> c), audit)) {
            submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts seen", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            policyHost.script(ok(policy("testing", 86400, "*.elsewhere.example")));
            dns.remove("_mta-sts.b.example", org.xbill.DNS.Type.TXT).txt("_mta-sts.b.example", "v=STSv1; id=two");
            submit(gw, "alice@a.example", List.of("carol@b.example"), body("sts testing", "Hello"));
            eventually().until(() -> server.delivered().size() == 2);
        }
    }

    @Test void aStaticRouteIsNotHeldToTheDomainsMxPatterns() throws Exception {
        // the administrator routes b.example through a relay of its own: that hop is no MX of b.example, so the
        // domain's MTA-STS policy (RFC 8461: which MX hosts may receive its mail) does not apply to it
        policyHost = PolicyServer.start(POLICY_IP, ca.issue("mta-sts.b.example"),
                ok(policy("enforce", 86400, "mx.b.example")));
        dns.a("relay.a.example", MX_IP);
        try (ScriptedSmtpServer server = mx(ca.issue("relay.a.example"))) {
            Config sts = config(server.port(), x -> x);
            // withRelay keeps only the base settings: the [mta_sts] table goes on again after it
            Config c = TestConfigs.withRelay(sts, Set.of("b.example"), Map.of("b.example",
                    new Config.Route("relay.a.example", server.port(), false))).withMtaSts(sts.mtaSts());
            try (Gateway gw = Gateway.start(c, audit)) {
                submit(gw, "alice@a.example", List.of("bob@b.example"), body("sts route", "Hello"));
                eventually().until(() -> server.delivered().size() == 1);
            }
            assertThat(outboundSession().policy().source()).isEqualTo("default");
        }
    }
}
