package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.Verification;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12: what delivery leaves in the audit, against real next hops on loopback: one outbound TLS session record
 * per new connection (with its verification and the policy applied, and its source), one delivery record per
 * recipient per attempt naming that session, the DSN's own message record, MX preference, local delivery, and the
 * administrative records of overrides set and cleared.
 */
class OutboundAuditTest {
    @TempDir Path data;
    @TempDir static Path pki;
    static KeyMaterial ca;
    static KeyMaterial mxCert;
    static Path caFile;
    final RecordingAudit audit = new RecordingAudit();

    @BeforeAll static void certificates() throws Exception {
        ca = Certificates.certificateAuthority("B CA", Certificates.KeyType.EC_P256, Duration.ofDays(30));
        mxCert = Certificates.issue(ca, List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(10));
        caFile = pki.resolve("b-ca.pem");
        Pem.write(ca, caFile, pki.resolve("b-ca.key"));
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** b.example routed to the server, with a static policy for it. */
    Config gateway(ScriptedSmtpServer server, TlsPolicy policy) {
        return Outbound.relayingTo(data, server.port(), "b.example").withOutboundTls(new Config.OutboundTls(
                TlsPolicy.of(TlsLevel.MAY), Map.of("b.example", policy)));
    }

    static TlsPolicy verifyAgainstCa() {
        return new TlsPolicy(TlsLevel.VERIFY, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                TlsPolicy.LEVEL_KEY_FLOOR, List.of("mx.b.example"), caFile, List.of(), null, null);
    }

    DeliveryRecord delivery(String queueId, Outcome outcome) {
        return audit.await(DeliveryRecord.class, d -> d.queueId().equals(queueId) && d.outcome() == outcome);
    }

    @Test void verifiedTlsDeliveryAndAReusedConnection() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(mxCert).start();
             Gateway gw = Gateway.start(gateway(server, verifyAgainstCa()), audit)) {
            String first = submit(gw, "alice@a.example", List.of("bob@b.example"), body("first", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            String second = submit(gw, "alice@a.example", List.of("bob@b.example"), body("second", "Hello"));
            eventually().until(() -> server.delivered().size() == 2);
            awaitEmptySpool(gw);
            assertThat(server.connectionCount()).as("the second message reused the connection").isEqualTo(1);

            List<TlsSessionRecord> out = audit.of(TlsSessionRecord.class,
                    r -> r.direction() == TlsSessionRecord.Direction.OUT);
            assertThat(out).as("a reused connection is not recorded again").hasSize(1);
            TlsSessionRecord s = out.getFirst();
            assertThat(s.endpoint()).isEqualTo("127.0.0.1:" + server.port());
            assertThat(s.peerIp()).isEqualTo("127.0.0.1");
            assertThat(s.peerPort()).isEqualTo(server.port());
            assertThat(s.ehloName()).isNotBlank();
            assertThat(s.protocol()).isEqualTo(server.delivered().getFirst().tls().protocol());
            assertThat(s.cipher()).isEqualTo(server.delivered().getFirst().tls().cipherSuite());
            assertThat(s.keyExchangeGroup()).as("both sides' first choice, read from the ServerHello")
                .isEqualTo("x25519");
            assertThat(s.sni()).as("no SNI for an IP literal").isNull();
            assertThat(s.peerChain()).hasSize(mxCert.chain().size());
            assertThat(s.peerChain().getFirst().sha256()).isEqualTo(sha256(mxCert.leaf().getEncoded()));
            assertThat(s.peerChain().getFirst().spkiSha256())
                    .isEqualTo(sha256(mxCert.leaf().getPublicKey().getEncoded()));
            assertThat(s.verification()).isEqualTo(Verification.VERIFIED);
            assertThat(s.verificationReason()).startsWith("verified for mx.b.example");
            assertThat(s.clientCertificate()).isEqualTo("not-asked");
            assertThat(s.noTls()).isNull();
            assertThat(s.policy().level()).isEqualTo("verify");
            assertThat(s.policy().source()).isEqualTo("static");
            assertThat(s.policy().sourceDetail()).isEqualTo("static entry \"b.example\"");
            assertThat(s.policy().mode()).isEqualTo("enforce");
            assertThat(s.policy().wouldFail()).isEmpty();

            for (String id : List.of(first, second)) {
                DeliveryRecord d = delivery(id, Outcome.DELIVERED);
                assertThat(d.tlsSessionId()).as(id).isEqualTo(s.id());
                assertThat(d.recipient()).isEqualTo("bob@b.example");
                assertThat(d.attempt()).isEqualTo(1);
                assertThat(d.mxHost()).isEqualTo("127.0.0.1");
                assertThat(d.mxPreference()).as("static route").isEqualTo(-1);
                assertThat(d.ip()).isEqualTo("127.0.0.1");
                assertThat(d.port()).isEqualTo(server.port());
                assertThat(d.noTlsReason()).isNull();
                assertThat(d.replies()).isNotEmpty().allMatch(l -> l.startsWith("250"));
                assertThat(d.status()).startsWith("2.");
                assertThat(d.dsnQueueId()).isNull();
                assertThat(d.hostsTried()).hasSize(1);
            }
        }
    }

    /**
     * The group a next hop chooses, as Postern (the JDK's TLS client) recorded it: TLS 1.3 after a HelloRetryRequest
     * (Postern shares x25519 and secp256r1 keys; the next hop allows only secp384r1 and asks again), and TLS 1.2
     * ECDHE (from the ServerKeyExchange).
     */
    @Test void keyExchangeGroupChosenByTheNextHop() throws Exception {
        record Case(String protocol, String[] groups, KeyMaterial cert, String expected) {}
        // TLS 1.2 ECDSA would need the certificate's curve among the groups too: an RSA certificate there.
        KeyMaterial rsa = Certificates.issue(ca, List.of("mx.b.example"), Certificates.KeyType.RSA_2048,
                Instant.now().minusSeconds(60), Duration.ofDays(10));
        for (Case c : List.of(new Case("TLSv1.3", new String[] {"secp384r1"}, mxCert, "secp384r1"),
                new Case("TLSv1.2", new String[] {"secp384r1"}, rsa, "secp384r1"))) {
            RecordingAudit own = new RecordingAudit();
            try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(c.cert())
                    .tlsProtocols(c.protocol()).tlsNamedGroups(c.groups()).start();
                 Gateway gw = Gateway.start(gateway(server, verifyAgainstCa()), own)) {
                submit(gw, "alice@a.example", List.of("bob@b.example"), body("group", "Hello"));
                eventually().until(() -> server.delivered().size() == 1);
                TlsSessionRecord s = own.await(TlsSessionRecord.class,
                        r -> r.direction() == TlsSessionRecord.Direction.OUT);
                assertThat(s.protocol()).isEqualTo(c.protocol());
                assertThat(s.keyExchangeGroup()).as(c.protocol()).isEqualTo(c.expected());
            }
        }
    }

