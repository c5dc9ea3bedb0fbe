package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.entry;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueState;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 13 (outbound): SO_TIMEOUT bounds reads only; a next hop that answers DATA with 354 and then stops
 * reading must not hold a delivery: the watchdog closes the connection after data_timeout without progress.
 */
class WriteDeadlineTest {
    @TempDir Path data;

    /**
     * A next hop with a tiny receive buffer that speaks just enough SMTP to get to 354, then never reads again.
     * Records when each 354 went out.
     */
    static final class StopsReading implements AutoCloseable {
        final ServerSocket listener;
        final List<Instant> dataStarted = new CopyOnWriteArrayList<>();
        final Set<Socket> open = ConcurrentHashMap.newKeySet();

        StopsReading() throws IOException {
            listener = new ServerSocket();
            listener.setReceiveBufferSize(4096); // inherited by accepted sockets; set before bind
            listener.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            Thread.ofVirtual().start(this::serve);
        }

        int port() { return listener.getLocalPort(); }

        private void serve() {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    open.add(s);
                    Thread.ofVirtual().start(() -> talk(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void talk(Socket s) {
            try {
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.US_ASCII));
                OutputStream out = s.getOutputStream();
                out.write("220 stuck.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
                String line;
                while ((line = in.readLine()) != null) {
                    String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(java.util.Locale.ROOT) : line;
                    String reply = switch (verb) {
                        case "EHLO", "HELO" -> "250 stuck.test";
                        case "DATA" -> "354 go ahead";
                        case "QUIT" -> "221 bye";
                        default -> "250 ok";
                    };
                    out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    if (verb.equals("DATA")) {
                        dataStarted.add(Instant.now());
                        Thread.sleep(Duration.ofMinutes(5)); // and never read again
                    }
                    if (verb.equals("QUIT")) return;
                }
            } catch (IOException | InterruptedException e) {
                // the client gave up or the test ended
            }
        }

        @Override public void close() throws IOException {
            listener.close();
            for (Socket s : open) s.close();
        }
    }

    @Test void aNextHopThatStopsReadingDuringDataIsLeftAfterTheDataTimeout() throws Exception {
        Duration dataTimeout = Duration.ofSeconds(2);
        try (StopsReading hop = new StopsReading()) {
            Config config = Outbound.withDelivery(Outbound.relayingTo(data, hop.port(), "b.example"), 20, 5,
                    Duration.ofSeconds(30), dataTimeout);
            try (Gateway gw = Gateway.start(config)) {
                // 6 MB: far more than the socket buffers on both ends can hold.
                String big = ("x".repeat(76) + "\r\n").repeat(80_000);
                String id = submit(gw, "alice@a.example", List.of("bob@b.example"), body("stuck", big));

                Envelope env = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() >= 1);
                Instant ended = env.recipients().getFirst().lastAttempt();
                Instant started = hop.dataStarted.getFirst();
                // Ended about data_timeout after the last progress, not never (before: blocked for good).
                assertThat(Duration.between(started, ended)).isLessThan(dataTimeout.plusSeconds(3));
                assertThat(env.recipients().getFirst().status()).isEqualTo(Envelope.Recipient.Status.PENDING);
                assertThat(env.recipients().getFirst().lastResult()).startsWith("451 4.4.1 lost connection with "
                        + "127.0.0.1[127.0.0.1]:" + hop.port() + " while sending message content: write timed out "
                        + "after 2.0 s (the peer stopped reading)");
                assertThat(entry(gw, id).orElseThrow().state()).isEqualTo(QueueState.DEFERRED);
            }
        }
    }
}
