package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitMailbox;
import static dev.postern.outbound.Outbound.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * REQUIRETLS (RFC 8689) through two Postern gateways on loopback: a client hands gateway A (gw.a.example, local
 * domain a.example) a message with {@code MAIL FROM:<...> REQUIRETLS} over STARTTLS; A relays b.example to gateway B
 * (gw.b.example) under a verify policy (test CA); B relays it to the final host (a scripted server). The flag must
 * survive both hops, each hop verified; when B's last hop cannot be verified, B bounces with 5.7.30 (or 5.7.10) and
 * the DSN travels back to A, itself with REQUIRETLS when A's side is verified (RFC 8689 §5).
 */
class RequireTlsTwoGatewaysTest {
    @TempDir static Path dir;

    static final String FROM = RequireTlsTest.FROM; // alice@a.example, a local user of gateway A
    static Issued root;
    static Path caFile;
    static Path certA;
    static Path keyA;
    static Path certB;
    static Path keyB;
    static KeyMaterial finalHop;
    static KeyMaterial untrustedFinalHop;

    @BeforeAll static void pki() throws Exception {
        root = TestPki.root("Two Gateways Root");
        caFile = dir.resolve("root.pem");
        Pem.write(root.material(), caFile, dir.resolve("root.key"));
        certA = dir.resolve("a.pem");
        keyA = dir.resolve("a.key");
        Pem.write(TestPki.cert("gw.a.example").issuer(root).ip("127.0.0.1").build().material(), certA, keyA);
        certB = dir.resolve("b.pem");
        keyB = dir.resolve("b.key");
        Pem.write(TestPki.cert("gw.b.example").issuer(root).ip("127.0.0.1").build().material(), certB, keyB);
        finalHop = TestPki.cert("mx.b.example").issuer(root).ip("127.0.0.1").build().material();
        untrustedFinalHop = TestPki.cert("mx.b.example").issuer(TestPki.root("Somebody Else")).ip("127.0.0.1")
                .build().material();
    }

    static TlsPolicy policy(TlsLevel level) {
        return new TlsPolicy(level, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0, TlsPolicy.LEVEL_KEY_FLOOR,
                List.of(), caFile, List.of(), null, null);
    }

