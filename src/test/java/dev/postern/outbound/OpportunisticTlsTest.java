package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.ScriptedSmtpServer.ConnectionRecord;
import dev.postern.testkit.ScriptedSmtpServer.StartTlsFailure;
import dev.postern.testkit.ScriptedSmtpServer.Transaction;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 items 15 and 7 (last sentence): under "may", a peer that offers only suites outside Postern's strict set
 * (TLS 1.2 CBC) gets the message over TLS after a retry with the broad set, recorded as weak; enforced levels never
 * retry weaker; every clear-text delivery under "may" says why on its own log line.
 */
class OpportunisticTlsTest {
    @TempDir Path data;

    static final String FROM = "alice@a.example";
    static final String CBC = "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";
    static KeyMaterial rsa;

    @BeforeAll static void certificate() {
        rsa = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.RSA_2048, Duration.ofDays(2));
    }

    /** A peer offering TLS 1.2 with one CBC suite only (forward secret; not in Postern's AEAD-only set). */
    static ScriptedSmtpServer cbcOnly() {
        return ScriptedSmtpServer.create().pipelining().starttls(rsa).tlsProtocols("TLSv1.2").tlsCipherSuites(CBC);
    }

    Config gateway(ScriptedSmtpServer server, TlsLevel level) {
        return gateway(server, level, Config.TlsProvider.JDK);
    }

    /** {@code provider}: {@code [delivery] tls_provider}; the broad retry works with either. */
    Config gateway(ScriptedSmtpServer server, TlsLevel level, Config.TlsProvider provider) {
        Config c = Outbound.relayingTo(data, server.port(), "b.example").withOutboundTls(new Config.OutboundTls(
                TlsPolicy.of(TlsLevel.MAY), Map.of("b.example", TlsPolicy.of(level))));
        return c.withDelivery(c.delivery().withTlsProvider(provider));
    }

    @ParameterizedTest @EnumSource(names = {"JDK", "CONSCRYPT"})
    void cbcOnlyPeerGetsTheMessageOverWeakTlsNotInClearText(Config.TlsProvider provider) throws Exception {
        try (ScriptedSmtpServer server = cbcOnly().start();
             Gateway gw = Gateway.start(gateway(server, TlsLevel.MAY, provider));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            submit(gw, FROM, List.of("bob@b.example"), body("weak", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            awaitEmptySpool(gw);
            Transaction t = server.delivered().getFirst();
            assertThat(t.usedTls()).isTrue();
            assertThat(t.tls().protocol()).isEqualTo("TLSv1.2");
            assertThat(t.tls().cipherSuite()).isEqualTo(CBC);
            // The strict handshake failed, the broad one worked: two connections, no clear text.
            List<ConnectionRecord> connections = server.connections();
            assertThat(connections).hasSize(2);
            assertThat(connections.getFirst().tlsFailure()).isNotNull();
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("to=<bob@b.example>",
                    "tls=\"TLSv1.2/" + CBC + " (weak: 127.0.0.1[127.0.0.1]:" + server.port() + ": TLS handshake failed",
                    "result=delivered"));
        }
    }

    @ParameterizedTest @EnumSource(names = {"JDK", "CONSCRYPT"})
    void anEnforcedLevelNeverRetriesWeaker(Config.TlsProvider provider) throws Exception {
        try (ScriptedSmtpServer server = cbcOnly().start();
             Gateway gw = Gateway.start(gateway(server, TlsLevel.ENCRYPT, provider))) {
            String id = submit(gw, FROM, List.of("bob@b.example"), body("enforced", "Hello"));
            var env = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 1);
            assertThat(env.recipients().getFirst().lastResult()).startsWith("451 4.7.10 TLS required by policy")
                    .contains("TLS handshake failed");
            assertThat(server.transactions()).isEmpty();
            eventually().until(() -> server.connections().size() >= 1);
            assertThat(server.connections()).allSatisfy(c -> assertThat(c.tlsFailure()).isNotNull());
            assertThat(server.connections()).hasSize(1); // one handshake per attempt, no broad retry
        }
    }

    @Test void missingStartTlsUnderMayShowsAsADowngradeOnTheDeliveryLine() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().start();
             Gateway gw = Gateway.start(gateway(server, TlsLevel.MAY));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            submit(gw, FROM, List.of("bob@b.example"), body("stripped", "Hello"));
            awaitEmptySpool(gw);
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("to=<bob@b.example>",
                    "tls=\"none (downgraded: 127.0.0.1[127.0.0.1]:" + server.port() + ": does not offer STARTTLS)",
                    "result=delivered"));
        }
    }

    @Test void clearTextRetryAfterAFailedHandshakeShowsOnTheDeliveryLine() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(rsa)
                .startTlsFailure(StartTlsFailure.GARBAGE_AFTER_READY).start();
             Gateway gw = Gateway.start(gateway(server, TlsLevel.MAY));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            submit(gw, FROM, List.of("bob@b.example"), body("garbage", "Hello"));
            awaitEmptySpool(gw);
            assertThat(server.delivered().getFirst().usedTls()).isFalse();
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("to=<bob@b.example>",
                    "tls=\"none (downgraded: 127.0.0.1[127.0.0.1]:" + server.port()
                            + ": TLS handshake failed: ", "result=delivered"));
            // strict, broad, then clear text
            assertThat(server.connections()).hasSize(3);
        }
    }
}
