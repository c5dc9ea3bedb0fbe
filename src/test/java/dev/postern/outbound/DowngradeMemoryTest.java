package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.cli.Main;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.peers.Direction;
import dev.postern.peers.Level;
import dev.postern.peers.PeerLevels;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, downgrade memory outbound: a "stripping" peer offers STARTTLS the first time and hides it the second
 * time. The first delivery goes out encrypted and teaches the gateway; the second is deferred with a downgrade alert
 * (4.7.10; the log and the audit's session record say memory) until {@code postern domains forget} or an override
 * lets it go. A verified partner whose certificate stops verifying is refused the same way, across a restart.
 */
class DowngradeMemoryTest {
    @TempDir Path data;
    @TempDir static Path pki;

    static final String FROM = "alice@a.example";
    static KeyMaterial selfSigned;
    static KeyMaterial issued;
    static Path caFile;

    @BeforeAll static void certificates() throws Exception {
        selfSigned = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        KeyMaterial ca = Certificates.certificateAuthority("B CA", Certificates.KeyType.EC_P256, Duration.ofDays(30));
        issued = Certificates.issue(ca, List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(2));
        caFile = pki.resolve("b-ca.pem");
        Pem.write(ca, caFile, pki.resolve("b-ca.key"));
    }

    /** Default "may" (trusting the test CA, names mx.b.example, so a session with the issued certificate verifies). */
    Config gateway(ScriptedSmtpServer server, Config.MemoryMode outbound) {
        TlsPolicy may = new TlsPolicy(TlsLevel.MAY, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                TlsPolicy.LEVEL_KEY_FLOOR, List.of("mx.b.example"), caFile, List.of(), null, null);
        Config c = Outbound.relayingTo(data, server.port(), "b.example")
                .withOutboundTls(new Config.OutboundTls(may, Map.of()));
        return c.withPeerMemory(c.peerMemory().withModes(outbound, Config.MemoryMode.FLAG));
    }

    /**
     * A peer that drops a connection Postern wants to reuse, so that every message has a session of its own: without
     * PIPELINING, Postern probes a cached connection with RSET first, and the peer disconnects there.
     */
    static ScriptedSmtpServer peer() {
        return ScriptedSmtpServer.create().on(ScriptedSmtpServer.Verb.RSET, ScriptedSmtpServer.DISCONNECT);
    }

    /** The first message to b.example, delivered: what teaches the gateway the peer's level. */
    static void firstDelivery(Gateway gw, ScriptedSmtpServer server) throws Exception {
        submit(gw, FROM, List.of("bob@b.example"), body("first", "Hello"));
        eventually().until(() -> server.delivered().size() == 1);
    }

    static String lastResult(Gateway gw, String id) {
        return awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() >= 1).recipients().getFirst()
                .lastResult();
    }

    @Test void aStrippedStartTlsIsDeferredUntilTheDomainIsForgotten() throws Exception {
        RecordingAudit audit = new RecordingAudit();
        try (ScriptedSmtpServer server = peer().starttls(selfSigned).start();
             Gateway gw = Gateway.start(gateway(server, Config.MemoryMode.REFUSE), audit);
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            firstDelivery(gw, server);
            awaitEmptySpool(gw);
            assertThat(server.delivered().getFirst().usedTls()).isTrue();
            // learnt and written at once (a rise): encrypted, the self-signed certificate does not verify
            assertThat(PeerLevels.read(data)).singleElement().satisfies(l -> {
                assertThat(l.domain()).isEqualTo("b.example");
                assertThat(l.out().level()).isEqualTo(Level.ENCRYPTED);
                assertThat(l.in()).isNull();
            });

            server.noStartTls(); // the attacker strips 250-STARTTLS
            String id = submit(gw, FROM, List.of("bob@b.example"), body("second", "Hello"));
            String result = lastResult(gw, id);
            assertThat(result).startsWith("451 4.7.10 TLS required by policy for b.example (peer memory, over default)")
                    .contains("downgrade: b.example was seen at encrypted since ", "this session offered no STARTTLS",
                            "postern domains forget b.example --direction out", "postern policy override b.example");
            assertThat(server.delivered()).hasSize(1); // nothing went in clear text
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("downgrade alert id=" + id,
                    "domain=b.example", "action=refused", "policy-source=memory"));
            TlsSessionRecord refused = audit.await(TlsSessionRecord.class,
                    s -> s.direction() == TlsSessionRecord.Direction.OUT
                            && s.noTls() == TlsSessionRecord.NoTls.NOT_OFFERED);
            assertThat(refused.policy().source()).isEqualTo("memory");
            assertThat(refused.policy().level()).isEqualTo("encrypt");
            assertThat(refused.policy().sourceDetail()).startsWith("peer memory: b.example seen at encrypted since");
            assertThat(refused.policy().mode()).isEqualTo("enforce");

            // The partner really dropped TLS: the administrator forgets what was seen (through the control socket).
            assertThat(Main.run("domains", "forget", "b.example", "--direction", "out", "--data", data.toString()))
                    .isZero();
            AdminRecord forgot = audit.await(AdminRecord.class,
                    a -> a.action() == AdminRecord.Action.PEER_LEVEL_FORGOTTEN);
            assertThat(forgot.target()).isEqualTo("b.example");
            assertThat(forgot.detail()).startsWith("forgot out encrypted since ");
            gw.scheduler().flush(id);
            eventually().until(() -> server.delivered().size() == 2);
            assertThat(server.delivered().get(1).usedTls()).isFalse();
            // the clear-text session is remembered as plain: nothing above it any more
            eventually().until(() -> gwLevel(gw) == Level.PLAIN);
        }
    }

    private Level gwLevel(Gateway gw) throws Exception {
        // "last seen" of a plain session is written by the flusher; the level is what matters here
        return PeerLevels.read(data).stream().filter(l -> l.domain().equals("b.example")).findFirst()
                .map(l -> l.out() == null ? null : l.out().level()).orElse(Level.PLAIN);
    }

    @Test void anOverrideLetsTheStrippedSessionGo() throws Exception {
        try (ScriptedSmtpServer server = peer().starttls(selfSigned).start();
             Gateway gw = Gateway.start(gateway(server, Config.MemoryMode.REFUSE))) {
            firstDelivery(gw, server);
            server.noStartTls();
            String id = submit(gw, FROM, List.of("bob@b.example"), body("second", "Hello"));
            assertThat(lastResult(gw, id)).startsWith("451 4.7.10").contains("downgrade: b.example");
            new PolicyOverrides(data).set(new PolicyOverrides.Override("b.example", TlsLevel.MAY,
                    Instant.now().plusSeconds(600), Instant.now(), "test", "partner lost its TLS, ticket 4713"));
            gw.scheduler().flush(id);
            eventually().until(() -> server.delivered().size() == 2);
            assertThat(server.delivered().get(1).usedTls()).isFalse();
            // the override relaxes, it does not make the gateway forget
            assertThat(PeerLevels.read(data).getFirst().out().level()).isEqualTo(Level.ENCRYPTED);
        }
    }

    @Test void aVerifiedPartnerThatStopsVerifyingIsRefusedAcrossARestart() throws Exception {
        try (ScriptedSmtpServer server = peer().starttls(issued).start()) {
            try (Gateway gw = Gateway.start(gateway(server, Config.MemoryMode.REFUSE))) {
                firstDelivery(gw, server);
                awaitEmptySpool(gw);
            }
            assertThat(PeerLevels.read(data).getFirst().out().level()).isEqualTo(Level.VERIFIED);

            server.starttls(selfSigned); // still TLS, but no longer the partner's certificate
            try (Gateway gw = Gateway.start(gateway(server, Config.MemoryMode.REFUSE))) {
                String id = submit(gw, FROM, List.of("bob@b.example"), body("second", "Hello"));
                assertThat(lastResult(gw, id)).startsWith("451 4.7.10")
                        .contains("downgrade: b.example was seen at verified since ",
                                "this session offered TLS, unverified: ");
                assertThat(server.delivered()).hasSize(1);
                // the refused session taught nothing
                assertThat(PeerLevels.read(data).getFirst().out().level()).isEqualTo(Level.VERIFIED);
            }
        }
    }

    @Test void flagDeliversAndRecordsTheDowngrade() throws Exception {
        RecordingAudit audit = new RecordingAudit();
        try (ScriptedSmtpServer server = peer().starttls(selfSigned).start();
             Gateway gw = Gateway.start(gateway(server, Config.MemoryMode.FLAG), audit);
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            firstDelivery(gw, server);
            server.noStartTls();
            String id = submit(gw, FROM, List.of("bob@b.example"), body("second", "Hello"));
            eventually().until(() -> server.delivered().size() == 2);
            assertThat(server.delivered().get(1).usedTls()).isFalse();
            eventually().until(() -> log.lines().stream().anyMatch(l -> l.contains("downgrade alert id=" + id)
                    && l.contains("action=\"flagged")));
            TlsSessionRecord flagged = audit.await(TlsSessionRecord.class,
                    s -> s.direction() == TlsSessionRecord.Direction.OUT
                            && s.noTls() == TlsSessionRecord.NoTls.NOT_OFFERED);
            assertThat(flagged.policy().source()).isEqualTo("memory");
            assertThat(flagged.policy().mode()).isEqualTo("testing");
            assertThat(flagged.policy().wouldFail()).anySatisfy(w -> assertThat(w)
                    .startsWith("downgrade: b.example was seen at encrypted since"));
            // never lowered
            assertThat(PeerLevels.read(data).getFirst().out().level()).isEqualTo(Level.ENCRYPTED);
        }
    }

    @Test void aStaticPolicyOfLevelNoneIsNotOverruled() throws Exception {
        try (ScriptedSmtpServer server = peer().starttls(selfSigned).start();
             Gateway gw = Gateway.start(gateway(server, Config.MemoryMode.REFUSE))) {
            firstDelivery(gw, server);
            awaitEmptySpool(gw);
        }
        try (ScriptedSmtpServer server = peer().start()) {
            Config c = gateway(server, Config.MemoryMode.REFUSE);
            try (Gateway gw = Gateway.start(c.withOutboundTls(new Config.OutboundTls(c.outboundTls().defaultPolicy(),
                    Map.of("b.example", TlsPolicy.of(TlsLevel.NONE)))).withPeerMemory(c.peerMemory()))) {
                assertThat(PeerLevels.read(data).getFirst().get(Direction.OUT).level()).isEqualTo(Level.ENCRYPTED);
                submit(gw, FROM, List.of("bob@b.example"), body("none", "Hello"));
                eventually().until(() -> server.delivered().size() == 1);
            }
        }
    }
}
