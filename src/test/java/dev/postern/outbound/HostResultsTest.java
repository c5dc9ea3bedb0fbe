package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.awaitMailbox;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.TestDnsServer;
import dev.postern.queue.Envelope;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.KeyMaterial;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 4: when hosts of one destination fail differently, the recorded reason and the DSN come from every
 * host's result, and a TLS requirement any host failed is never hidden behind a later host's failure.
 */
class HostResultsTest {
    @TempDir Path data;

    static final String FROM = "alice@a.example";

    @Test void strippedStartTlsOnThePrimaryIsNotHiddenByAnUnreachableBackup() throws Exception {
        // MX 10 offers no STARTTLS (stripped by an attacker, say); MX 20, same port on another address, refuses.
        try (ScriptedSmtpServer mx1 = ScriptedSmtpServer.create().hostname("mx1.b.example").enhancedStatusCodes()
                .start(new InetSocketAddress("127.0.78.1", 0));
             TestDnsServer dns = TestDnsServer.start()) {
            int port = mx1.port();
            dns.mx("b.example", 10, "mx1.b.example").mx("b.example", 20, "mx2.b.example")
                    .a("mx1.b.example", "127.0.78.1").a("mx2.b.example", "127.0.78.2");
            Config base = TestConfigs.withDns(TestConfigs.withRelay(
                    TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("b.example"), Map.of()),
                    dns.address(), port);
            Config config = Outbound.withQueue(base.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                    Map.of("b.example", TlsPolicy.of(TlsLevel.ENCRYPT)))), Duration.ofMillis(2500), null);
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("bob@b.example"), body("stripped", "Hello"));

                Envelope first = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 1);
                String reason = first.recipients().getFirst().lastResult();
                assertThat(reason).startsWith("451 4.7.10 TLS required by policy for b.example (static entry "
                        + "\"b.example\"): mx1.b.example[127.0.78.1]:" + port + ": does not offer STARTTLS")
                        .contains("; other hosts: connect to mx2.b.example[127.0.78.2]:" + port + " failed");

                // Expired: a permanent security failure that still names both hosts.
                String dsn = awaitMailbox(data, FROM, 1).getFirst();
                String unfolded = dsn.replace("\r\n ", " ");
                assertThat(unfolded).contains("Action: failed", "Status: 5.7.10",
                        "Diagnostic-Code: X-Postern; delivery time expired", "does not offer STARTTLS",
                        "other hosts: connect to mx2.b.example[127.0.78.2]:" + port + " failed");
                assertThat(unfolded).doesNotContain("Status: 4.4.7", "Status: 4.4.1");
                assertThat(mx1.transactions()).isEmpty(); // nothing of the message went out in clear text
            }
        }
    }

    @Test void theLastHostThatAnsweredGivesTheStatusAndTheOthersFollow() {
        var replied = new SmtpClient.Remote("mx1.b.example",
                dev.postern.smtp.Reply.of(451, "4.3.2", "system not accepting network messages"));
        SmtpClient.RecipientResult r = Scheduler.deferral("b.example", "default", List.of(
                new Scheduler.HostResult("mx1.b.example", false, "mx1.b.example[192.0.2.1]:25 refused MAIL FROM: "
                        + "451 4.3.2 system not accepting network messages", replied),
                new Scheduler.HostResult("mx2.b.example", false, "connect to mx2.b.example[192.0.2.2]:25 failed: "
                        + "Connection refused", null)));
        assertThat(r.enhanced()).isEqualTo("4.3.2");
        assertThat(r.remote()).isEqualTo(replied);
        assertThat(r.reply()).isEqualTo("451 4.3.2 mx1.b.example[192.0.2.1]:25 refused MAIL FROM: 451 4.3.2 system "
                + "not accepting network messages; connect to mx2.b.example[192.0.2.2]:25 failed: Connection refused");
    }

    @Test void aTlsFailureOnTheBackupStillNamesTheRequirement() {
        SmtpClient.RecipientResult r = Scheduler.deferral("b.example", "default", List.of(
                new Scheduler.HostResult("mx1.b.example", false, "connect to mx1 failed", null),
                new Scheduler.HostResult("mx2.b.example", true, "mx2: TLS handshake failed: boom", null)));
        assertThat(r.enhanced()).isEqualTo("4.7.10");
        assertThat(r.reply()).isEqualTo("451 4.7.10 TLS required by policy for b.example (default): mx2: TLS "
                + "handshake failed: boom; other hosts: connect to mx1 failed");
    }

    @Test void aBackupThatDefersTheRecipientDoesNotHideTheStrippedStartTls() throws Exception {
        // MX 10 offers no STARTTLS (stripped); MX 20 does TLS properly but greylists the recipient (451 at RCPT).
        KeyMaterial mx2Key = dev.postern.tls.Certificates.selfSigned(List.of("mx2.b.example"),
                dev.postern.tls.Certificates.KeyType.EC_P256, Duration.ofDays(2));
        try (ScriptedSmtpServer mx1 = ScriptedSmtpServer.create().hostname("mx1.b.example").enhancedStatusCodes()
                .start(new InetSocketAddress("127.0.78.1", 0));
             ScriptedSmtpServer mx2 = ScriptedSmtpServer.create().hostname("mx2.b.example").enhancedStatusCodes()
                     .starttls(mx2Key).onRcpt("bob@b.example", "451 4.7.1 greylisted, try again later")
                     .start(new InetSocketAddress("127.0.78.2", mx1.port()));
             TestDnsServer dns = TestDnsServer.start()) {
            int port = mx1.port();
            dns.mx("b.example", 10, "mx1.b.example").mx("b.example", 20, "mx2.b.example")
                    .a("mx1.b.example", "127.0.78.1").a("mx2.b.example", "127.0.78.2");
            Config base = TestConfigs.withDns(TestConfigs.withRelay(
                    TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("b.example"), Map.of()),
                    dns.address(), port);
            Config config = Outbound.withQueue(base.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                    Map.of("b.example", TlsPolicy.of(TlsLevel.ENCRYPT)))), Duration.ofMillis(2500), null);
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("bob@b.example"), body("greylisted", "Hello"));

                Envelope first = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 1);
                String reason = first.recipients().getFirst().lastResult();
                assertThat(reason).startsWith("451 4.7.10 TLS required by policy for b.example (static entry "
                        + "\"b.example\"): mx1.b.example[127.0.78.1]:" + port + ": does not offer STARTTLS")
                        .contains("; other hosts: ").contains("451 4.7.1 greylisted");

                String dsn = awaitMailbox(data, FROM, 1).getFirst();
                String unfolded = dsn.replace("\r\n ", " ");
                assertThat(unfolded).contains("Action: failed", "Status: 5.7.10", "does not offer STARTTLS",
                        "Remote-MTA: dns; mx2.b.example", "Diagnostic-Code: smtp; 451 4.7.1 greylisted");
                assertThat(unfolded).doesNotContain("Status: 4.7.1");
                assertThat(mx1.transactions()).isEmpty(); // nothing went out in clear text
                assertThat(mx2.transactions()).allMatch(ScriptedSmtpServer.Transaction::usedTls);
            }
        }
    }

    @Test void aConnectionCutAtStartTlsIsATlsFailureToo() throws Exception {
        // MX 10 offers STARTTLS, but the connection is cut when Postern sends it; MX 20 is unreachable.
        KeyMaterial mx1Key = dev.postern.tls.Certificates.selfSigned(List.of("mx1.b.example"),
                dev.postern.tls.Certificates.KeyType.EC_P256, Duration.ofDays(2));
        try (ScriptedSmtpServer mx1 = ScriptedSmtpServer.create().hostname("mx1.b.example").enhancedStatusCodes()
                .starttls(mx1Key).on(ScriptedSmtpServer.Verb.STARTTLS, ScriptedSmtpServer.DISCONNECT)
                .start(new InetSocketAddress("127.0.78.1", 0));
             TestDnsServer dns = TestDnsServer.start()) {
            int port = mx1.port();
            dns.mx("b.example", 10, "mx1.b.example").mx("b.example", 20, "mx2.b.example")
                    .a("mx1.b.example", "127.0.78.1").a("mx2.b.example", "127.0.78.2");
            Config base = TestConfigs.withDns(TestConfigs.withRelay(
                    TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("b.example"), Map.of()),
                    dns.address(), port);
            Config config = Outbound.withQueue(base.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                    Map.of("b.example", TlsPolicy.of(TlsLevel.ENCRYPT)))), Duration.ofMillis(2500), null);
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("bob@b.example"), body("cut", "Hello"));

                Envelope first = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 1);
                assertThat(first.recipients().getFirst().lastResult()).startsWith("451 4.7.10 TLS required by policy "
                        + "for b.example (static entry \"b.example\"): mx1.b.example[127.0.78.1]:" + port
                        + ": STARTTLS failed: end of stream").contains("; other hosts: connect to mx2.b.example");
                String dsn = awaitMailbox(data, FROM, 1).getFirst().replace("\r\n ", " ");
                assertThat(dsn).contains("Status: 5.7.10").doesNotContain("Status: 4.4.7");
                assertThat(mx1.transactions()).isEmpty();
            }
        }
    }
}
