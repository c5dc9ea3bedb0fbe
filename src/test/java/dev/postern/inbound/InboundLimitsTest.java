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

    /**
     * Beyond max_active_sessions a connection is held, not refused: no greeting until a session ends, then its turn,
     * in arrival order (as Postfix's process limit leaves it in the listen queue).
     */
    @Test void sessionsBeyondTheActiveLimitWaitForATurn() throws Exception {
        Config.Limits limits = new Config.Limits(1000, 1 << 20, 10, 10, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofMinutes(5), 100, 100).withMaxActiveSessions(2);
        try (Gateway g = start(limits)) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            // One at a time, each greeted or waiting before the next connects: the order of arrival is the test's.
            try (SmtpTestClient a = SmtpTestClient.connect(mx); SmtpTestClient b = connectGreeted(mx, a);
                 java.net.Socket c = new java.net.Socket(mx.getAddress(), mx.getPort())) {
                assertThat(b.read().code()).isEqualTo(220);
                c.setSoTimeout(700);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> line(c))
                        .isInstanceOf(java.net.SocketTimeoutException.class);
                try (java.net.Socket d = new java.net.Socket(mx.getAddress(), mx.getPort())) {
                d.setSoTimeout(700);
                assertThat(a.command("QUIT").code()).isEqualTo(221);
                c.setSoTimeout(5000);
                assertThat(line(c)).startsWith("220 ");
                // d came after c: still waiting while b and c are served
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> line(d))
                        .isInstanceOf(java.net.SocketTimeoutException.class);
                assertThat(b.command("QUIT").code()).isEqualTo(221);
                d.setSoTimeout(5000);
                assertThat(line(d)).startsWith("220 ");
                }
            }
        }
    }

    /** Reads {@code first}'s greeting, then connects another client (its greeting left to the caller). */
    private static SmtpTestClient connectGreeted(InetSocketAddress mx, SmtpTestClient first) throws Exception {
        assertThat(first.read().code()).isEqualTo(220);
        return SmtpTestClient.connect(mx);
    }

    /** One line from a raw socket, byte by byte (nothing buffered past it, and a read timeout leaves no state). */
    private static String line(java.net.Socket s) throws java.io.IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = s.getInputStream().read()) >= 0 && c != '\n'; ) b.append((char) c);
        return b.toString();
    }

    /** A connection still waiting for a turn when the gateway stops is closed, not left hanging. */
    @Test void waitingConnectionsAreClosedWhenTheGatewayStops() throws Exception {
        Config.Limits limits = new Config.Limits(1000, 1 << 20, 10, 10, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofMinutes(5), 100, 100).withMaxActiveSessions(1);
        Gateway g = start(limits);
        InetSocketAddress mx = g.boundAddresses().getFirst();
        try (SmtpTestClient a = SmtpTestClient.connect(mx)) {
            // a holds the one turn before w arrives: two connections made at once may be served in either order
            assertThat(a.read().code()).isEqualTo(220);
            try (java.net.Socket w = new java.net.Socket(mx.getAddress(), mx.getPort())) {
                w.setSoTimeout(10_000);
                Thread.sleep(200); // accepted and waiting
                g.close();
                int first = w.getInputStream().read();
                if (first >= 0) { // the stopping gateway may say 421 first; then the connection ends
                    byte[] rest = w.getInputStream().readAllBytes();
                    assertThat((char) first + new String(rest, java.nio.charset.StandardCharsets.US_ASCII))
                            .startsWith("421");
                }
            }
        }
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
