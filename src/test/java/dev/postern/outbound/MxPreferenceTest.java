package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MX hosts are tried in preference order: when the preferred one cannot take the message, the next one gets it in
 * the same attempt. Both MX hosts are loopback addresses (127.0.0.1 and 127.0.0.2) on the same port.
 */
class MxPreferenceTest {
    @TempDir Path data;

    private Config viaDns(TestDnsServer dns, int port) {
        return TestConfigs.withDns(TestConfigs.withRelay(
                TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("b.example"), Map.of()),
                dns.address(), port);
    }

    @Test void preferredMxSaying421GoesToTheNextOne() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer preferred = ScriptedSmtpServer.create().greeting("421 4.3.2 busy, try later").start();
             ScriptedSmtpServer backup = ScriptedSmtpServer.create()
                     .start(new InetSocketAddress("127.0.0.2", preferred.port()))) {
            // listed backup first: order must come from the preference, not the answer
            dns.mx("b.example", 20, "mx2.b.example").mx("b.example", 10, "mx1.b.example")
                    .a("mx1.b.example", "127.0.0.1").a("mx2.b.example", "127.0.0.2");
            try (Gateway gw = Gateway.start(viaDns(dns, preferred.port()))) {
                submit(gw, "alice@a.example", List.of("bob@b.example"), body("mx order", "Hello"));
                eventually().until(() -> backup.delivered().size() == 1);
                awaitEmptySpool(gw);
                assertThat(preferred.connections()).hasSize(1);
                assertThat(preferred.transactions()).isEmpty();
                assertThat(backup.connections()).hasSize(1);
                assertThat(preferred.connections().getFirst().acceptedAt())
                        .isBeforeOrEqualTo(backup.connections().getFirst().acceptedAt());
                assertThat(Outbound.mailbox(data, "alice@a.example")).isEmpty();
            }
        }
    }

    @Test void preferredMxNotListeningGoesToTheNextOne() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer backup = ScriptedSmtpServer.create().start()) {
            dns.mx("b.example", 10, "mx1.b.example").mx("b.example", 20, "mx2.b.example")
                    .a("mx1.b.example", "127.0.0.2").a("mx2.b.example", "127.0.0.1");
            try (Gateway gw = Gateway.start(viaDns(dns, backup.port()))) {
                submit(gw, "alice@a.example", List.of("bob@b.example"), body("mx down", "Hello"));
                eventually().until(() -> backup.delivered().size() == 1);
                awaitEmptySpool(gw);
                assertThat(backup.connections()).hasSize(1);
            }
        }
    }
}
