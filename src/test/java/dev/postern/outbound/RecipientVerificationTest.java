package dev.postern.outbound;

import static dev.postern.outbound.Outbound.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Next-hop recipient verification (Postfix's reject_unverified_recipient) against scripted next hops: what the next
 * hop says decides the reply at RCPT, answers are cached, an unreachable or slow next hop gives 450 4.1.1, and an
 * enforced outbound TLS policy holds for the probe too.
 */
class RecipientVerificationTest {
    @TempDir Path dir;

    private Config config(Map<String, Integer> portByRelayDomain, Duration timeout) {
        return config(portByRelayDomain, timeout, 10);
    }

    private Config config(Map<String, Integer> portByRelayDomain, Duration timeout, int maxProbes) {
        Map<String, Config.Route> routes = new java.util.HashMap<>();
        Map<String, Config.DomainRecipients> recipients = new java.util.HashMap<>();
        portByRelayDomain.forEach((d, port) -> {
            routes.put(d, new Config.Route("127.0.0.1", port, false));
            recipients.put(d, new Config.DomainRecipients(null, true));
        });
        Config c = TestConfigs.withRelay(TestConfigs.gateway(dir.resolve("data"), Outbound.HOSTNAME,
                java.util.Set.of("a.example")), portByRelayDomain.keySet(), routes);
        return c.withInbound(c.inbound().with(recipients, new Config.RecipientVerification(Duration.ofDays(7),
                Duration.ofHours(3), 1000, timeout, maxProbes), Config.AuthLimits.DEFAULT));
    }

    private static SmtpTestClient transaction(Gateway gw) throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst());
        c.read();
        c.command("EHLO client.test");
        assertThat(c.command("MAIL FROM:<sender@far.example>").code()).isEqualTo(250);
        return c;
    }

    private static long asked(ScriptedSmtpServer server, String address) {
        return server.transactions().stream().flatMap(t -> t.recipients().stream()).filter(address::equals).count();
    }

    @Test void theNextHopDecidesAndItsAnswersAreCached() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().enhancedStatusCodes()
                .onRcpt("nobody@b.example", "550 5.1.1 <nobody@b.example>: no such user here")
                .onRcpt("busy@b.example", "451 4.3.0 try again later").start();
             Gateway gw = Gateway.start(config(Map.of("b.example", server.port()), Duration.ofSeconds(10)))) {
            try (SmtpTestClient c = transaction(gw)) {
                assertThat(c.command("RCPT TO:<known@b.example>").last()).startsWith("250 2.1.5");
                assertThat(c.command("RCPT TO:<nobody@b.example>").last())
                        .isEqualTo("550 5.1.1 <nobody@b.example>: Recipient address rejected: User unknown");
                assertThat(c.command("RCPT TO:<busy@b.example>").last()).startsWith("450 4.1.1 <busy@b.example>: ");
            }
            // The probes: null sender, the one recipient, no DATA, RSET then QUIT.
            eventually().until(() -> server.transactions().size() == 3);
            for (ScriptedSmtpServer.Transaction t : server.transactions()) {
                assertThat(t.mailFrom()).isEmpty();
                assertThat(t.recipients()).hasSize(1);
                assertThat(t.data()).isNull();
                assertThat(t.commands()).noneMatch(cmd -> cmd.startsWith("DATA"));
            }
            eventually().until(() -> server.connections().size() == 3);
            assertThat(server.connections()).allSatisfy(conn -> assertThat(conn.commands())
                    .containsSubsequence(List.of("RSET", "QUIT")));

            // Another session: known and refused answers come from the cache, the temporary one is asked again.
            try (SmtpTestClient c = transaction(gw)) {
                assertThat(c.command("RCPT TO:<Known@b.example>").code()).isEqualTo(250);
                assertThat(c.command("RCPT TO:<nobody@b.example>").code()).isEqualTo(550);
                assertThat(c.command("RCPT TO:<busy@b.example>").code()).isEqualTo(450);
                // Accepted recipients are then relayed as usual.
                assertThat(c.command("DATA").code()).isEqualTo(354);
                c.send("Subject: verified\r\n\r\nhi\r\n.\r\n");
                assertThat(c.read().code()).isEqualTo(250);
            }
            eventually().until(() -> !server.delivered().isEmpty());
            assertThat(server.delivered().getFirst().recipients()).containsExactly("Known@b.example");
            assertThat(asked(server, "known@b.example")).as("asked once").isEqualTo(1);
            assertThat(asked(server, "nobody@b.example")).as("asked once").isEqualTo(1);
            assertThat(asked(server, "busy@b.example")).as("not cached").isEqualTo(2);
        }
    }

    /**
     * Distinct recipients from many sessions at once (no cache absorbs them): the partner sees at most max_probes
     * probes at a time, and the sessions beyond that get 450 4.1.1 at once rather than waiting in line.
     */
    @Test void probesToOnePartnerAreBoundedByMaxProbes() throws Exception {
        java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().enhancedStatusCodes()
                .on(ScriptedSmtpServer.Verb.RCPT, arg -> {
                    most.accumulateAndGet(running.incrementAndGet(), Math::max);
                    try {
                        Thread.sleep(1500); // a slow partner
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } finally {
                        running.decrementAndGet();
                    }
                    return null;
                }).start();
             Gateway gw = Gateway.start(config(Map.of("b.example", server.port()), Duration.ofSeconds(10), 2))) {
            List<SmtpTestClient> sessions = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 12; i++) sessions.add(transaction(gw));
                for (int i = 0; i < 12; i++) sessions.get(i).send("RCPT TO:<user" + i + "@b.example>\r\n");
                List<String> replies = new java.util.ArrayList<>();
                for (SmtpTestClient c : sessions) replies.add(c.read().last());
                assertThat(replies).filteredOn(r -> r.startsWith("250 2.1.5")).hasSize(2);
                assertThat(replies).filteredOn(r -> r.startsWith("450 4.1.1")).hasSize(10);
                assertThat(most.get()).isEqualTo(2);
            } finally {
                for (SmtpTestClient c : sessions) c.close();
            }
        }
    }

    @Test void anUnreachableNextHopGives450() throws Exception {
        try (Gateway gw = Gateway.start(config(Map.of("down.example", Outbound.closedPort()),
                Duration.ofSeconds(10)));
             SmtpTestClient c = transaction(gw)) {
            assertThat(c.command("RCPT TO:<someone@down.example>").last())
                    .startsWith("450 4.1.1 <someone@down.example>: Recipient address rejected: unverified address");
        }
    }

    @Test void aSilentNextHopGives450WithinTheProbeTimeout() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().on(ScriptedSmtpServer.Verb.EHLO, arg -> {
                    try {
                        Thread.sleep(20_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return null;
                }).start();
             Gateway gw = Gateway.start(config(Map.of("slow.example", server.port()), Duration.ofSeconds(1)));
             SmtpTestClient c = transaction(gw)) {
            long start = System.nanoTime();
            assertThat(c.command("RCPT TO:<someone@slow.example>").last()).startsWith("450 4.1.1");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test void anEnforcedTlsPolicyHoldsForTheProbe() throws Exception {
        // The next hop offers no STARTTLS (as if stripped); the policy for the domain is encrypt.
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().start()) {
            Config c = config(Map.of("bank.example", server.port()), Duration.ofSeconds(10));
            c = c.withOutboundTls(new Config.OutboundTls(Config.TlsPolicy.of(Config.TlsLevel.MAY),
                    Map.of("bank.example", Config.TlsPolicy.of(Config.TlsLevel.ENCRYPT))));
            try (Gateway gw = Gateway.start(c); SmtpTestClient client = transaction(gw)) {
                assertThat(client.command("RCPT TO:<someone@bank.example>").last()).startsWith("450 4.1.1");
            }
            eventually().until(() -> server.connectionCount() > 0 && !server.connections().isEmpty());
            assertThat(server.connections()).allSatisfy(conn -> assertThat(conn.commands())
                    .noneMatch(cmd -> cmd.startsWith("MAIL") || cmd.startsWith("RCPT")));
        }
    }

    @Test void theDowngradeMemoryHoldsForTheProbe() throws Exception {
        // bank.example was seen over TLS before (outbound memory, refuse by default); now its next hop offers no
        // STARTTLS (as if stripped): the probe must not ask about the address in clear text
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().start()) {
            Config c = config(Map.of("bank.example", server.port()), Duration.ofSeconds(10));
            try (dev.postern.peers.PeerLevels levels = dev.postern.peers.PeerLevels.open(c.dataDir(), 100,
                    Duration.ofSeconds(1))) {
                levels.observe("bank.example", dev.postern.peers.Direction.OUT, dev.postern.peers.Level.ENCRYPTED,
                        java.time.Instant.now());
            }
            try (Gateway gw = Gateway.start(c); SmtpTestClient client = transaction(gw)) {
                assertThat(client.command("RCPT TO:<someone@bank.example>").last()).startsWith("450 4.1.1");
            }
            eventually().until(() -> server.connectionCount() > 0 && !server.connections().isEmpty());
            assertThat(server.connections()).allSatisfy(conn -> assertThat(conn.commands())
                    .noneMatch(cmd -> cmd.startsWith("MAIL") || cmd.startsWith("RCPT")));
        }
    }
}
