package dev.postern.deadline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The deadline mechanism on real loopback sockets: a peer that never reads, and one that does. */
class DeadlineOutputStreamTest {
    private final IoWatchdog watchdog = new IoWatchdog("test-watchdog", Duration.ofMillis(20));

    @org.junit.jupiter.api.AfterEach void stop() {
        watchdog.close();
    }


    /** A connected pair on loopback; the accepted side has a tiny receive buffer and is never read. */
    record Pair(Socket client, Socket server) implements AutoCloseable {
        static Pair open() throws IOException {
            try (ServerSocket listener = new ServerSocket()) {
                listener.setReceiveBufferSize(4096);
                listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                return new Pair(client, listener.accept());
            }
        }

        @Override public void close() throws IOException {
            client.close();
            server.close();
        }
    }

    @Test void aWriteToAPeerThatStopsReadingEndsAtTheDeadline() throws Exception {
        try (Pair p = Pair.open()) {
            Duration limit = Duration.ofMillis(500);
            OutputStream out = new DeadlineOutputStream(p.client().getOutputStream(), watchdog.watch(p.client()),
                    () -> limit);
            byte[] block = new byte[64 * 1024];
            long start = System.nanoTime();
            assertThatThrownBy(() -> {
                for (int i = 0; i < 1000; i++) out.write(block); // 64 MB: more than any socket buffer holds
            }).isInstanceOf(DeadlineOutputStream.WriteTimeoutException.class)
                    .hasMessage("write timed out after 0.5 s (the peer stopped reading)");
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).isGreaterThanOrEqualTo(limit).isLessThan(Duration.ofSeconds(5));
            assertThat(p.client().isClosed()).isTrue();
        }
    }

    @Test void writesThatProgressAreNeverCutEvenWhenTheirSumExceedsTheLimit() throws Exception {
        try (Pair p = Pair.open()) {
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    p.server().getInputStream().transferTo(OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                    // closed at the end
                }
            });
            OutputStream out = new DeadlineOutputStream(p.client().getOutputStream(), watchdog.watch(p.client()),
                    () -> Duration.ofMillis(300));
            long end = System.nanoTime() + Duration.ofMillis(900).toNanos();
            while (System.nanoTime() < end) {
                out.write(new byte[1024]);
                Thread.sleep(5);
            }
            out.flush();
            assertThat(p.client().isClosed()).isFalse(); // each write was disarmed in time
            p.client().shutdownOutput();
            reader.join(5000);
        }
    }
}
