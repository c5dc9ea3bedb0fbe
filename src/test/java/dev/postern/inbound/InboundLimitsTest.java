package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Connection-level limits: too many connections from one address, idle clients, sessions that go on too long. */
class InboundLimitsTest {
    @TempDir Path data;

    private Gateway start(Config.Limits limits) throws Exception {
        return Gateway.start(TestConfigs.withLimits(
                TestConfigs.gateway(data, "gw.test", Set.of("postern.test")), limits));
    }

    @Test void connectionsPerAddressAreLimited() throws Exception {
        try (Gateway g = start(new Config.Limits(1000, 1 << 20, 10, 10, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofMinutes(5), 100, 2))) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            try (SmtpTestClient a = SmtpTestClient.connect(mx); SmtpTestClient b = SmtpTestClient.connect(mx)) {
                assertThat(a.read().code()).isEqualTo(220);
                assertThat(b.read().code()).isEqualTo(220);
                try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
                    assertThat(c.read().last()).startsWith("421 4.7.0");
                    assertThat(c.isClosedByServer()).isTrue();
                }
            }
            // The slots are given back when the sessions end (the server notices the close a moment later).
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
                try (SmtpTestClient d = SmtpTestClient.connect(mx)) {
                    return d.read().code() == 220;
                }
            });
        }
    }

    /**
     * A host with a /64 (the usual IPv6 assignment) can use a fresh source address for every connection: the
     * per-address limit counts it as one client. (Loopback has one IPv6 address, so the key is checked directly.)
     */
    @Test void ipv6ClientsAreCountedPerSlash64() throws Exception {
        java.net.InetAddress a = java.net.InetAddress.getByName("2001:db8:1:2::1");
        assertThat(InboundServer.client(java.net.InetAddress.getByName("2001:db8:1:2:ffff:ffff:ffff:ffff")))
                .isEqualTo(InboundServer.client(a));
        assertThat(InboundServer.client(java.net.InetAddress.getByName("2001:db8:1:3::1")))
                .isNotEqualTo(InboundServer.client(a));
        java.net.InetAddress v4 = java.net.InetAddress.getByName("192.0.2.7");
        assertThat(InboundServer.client(v4)).isEqualTo(v4);
        assertThat(InboundServer.client(java.net.InetAddress.getByName("192.0.2.8"))).isNotEqualTo(v4);
        // An IPv4 client of a dual-stack listener (::ffff:192.0.2.7) is its IPv4 address, not a shared /64.
        assertThat(InboundServer.client(java.net.InetAddress.getByName("::ffff:192.0.2.7"))).isEqualTo(v4);
    }

    @Test void totalConnectionsAreLimited() throws Exception {
        try (Gateway g = start(new Config.Limits(1000, 1 << 20, 10, 10, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofMinutes(5), 1, 1))) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            try (SmtpTestClient a = SmtpTestClient.connect(mx)) {
                assertThat(a.read().code()).isEqualTo(220);
                try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
                    assertThat(c.read().last()).startsWith("421 4.7.0");
                }
            }
        }
    }

    @Test void idleClientsAreDisconnected() throws Exception {
        try (Gateway g = start(new Config.Limits(1000, 1 << 20, 10, 10, Duration.ofMillis(300),
                Duration.ofSeconds(30), Duration.ofMinutes(5), 100, 100))) {
            try (SmtpTestClient c = SmtpTestClient.connect(g.boundAddresses().getFirst())) {
                assertThat(c.read().code()).isEqualTo(220);
                // Say nothing: the server gives up after the command timeout.
                assertThat(c.read().last()).startsWith("421 4.4.2");
                assertThat(c.isClosedByServer()).isTrue();
            }
        }
    }

    @Test void sessionsHaveAMaximumDuration() throws Exception {
        try (Gateway g = start(new Config.Limits(1000, 1 << 20, 10, 10, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofMillis(400), 100, 100))) {
            try (SmtpTestClient c = SmtpTestClient.connect(g.boundAddresses().getFirst())) {
                assertThat(c.read().code()).isEqualTo(220);
                assertThat(c.command("NOOP").code()).isEqualTo(250);
                Thread.sleep(500);
                assertThat(c.command("NOOP").last()).startsWith("421 4.4.2");
            }
        }
    }
}
