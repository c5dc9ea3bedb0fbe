package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 13: every read and write of a session has a deadline, and the session's own deadline holds inside
 * DATA, BDAT and a command line, against clients that trickle bytes or never read what the server sends.
 */
class InboundDeadlinesTest {
    @TempDir Path data;

    private Gateway start(Duration command, Duration dataTimeout, Duration session, int perIp) throws Exception {
        Config.Limits limits = new Config.Limits(2048, 1 << 20, 10, 10, command, dataTimeout, session, 100, perIp,
                Config.Limits.DEFAULT_MAX_HOPS, Integer.MAX_VALUE);
        return Gateway.start(TestConfigs.withLimits(
                TestConfigs.gateway(data, "gw.test", Set.of("postern.test")), limits));
    }

    private static SmtpTestClient inTransaction(InetSocketAddress mx) throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(mx);
        assertThat(c.read().code()).isEqualTo(220);
        assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
        assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
        return c;
    }

    /** Sends one byte every 100 ms for {@code total}, then {@code end}; stops quietly when the server has closed. */
    private static Thread drip(SmtpTestClient c, Duration total, String end) {
        return Thread.ofVirtual().start(() -> {
            long stop = System.nanoTime() + total.toNanos();
            try {
                while (System.nanoTime() < stop) {
                    c.send("x");
                    Thread.sleep(100);
                }
                c.send(end);
            } catch (IOException | InterruptedException e) {
                // the server closed the connection: what the test wants
            }
        });
    }

    /** Files anywhere in the queue or the mailboxes: a message that got in leaves one. */
    private long storedFiles() throws IOException {
        long n = 0;
        for (String d : new String[] {"queue", "mail"}) {
            Path dir = data.resolve(d);
            if (!Files.exists(dir)) continue;
            try (Stream<Path> s = Files.walk(dir)) {
                n += s.filter(Files::isRegularFile).count();
            }
        }
        return n;
    }

    @Test void slowDripDataIsCutOffAtTheSessionDeadlineAndNothingIsQueued() throws Exception {
        try (Gateway g = start(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofMillis(1500), 10);
             SmtpTestClient c = inTransaction(g.boundAddresses().getFirst())) {
            assertThat(c.command("DATA").code()).isEqualTo(354);
            long t0 = System.nanoTime();
            // Each byte comes well within data_timeout: only the session deadline can end this. Without it the drip
            // ends after 6 s with the terminator and the message is accepted.
            Thread dripper = drip(c, Duration.ofSeconds(6), "\r\n.\r\n");
            assertThat(c.read().last()).startsWith("421 4.4.2");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
            assertThat(c.isClosedByServer()).isTrue();
            dripper.join();
            await().atMost(Duration.ofSeconds(5)).until(() -> storedFiles() == 0);
            assertThat(g.spool().list()).isEmpty();
        }
    }

    @Test void slowDripBdatIsCutOffAtTheSessionDeadline() throws Exception {
        try (Gateway g = start(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofMillis(1500), 10);
             SmtpTestClient c = inTransaction(g.boundAddresses().getFirst())) {
            c.send("BDAT 60 LAST\r\n");
            long t0 = System.nanoTime();
            Thread dripper = drip(c, Duration.ofSeconds(6), "");
            assertThat(c.read().last()).startsWith("421 4.4.2");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
            assertThat(c.isClosedByServer()).isTrue();
            dripper.join();
            await().atMost(Duration.ofSeconds(5)).until(() -> storedFiles() == 0);
        }
    }

    @Test void aCommandLineTrickledForeverMeetsTheSessionDeadline() throws Exception {
        try (Gateway g = start(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofMillis(1500), 10);
             SmtpTestClient c = SmtpTestClient.connect(g.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            c.send("EHLO ");
            long t0 = System.nanoTime();
            Thread dripper = drip(c, Duration.ofSeconds(6), "\r\n");
            assertThat(c.read().last()).startsWith("421 4.4.2");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
            dripper.join();
        }
    }

    @Test void dataTimeoutStillEndsAStalledMessage() throws Exception {
        try (Gateway g = start(Duration.ofSeconds(30), Duration.ofMillis(500), Duration.ofMinutes(5), 10);
             SmtpTestClient c = inTransaction(g.boundAddresses().getFirst())) {
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: stalled\r\n\r\nhalf a mess");
            assertThat(c.read().last()).startsWith("421 4.4.2 Timeout");
            assertThat(c.isClosedByServer()).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> storedFiles() == 0);
        }
    }

    @Test void commandTimeoutStillWorks() throws Exception {
        try (Gateway g = start(Duration.ofMillis(500), Duration.ofSeconds(30), Duration.ofMinutes(5), 10);
             SmtpTestClient c = SmtpTestClient.connect(g.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            c.send("NOOP"); // no CRLF: half a command, then silence
            assertThat(c.read().last()).startsWith("421 4.4.2 Timeout");
            assertThat(c.isClosedByServer()).isTrue();
        }
    }

    /**
     * A client that pipelines commands and never reads a reply: once the server's send buffer is full its write
     * blocks, and only the write deadline (command_timeout) ends the session and frees the address's slot.
     */
    @Test void aClientThatNeverReadsIsDisconnectedWithinTheWriteTimeout() throws Exception {
        try (Gateway g = start(Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofMinutes(5), 1)) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            Socket s = new Socket();
            s.setReceiveBufferSize(4096);
            s.connect(mx, 5000);
            floodWithoutReading(s, s.getOutputStream(), mx);
        }
    }

    @Test void aTlsClientThatNeverReadsIsDisconnectedToo() throws Exception {
        // 3 s: the handshake itself runs under command_timeout, and this machine may be busy
        try (Gateway g = start(Duration.ofSeconds(3), Duration.ofSeconds(30), Duration.ofMinutes(5), 1)) {
            InetSocketAddress submissions = g.boundAddresses().get(2);
            Socket s = new Socket();
            s.setReceiveBufferSize(4096);
            s.connect(submissions, 5000);
            SSLSocket ssl = (SSLSocket) SmtpTestClient.trustAll().getSocketFactory().createSocket(s, "localhost",
                    submissions.getPort(), true);
            ssl.startHandshake();
            floodWithoutReading(s, ssl.getOutputStream(), g.boundAddresses().getFirst());
        }
    }

    /** @param server a clear-text listener of the same gateway, to see whether the address's slot is free again */
    private static void floodWithoutReading(Socket s, OutputStream out, InetSocketAddress server) throws Exception {
        try (s) {
            byte[] ehlos = "EHLO client.test\r\n".repeat(200).getBytes(StandardCharsets.US_ASCII);
            AtomicReference<IOException> ended = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    while (true) out.write(ehlos); // each EHLO gets a reply ten times its size, never read
                } catch (IOException e) {
                    ended.set(e);
                }
            });
            // The only slot of this address is taken until the server gives up on the stuck write.
            try (SmtpTestClient other = SmtpTestClient.connect(server)) {
                assertThat(other.read().last()).startsWith("421 4.7.0");
            } catch (IOException e) {
                // refused and closed before the 421 could be read: taken, too
            }
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).until(() -> {
                try (Socket probe = new Socket()) {
                    probe.connect(server, 2000);
                    probe.setSoTimeout(2000);
                    byte[] greeting = new byte[3];
                    return probe.getInputStream().readNBytes(greeting, 0, 3) == 3
                            && new String(greeting, StandardCharsets.US_ASCII).equals("220");
                } catch (IOException e) {
                    return false;
                }
            });
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
            writer.join(Duration.ofSeconds(10));
            assertThat(ended.get()).as("the flooding client's writes fail once the server closed").isNotNull();
        }
    }

    /**
     * Inside TLS a trickle need not even complete a record: a relay between client and server passes the client's
     * bytes on one every 100 ms, so every read the server's TLS layer makes gets a byte in time and no single
     * application-level read ever returns. Only the watchdog behind the session deadline can end this.
     */
    @Test void aTrickleInsideOneTlsRecordDuringBdatMeetsTheSessionDeadline() throws Exception {
        try (Gateway g = start(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(3), 10);
             java.net.ServerSocket relay = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            InetSocketAddress mx = g.boundAddresses().getFirst();
            java.util.concurrent.atomic.AtomicBoolean drip = new java.util.concurrent.atomic.AtomicBoolean();
            Thread.ofVirtual().start(() -> {
                try (Socket fromClient = relay.accept(); Socket toServer = new Socket(mx.getAddress(), mx.getPort())) {
                    Thread back = Thread.ofVirtual().start(() -> {
                        try {
                            toServer.getInputStream().transferTo(fromClient.getOutputStream());
                        } catch (IOException ignored) {
                            // one side closed
                        }
                        try {
                            fromClient.close();
                        } catch (IOException ignored) {
                            // closing anyway
                        }
                    });
                    var in = fromClient.getInputStream();
                    var out = toServer.getOutputStream();
                    int b;
                    while ((b = in.read()) >= 0) {
                        if (drip.get()) Thread.sleep(100);
                        out.write(b);
                    }
                    back.join();
                } catch (IOException | InterruptedException ignored) {
                    // the server closed the connection
                }
            });
            long t0 = System.nanoTime();
            try (SmtpTestClient c = SmtpTestClient.connect((InetSocketAddress) relay.getLocalSocketAddress())) {
                assertThat(c.read().code()).isEqualTo(220);
                assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
                c.startTls();
                assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
                assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
                assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
                drip.set(true);
                String chunk = "Subject: drip\r\n\r\n" + "x".repeat(100) + "\r\n";
                c.send("BDAT " + chunk.length() + " LAST\r\n" + chunk); // one record, about 10 s at this pace
                try {
                    c.socket().setSoTimeout(15_000);
                    assertThat(c.read().last()).startsWith("421"); // if the server still got a word in
                } catch (IOException | RuntimeException closed) {
                    // closed without a reply: the watchdog cut the stuck read
                }
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(7));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> storedFiles() == 0);
            assertThat(g.spool().list()).isEmpty();
        }
    }
}