    /** A gateway (data in {@code name}) whose MX listener is on 127.0.0.1:{@code port}, presenting {@code cert}. */
    static Config gateway(String name, String hostname, int port, Set<String> local, Set<String> relay, Map<String, Integer> routes,
                          Map<String, TlsPolicy> policies, Path cert, Path key) {
        Map<String, Config.Route> r = new java.util.HashMap<>();
        routes.forEach((domain, p) -> r.put(domain, new Config.Route("127.0.0.1", p, false)));
        Config c = TestConfigs.withTls(TestConfigs.withRelay(TestConfigs.gateway(dir.resolve(name), hostname,
                local), relay, r), cert, key)
                .withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY), policies));
        List<Config.Listener> listeners = new ArrayList<>(c.listeners());
        listeners.set(0, new Config.Listener(new InetSocketAddress("127.0.0.1", port), Config.Role.MX));
        return new Config(c.source(), c.hostname(), c.dataDir(), listeners, c.localDomains(), c.relayDomains(),
                c.relayNetworks(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), c.routes(), c.outboundTls(),
                c.inbound());
    }

    /** Gateway A: a.example local, b.example relayed to B under verify. */
    static Config gatewayA(String name, int portA, int portB) {
        return gateway(name, "gw.a.example", portA, Set.of("a.example"), Set.of("b.example"), Map.of("b.example", portB),
                Map.of("b.example", policy(TlsLevel.VERIFY)), certA, keyA);
    }

    /**
     * Gateway B: b.example relayed to the final host under {@code last}; a.example (DSNs) to A under {@code back},
     * with the test CA unless it is {@code may}.
     */
    static Config gatewayB(String name, int portB, int finalPort, TlsLevel last, int portA, TlsLevel back) {
        return gateway(name, "gw.b.example", portB, Set.of("b.internal"), Set.of("b.example"),
                Map.of("b.example", finalPort, "a.example", portA),
                // an opportunistic way back without the test CA: A's certificate is not verified
                Map.of("b.example", policy(last), "a.example", back == TlsLevel.MAY ? TlsPolicy.of(TlsLevel.MAY)
                        : policy(back)), certB, keyB);
    }

    static MessageRecord received(RecordingAudit audit, String sender) {
        return audit.of(MessageRecord.class).stream().filter(m -> "smtp".equals(m.origin()))
                .filter(m -> m.sender().equals(sender)).findFirst().orElseThrow();
    }

    static List<TlsSessionRecord> outbound(RecordingAudit audit) {
        return audit.of(TlsSessionRecord.class).stream()
                .filter(s -> s.direction() == TlsSessionRecord.Direction.OUT).toList();
    }

    @Test void theFlagSurvivesBothHopsEachVerified() throws Exception {
        int portA = Outbound.closedPort();
        int portB = Outbound.closedPort();
        var auditA = new RecordingAudit();
        var auditB = new RecordingAudit();
        try (ScriptedSmtpServer last = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().extensions("REQUIRETLS").starttls(finalHop).start();
             Gateway b = Gateway.start(gatewayB("b1", portB, last.port(), TlsLevel.VERIFY, portA, TlsLevel.VERIFY),
                     auditB);
             Gateway a = Gateway.start(gatewayA("a1", portA, portB), auditA)) {
            String id = RequireTlsTest.submitRequireTls(a, "bob@b.example");
            eventually().until(() -> last.delivered().size() == 1);
            var t = last.delivered().getFirst();
            assertThat(t.usedTls()).isTrue();
            assertThat(t.mailParameters()).contains("REQUIRETLS");
            assertThat(t.mailFrom()).isEqualTo(FROM);
            assertThat(t.text()).contains("Subject: requiretls");
            // A kept the flag and handed it to B over verified TLS; B took it with the flag (its envelope and record)
            // and handed it on over verified TLS, with the flag, to the last hop
            assertThat(auditA.of(MessageRecord.class)).filteredOn(m -> m.queueId().equals(id)).singleElement()
                    .extracting(MessageRecord::requireTls).isEqualTo(true);
            eventually().until(() -> auditB.of(MessageRecord.class).stream().anyMatch(m -> m.sender().equals(FROM)));
            assertThat(received(auditB, FROM).requireTls()).isTrue();
            eventually().until(() -> !outbound(auditA).isEmpty() && !outbound(auditB).isEmpty());
            assertThat(outbound(auditA)).allSatisfy(s -> assertThat(s.verification())
                    .isEqualTo(TlsSessionRecord.Verification.VERIFIED));
            assertThat(outbound(auditB)).allSatisfy(s -> assertThat(s.verification())
                    .isEqualTo(TlsSessionRecord.Verification.VERIFIED));
            assertThat(Outbound.mailbox(dir.resolve("a1"), FROM)).as("no bounce").isEmpty();
        }
    }

    /**
     * B's last hop cannot carry the message as asked: B bounces at once (RFC 8689 §4.2.1) and nothing reaches the
     * last hop; the DSN goes back to the sender through A. Over a verified way back it carries REQUIRETLS (§5);
     * over an unverified one it is not discarded but goes without it (§5).
     */
    @ParameterizedTest(name = "last hop {0}, trusted {1}, REQUIRETLS {2}, way back {3}")
    @CsvSource({
        "ENCRYPT, true,  true,  VERIFY, 5.7.30, does not verify the next hop,   true",
        "MAY,     true,  true,  VERIFY, 5.7.30, does not verify the next hop,   true",
        "VERIFY,  false, true,  VERIFY, 5.7.10, certificate,                    true",
        "VERIFY,  true,  false, VERIFY, 5.7.30, does not advertise REQUIRETLS,  true",
        "ENCRYPT, true,  true,  MAY,    5.7.30, does not verify the next hop,   false",
    })
    void bouncedWhenTheLastHopIsNotVerified(TlsLevel last, boolean trusted, boolean advertises, TlsLevel back,
                                            String status, String reason, boolean dsnWithRequireTls)
            throws Exception {
        String name = "bounce-" + last + "-" + trusted + "-" + advertises + "-" + back;
        int portA = Outbound.closedPort();
        int portB = Outbound.closedPort();
        var auditA = new RecordingAudit();
        var auditB = new RecordingAudit();
        ScriptedSmtpServer lastHop = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().starttls(trusted ? finalHop : untrustedFinalHop);
        if (advertises) lastHop.extensions("REQUIRETLS");
        try (ScriptedSmtpServer server = lastHop.start();
             Gateway b = Gateway.start(gatewayB(name + "-b", portB, server.port(), last, portA, back), auditB);
             Gateway a = Gateway.start(gatewayA(name + "-a", portA, portB), auditA)) {
            RequireTlsTest.submitRequireTls(a, "bob@b.example");
            String bounce = String.join("\n", awaitMailbox(dir.resolve(name + "-a"), FROM, 1));
            assertThat(bounce).contains("Status: " + status).contains(reason).contains("Reporting-MTA: dns; gw.b.example");
            assertThat(server.transactions()).as("nothing of the message reached the last hop")
                    .noneMatch(x -> x.mailFrom() != null);
            // B made the DSN with REQUIRETLS; A received it with REQUIRETLS only over the verified way back
            assertThat(auditB.of(MessageRecord.class)).filteredOn(m -> m.origin().startsWith("bounce of "))
                    .singleElement().extracting(MessageRecord::requireTls).isEqualTo(true);
            eventually().until(() -> auditA.of(MessageRecord.class).stream().anyMatch(m -> m.sender().isEmpty()));
            assertThat(received(auditA, "").requireTls()).isEqualTo(dsnWithRequireTls);
            assertThat(bounce).as("headers only (RFC 8689 §5: as if RET=HDRS)").doesNotContain("\r\n\r\ntext\r\n");
        }
    }
}