    @Test void overrideIsTheSourceAndItsSettingAndClearingAreRecorded() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(mxCert).start();
             Gateway gw = Gateway.start(gateway(server, verifyAgainstCa()), audit)) {
            Instant until = Instant.now().plus(Duration.ofHours(2)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
            new PolicyOverrides(data).set(new PolicyOverrides.Override("b.example", TlsLevel.MAY, until,
                    Instant.now(), "carol", "their certificate expired"));
            AdminRecord set = audit.await(AdminRecord.class,
                    a -> a.action() == AdminRecord.Action.POLICY_OVERRIDE_SET);
            assertThat(set.actor()).isEqualTo("carol");
            assertThat(set.target()).isEqualTo("b.example");
            assertThat(set.detail()).contains("level may").contains(until.toString())
                    .contains("their certificate expired");

            String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("override", "Hello"));
            DeliveryRecord d = delivery(id, Outcome.DELIVERED);
            TlsSessionRecord s = audit.await(TlsSessionRecord.class, r -> r.id().equals(d.tlsSessionId()));
            assertThat(s.policy().source()).isEqualTo("override");
            assertThat(s.policy().level()).isEqualTo("may");
            assertThat(s.policy().sourceDetail()).contains("carol").contains("over static entry \"b.example\"");
            assertThat(s.verification()).as("under may the verdict still says").isEqualTo(Verification.VERIFIED);

            assertThat(new PolicyOverrides(data).remove("b.example", "dave")).isTrue();
            AdminRecord cleared = audit.await(AdminRecord.class,
                    a -> a.action() == AdminRecord.Action.POLICY_OVERRIDE_CLEARED);
            assertThat(cleared.actor()).isEqualTo("dave");
            assertThat(cleared.target()).isEqualTo("b.example");
            assertThat(audit.of(AdminRecord.class)).as("each change once").hasSize(2);
        }
    }

    @Test void enforcedPolicyWithoutStartTlsIsDeferredWith4710() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().start();
             Gateway gw = Gateway.start(gateway(server, TlsPolicy.of(TlsLevel.ENCRYPT)), audit)) {
            String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("strict", "Hello"));
            DeliveryRecord d = delivery(id, Outcome.DEFERRED);
            assertThat(d.status()).isEqualTo("4.7.10");
            assertThat(d.noTlsReason()).startsWith("TLS required by policy for b.example")
                    .contains("does not offer STARTTLS");
            assertThat(d.mxHost()).isEqualTo("127.0.0.1");
            TlsSessionRecord s = audit.await(TlsSessionRecord.class, r -> r.id().equals(d.tlsSessionId()));
            assertThat(s.protocol()).isNull();
            assertThat(s.noTls()).isEqualTo(NoTls.NOT_OFFERED);
            assertThat(s.noTlsDetail()).contains("does not offer STARTTLS");
            assertThat(s.verification()).isEqualTo(Verification.NOT_CHECKED);
            assertThat(s.policy().level()).isEqualTo("encrypt");
            assertThat(server.transactions()).isEmpty();
        }
    }

    @Test void bounceNamesItsDsnWhichIsDeliveredLocally() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().enhancedStatusCodes()
                .onRcpt("bob@b.example", "550 5.1.1 no such user").start();
             Gateway gw = Gateway.start(gateway(server, TlsPolicy.of(TlsLevel.MAY)), audit)) {
            String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("bounce", "Hello"));
            DeliveryRecord d = delivery(id, Outcome.BOUNCED);
            assertThat(d.status()).isEqualTo("5.1.1");
            assertThat(d.replies()).containsExactly("550 5.1.1 no such user");
            assertThat(d.noTlsReason()).contains("does not offer STARTTLS");
            assertThat(d.dsnQueueId()).isNotNull();

            MessageRecord dsn = audit.await(MessageRecord.class, m -> m.queueId().equals(d.dsnQueueId()));
            assertThat(dsn.origin()).isEqualTo("bounce of " + id);
            assertThat(dsn.sender()).isEmpty();
            assertThat(dsn.recipients()).containsExactly("alice@a.example");
            assertThat(dsn.messageId()).startsWith(id + ".").endsWith(".dsn@" + Outbound.HOSTNAME);
            assertThat(dsn.sessionId()).isNull();

            DeliveryRecord local = delivery(d.dsnQueueId(), Outcome.DELIVERED);
            assertThat(local.mxHost()).isEqualTo("local");
            assertThat(local.mxPreference()).isEqualTo(-1);
            assertThat(local.tlsSessionId()).isNull();
            assertThat(local.hostsTried()).isEmpty();
            awaitEmptySpool(gw);
        }
    }

    @Test void mxPreferenceAndEveryHostTriedAreRecorded() throws Exception {
        KeyMaterial selfSigned = Certificates.selfSigned(List.of("mx2.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer preferred = ScriptedSmtpServer.create().greeting("421 4.3.2 busy, try later").start();
             ScriptedSmtpServer backup = ScriptedSmtpServer.create().pipelining().starttls(selfSigned)
                     .start(new InetSocketAddress("127.0.0.2", preferred.port()))) {
            dns.mx("b.example", 20, "mx2.b.example").mx("b.example", 10, "mx1.b.example")
                    .a("mx1.b.example", "127.0.0.1").a("mx2.b.example", "127.0.0.2");
            Config c = TestConfigs.withDns(TestConfigs.withRelay(
                    TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("b.example"), Map.of()),
                    dns.address(), preferred.port());
            try (Gateway gw = Gateway.start(c, audit)) {
                String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("mx", "Hello"));
                DeliveryRecord d = delivery(id, Outcome.DELIVERED);
                assertThat(d.mxHost()).isEqualTo("mx2.b.example");
                assertThat(d.mxPreference()).isEqualTo(20);
                assertThat(d.ip()).isEqualTo("127.0.0.2");
                assertThat(d.hostsTried()).hasSize(2);
                assertThat(d.hostsTried().getFirst()).startsWith("mx1.b.example[127.0.0.1]:" + preferred.port())
                        .contains("421 4.3.2 busy");
                assertThat(d.hostsTried().get(1)).startsWith("mx2.b.example[127.0.0.2]:");

                // the preferred host refused at the greeting, before any TLS: only the backup's session is recorded
                List<TlsSessionRecord> out = audit.of(TlsSessionRecord.class,
                        r -> r.direction() == TlsSessionRecord.Direction.OUT);
                assertThat(out).hasSize(1);
                TlsSessionRecord s = out.getFirst();
                assertThat(s.id()).isEqualTo(d.tlsSessionId());
                assertThat(s.endpoint()).isEqualTo("mx2.b.example:" + preferred.port());
                assertThat(s.sni()).isEqualTo("mx2.b.example");
                assertThat(s.protocol()).isNotNull();
                assertThat(s.verification()).as("self-signed, under may").isEqualTo(Verification.FAILED);
                assertThat(s.verificationReason()).as("the problem alone").startsWith("self-signed certificate");
                assertThat(s.policy().source()).isEqualTo("default");
                assertThat(s.policy().level()).isEqualTo("may");
            }
        }
    }

    @Test void testingModeRecordsWhatTheEnforcedLevelWouldHaveFailed() throws Exception {
        KeyMaterial selfSigned = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        TlsPolicy testing = new TlsPolicy(TlsLevel.VERIFY, Config.PolicyMode.TESTING, "TLSv1.2", List.of(), 0,
                TlsPolicy.LEVEL_KEY_FLOOR, List.of("mx.b.example"), caFile, List.of(), null, null);
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(selfSigned).start();
             Gateway gw = Gateway.start(gateway(server, testing), audit)) {
            String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("testing", "Hello"));
            DeliveryRecord d = delivery(id, Outcome.DELIVERED);
            TlsSessionRecord s = audit.await(TlsSessionRecord.class, r -> r.id().equals(d.tlsSessionId()));
            assertThat(s.protocol()).isNotNull();
            assertThat(s.noTls()).isNull();
            assertThat(s.verification()).isEqualTo(Verification.FAILED);
            assertThat(s.policy().mode()).isEqualTo("testing");
            assertThat(s.policy().level()).isEqualTo("verify");
            assertThat(s.policy().wouldFail()).isNotEmpty();
        }
    }

    @Test void enforcedHandshakeFailureAndRefusalAreRecorded() throws Exception {
        for (var failure : List.of(ScriptedSmtpServer.StartTlsFailure.GARBAGE_AFTER_READY,
                ScriptedSmtpServer.StartTlsFailure.REFUSE)) {
            RecordingAudit each = new RecordingAudit();
            Path dir = data.resolve(failure.name());
            try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(mxCert)
                    .startTlsFailure(failure).start();
                 Gateway gw = Gateway.start(Outbound.relayingTo(dir, server.port(), "b.example").withOutboundTls(
                         new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                                 Map.of("b.example", TlsPolicy.of(TlsLevel.ENCRYPT)))), each)) {
                String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("fail", "Hello"));
                DeliveryRecord d = each.await(DeliveryRecord.class, r -> r.queueId().equals(id));
                assertThat(d.outcome()).isEqualTo(Outcome.DEFERRED);
                assertThat(d.status()).isEqualTo("4.7.10");
                TlsSessionRecord s = each.await(TlsSessionRecord.class, r -> r.id().equals(d.tlsSessionId()));
                assertThat(s.protocol()).isNull();
                assertThat(s.noTls()).isEqualTo(failure == ScriptedSmtpServer.StartTlsFailure.REFUSE
                        ? NoTls.REFUSED : NoTls.HANDSHAKE_FAILED);
                assertThat(s.noTlsDetail()).isEqualTo(d.noTlsReason().substring(d.noTlsReason().indexOf("): ") + 3));
            }
        }
    }

    @Test void anOverrideThatEndsIsRecordedAsExpired() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().start();
             Gateway gw = Gateway.start(gateway(server, TlsPolicy.of(TlsLevel.ENCRYPT)), audit)) {
            new PolicyOverrides(data).set(new PolicyOverrides.Override("b.example", TlsLevel.MAY,
                    Instant.now().plusSeconds(2), Instant.now(), "erin", "short"));
            audit.await(AdminRecord.class, a -> a.action() == AdminRecord.Action.POLICY_OVERRIDE_SET);
            AdminRecord expired = audit.await(AdminRecord.class,
                    a -> a.action() == AdminRecord.Action.POLICY_OVERRIDE_EXPIRED);
            assertThat(expired.actor()).isEqualTo("erin");
            assertThat(expired.target()).isEqualTo("b.example");
            assertThat(audit.of(AdminRecord.class)).hasSize(2);
        }
    }
}
