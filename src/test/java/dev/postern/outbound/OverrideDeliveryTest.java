package dev.postern.outbound;

import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.entry;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.recipient;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.queue.Envelope;
import dev.postern.testkit.ScriptedSmtpServer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An override on a ".suffix" key relaxes delivery to the subdomains, and only to them, as a static ".suffix" policy
 * would: the next hop offers no STARTTLS, the default policy is encrypt, and only mail for the subdomain goes out.
 */
class OverrideDeliveryTest {
    @TempDir Path data;

    @Test void aSuffixOverrideAppliesToSubdomainsOnly() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().noStartTls().start()) {
            Config config = Outbound.relayingTo(data, server.port(), "partner.test", "mx.partner.test")
                    .withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.ENCRYPT), Map.of()));
            Instant until = Instant.now().plusSeconds(600);
            new PolicyOverrides(data).set(new PolicyOverrides.Override(".partner.test", TlsLevel.MAY, until,
                    Instant.now(), "test", "ticket 4712"));
            try (Gateway gw = Gateway.start(config); Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
                String sub = submit(gw, "alice@a.example", List.of("bob@mx.partner.test"), body("sub", "Hello"));
                String parent = submit(gw, "alice@a.example", List.of("carol@partner.test"), body("parent", "Hello"));

                eventually().until(() -> entry(gw, sub).isEmpty());
                assertThat(server.transactions()).filteredOn(ScriptedSmtpServer.Transaction::delivered)
                        .singleElement().satisfies(t -> {
                            assertThat(t.recipients()).containsExactly("bob@mx.partner.test");
                            assertThat(t.usedTls()).isFalse();
                        });
                assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("id=" + sub + " ", "result=delivered",
                        "policy=may", "policy-source=\"override \\\".partner.test\\\" (level may until " + until));

                Envelope held = Outbound.awaitEnvelope(gw, parent,
                        e -> recipient(e, "carol@partner.test").attempts() >= 1);
                assertThat(recipient(held, "carol@partner.test").lastResult())
                        .startsWith("451 4.7.10 TLS required by policy for partner.test (default)");
            }
        }
    }
}
