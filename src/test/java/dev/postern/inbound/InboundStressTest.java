package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17, floods: idle or trickling connections that hold every turn ({@code max_active_sessions}) must not keep a
 * legitimate client waiting in the line for ever. While connections wait for a turn, a session that has waited
 * {@code stress_timeout} for a command, or whose command line or message content comes too slowly, is answered
 * {@code 421 4.4.2} and closed (Postfix's "stress" timeouts), whatever {@code command_timeout} says.
 */
class InboundStressTest {
    private static final int ACTIVE = 4;
    private static final Duration STRESS = Duration.ofMillis(500);

    @TempDir Path data;

    /** command_timeout 5 minutes and session_timeout 30: only the stress timeout can free a turn within the test. */
    private Gateway start() throws Exception {
        Config.Limits limits = new Config.Limits(2048, 1 << 20, 10, 10, Duration.ofMinutes(5), Duration.ofMinutes(5),
                Duration.ofMinutes(30), 200, 100).withMaxActiveSessions(ACTIVE).withStressTimeout(STRESS);
        return Gateway.start(TestConfigs.withLimits(
                TestConfigs.gateway(data, "gw.test", Set.of("postern.test")), limits));
    }

    private static Socket raw(InetSocketAddress mx, String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(mx, 5000);
        return s;
    }

    @Test void idleConnectionsHoldingEveryTurnDoNotStarveALegitimateClient() throws Exception {
        try (Gateway g = start()) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            List<Socket> idle = new ArrayList<>();
            try {
                // three times as many silent connections as turns: ACTIVE greeted, the rest waiting in the line
                for (int i = 0; i < 3 * ACTIVE; i++) idle.add(raw(mx, "127.0.0.2"));
                Thread.sleep(100); // all accepted and in line before the legitimate client
                long t0 = System.nanoTime();
                try (SmtpTestClient c = SmtpTestClient.connect(mx, InetAddress.getByName("127.0.0.3"))) {
                    assertThat(c.read().code()).isEqualTo(220);
                    long greeted = System.nanoTime() - t0;
                    assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
                    assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
                    assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
                    assertThat(c.command("DATA").code()).isEqualTo(354);
                    assertThat(c.command("Subject: hi\r\n\r\nhello\r\n.").code()).isEqualTo(250);
                    // three rounds of idle sessions cut at the stress timeout, then this one: well within 10 s
                    assertThat(Duration.ofNanos(greeted)).isLessThan(Duration.ofSeconds(10));
                }
                // each idle one that was greeted was told why it was cut
                for (Socket s : idle.subList(0, ACTIVE)) {
                    s.setSoTimeout(5000);
                    String text = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                    assertThat(text).startsWith("220 ").contains("\r\n421 4.4.2 ");
                }
            } finally {
                for (Socket s : idle) s.close();
            }
        }
    }

    /** A trickle inside a command line (a byte every 100 ms, well inside any per-read timeout) is cut too. */
    @Test void tricklingInsideACommandIsCutWhileOthersWait() throws Exception {
        try (Gateway g = start()) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            List<Thread> drips = new ArrayList<>();
            List<Socket> slow = new ArrayList<>();
            try {
                for (int i = 0; i < ACTIVE; i++) {
                    Socket s = raw(mx, "127.0.0.4");
                    slow.add(s);
                    s.setSoTimeout(5000);
                    assertThat(line(s.getInputStream())).startsWith("220 ");
                    drips.add(drip(s, "EHLO "));
                }
                assertMessageGetsThrough(mx, "127.0.0.5");
                // the legitimate client needed one turn; a line kept waiting gets every slow one cut
                slow.addAll(waiting(mx, ACTIVE, "127.0.0.9"));
                for (Socket s : slow.subList(0, ACTIVE)) {
                    assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                            .startsWith("421 4.4.2 ");
                }
            } finally {
                for (Socket s : slow) s.close();
                for (Thread t : drips) t.join(5000);
            }
        }
    }

    /** A trickle of message content (about 10 bytes a second) is cut while others wait; the message is not queued. */
    @Test void tricklingInsideDataIsCutWhileOthersWait() throws Exception {
        try (Gateway g = start()) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            List<Thread> drips = new ArrayList<>();
            List<SmtpTestClient> slow = new ArrayList<>();
            List<Socket> line = new ArrayList<>();
            try {
                for (int i = 0; i < ACTIVE; i++) {
                    SmtpTestClient c = SmtpTestClient.connect(mx, InetAddress.getByName("127.0.0.6"));
                    slow.add(c);
                    assertThat(c.read().code()).isEqualTo(220);
                    assertThat(c.command("EHLO slow.test").code()).isEqualTo(250);
                    assertThat(c.command("MAIL FROM:<a@slow.test>").code()).isEqualTo(250);
                    assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
                    assertThat(c.command("DATA").code()).isEqualTo(354);
                    drips.add(Thread.ofVirtual().start(() -> {
                        try {
                            for (int n = 0; n < 600; n++) {
                                c.send("x");
                                Thread.sleep(100);
                            }
                        } catch (IOException | InterruptedException e) {
                            // cut: what the test wants
                        }
                    }));
                }
                assertMessageGetsThrough(mx, "127.0.0.7");
                // the legitimate client needed one turn; a line kept waiting gets every slow one cut
                line.addAll(waiting(mx, ACTIVE, "127.0.0.9"));
                for (SmtpTestClient c : slow) assertThat(c.read().last()).startsWith("421 4.4.2 ");
                assertThat(storedMentioning("slow.test")).isZero(); // no half message queued or delivered
            } finally {
                for (SmtpTestClient c : slow) c.close();
                for (Socket s : line) s.close();
                for (Thread t : drips) t.join(5000);
            }
        }
    }

    /**
     * Connections to the implicit-TLS listener that never send a ClientHello (a TLS slowloris: the handshake waits
     * under command_timeout) are cut too, without a reply (there is no TLS to say it in).
     */
    @Test void stalledTlsHandshakesAreCutWhileOthersWait() throws Exception {
        try (Gateway g = start()) {
            InetSocketAddress submissions = g.boundAddresses().get(2);
            List<Socket> stalled = waiting(submissions, ACTIVE, "127.0.0.10");
            try {
                Thread.sleep(100); // all four hold a turn, mid-handshake
                assertMessageGetsThrough(g.boundAddresses().getFirst(), "127.0.0.11");
                stalled.addAll(waiting(g.boundAddresses().getFirst(), ACTIVE, "127.0.0.9"));
                for (Socket s : stalled.subList(0, ACTIVE)) {
                    s.setSoTimeout(5000);
                    assertThat(s.getInputStream().read()).isEqualTo(-1); // closed, nothing said
                }
            } finally {
                for (Socket s : stalled) s.close();
            }
        }
    }

    /** Without a line waiting, a slow client keeps its command_timeout: the stress timeout is not the rule. */
    @Test void withoutAWaitingLineAnIdleSessionKeepsItsCommandTimeout() throws Exception {
        try (Gateway g = start()) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            try (SmtpTestClient c = SmtpTestClient.connect(mx, InetAddress.getByName("127.0.0.8"))) {
                assertThat(c.read().code()).isEqualTo(220);
                Thread.sleep(4 * STRESS.toMillis());
                assertThat(c.command("NOOP").code()).isEqualTo(250);
            }
        }
    }

    /** Files in the queue or the mailboxes that mention {@code text} (a message that got in leaves one). */
    private long storedMentioning(String text) throws IOException {
        long n = 0;
        for (String d : new String[] {"queue", "mail"}) {
            Path dir = data.resolve(d);
            if (!Files.exists(dir)) continue;
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path f : s.filter(Files::isRegularFile).toList()) {
                    if (Files.readString(f, StandardCharsets.ISO_8859_1).contains(text)) n++;
                }
            }
        }
        return n;
    }

    private static void assertMessageGetsThrough(InetSocketAddress mx, String from) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(mx, InetAddress.getByName(from))) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            assertThat(c.command("Subject: hi\r\n\r\nhello\r\n.").code()).isEqualTo(250);
        }
    }

    /** {@code n} silent connections from {@code from}: with every turn taken, they wait in the line. */
    private static List<Socket> waiting(InetSocketAddress mx, int n, String from) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < n; i++) sockets.add(raw(mx, from));
        return sockets;
    }

    /** Sends {@code text} a byte every 100 ms (then repeats it) until the server closes the connection. */
    private static Thread drip(Socket s, String text) {
        return Thread.ofVirtual().start(() -> {
            try {
                for (int n = 0; n < 600; n++) {
                    s.getOutputStream().write(text.charAt(n % text.length()));
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException e) {
                // cut: what the test wants
            }
        });
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) b.append((char) c);
        return b.toString();
    }
}
