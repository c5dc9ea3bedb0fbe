package dev.postern.deadline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The watchdog on its own: a write to a peer that never reads ends at the deadline; a disarmed one never fires. */
class IoWatchdogTest {

    @Test void aWriteBlockedOnAPeerThatNeverReadsEndsAtTheDeadline() throws Exception {
        try (IoWatchdog watchdog = new IoWatchdog("test-watchdog", Duration.ofMillis(50));
             ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket writer = new Socket()) {
            writer.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            try (Socket peer = server.accept(); IoWatchdog.Deadline d = watchdog.watch(writer)) {
                byte[] block = new byte[64 * 1024];
                long t0 = System.nanoTime();
                d.arm(t0 + Duration.ofMillis(500).toNanos());
                assertThatThrownBy(() -> {
                    while (true) writer.getOutputStream().write(block); // the peer never reads
                }).isInstanceOf(IOException.class);
                long took = System.nanoTime() - t0;
                assertThat(d.fired()).isTrue();
                assertThat(Duration.ofNanos(took)).isBetween(Duration.ofMillis(450), Duration.ofSeconds(3));
                assertThat(peer.isClosed()).isFalse();
            }
            assertThat(watchdog.watching()).isZero();
        }
    }

    @Test void aDisarmedDeadlineDoesNotFire() throws Exception {
        try (IoWatchdog watchdog = new IoWatchdog("test-watchdog", Duration.ofMillis(20));
             ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            try (IoWatchdog.Deadline d = watchdog.watch(s)) {
                d.arm(System.nanoTime() + Duration.ofMillis(100).toNanos());
                d.disarm();
                Thread.sleep(300);
                assertThat(d.fired()).isFalse();
                assertThat(s.isClosed()).isFalse();
            }
        }
    }
}
