package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Conscrypt server sockets made by {@link TlsContexts#wrapServer} borrow their direct buffers from
 * {@link DirectBufferPool#SERVER}: over real TLS on loopback, data of every record size arrives intact both ways, and
 * the buffers come back to the pool when the connections close, so later connections reuse them.
 */
class DirectBufferPoolTest {
    private static final KeyMaterial KEY = Certificates.selfSigned(List.of("pool.test"), Certificates.KeyType.EC_P256,
            Duration.ofDays(1));

    @Test void echoesDataOfEverySizeThroughPooledBuffersAndGivesThemBack() throws Exception {
        SSLContext server = TlsContexts.server(List.of(KEY), TlsProviders.conscrypt());
        SSLContext client = TlsContexts.opportunisticClient(); // the JDK's, an independent implementation
        byte[] data = new byte[300_000];
        new Random(7).nextBytes(data);
        try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            for (int round = 0; round < 3; round++) {
                CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> echo(listener, server));
                try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                     SSLSocket tls = TlsContexts.wrapClient(client, plain, "pool.test", listener.getLocalPort())) {
                    tls.startHandshake();
                    OutputStream out = tls.getOutputStream();
                    DataInputStream in = new DataInputStream(tls.getInputStream());
                    byte[] back = new byte[data.length];
                    // Writes of 1 byte up to more than a record, each read back before the next.
                    int off = 0;
                    for (int size = 1; off < data.length; size = size * 3 + 1) {
                        int n = Math.min(size, data.length - off);
                        out.write(data, off, n);
                        out.flush();
                        in.readFully(back, off, n);
                        off += n;
                    }
                    assertThat(Arrays.equals(back, data)).isTrue();
                }
                echo.get(10, TimeUnit.SECONDS);
                // Nothing borrowed for good: the engine's buffers after each operation, the socket's at its close.
                assertThat(DirectBufferPool.SERVER.idle()).isBetween(1, 2);
            }
        }
    }

    @Test void aRequestLargerThanThePooledSizeGetsABufferOfItsOwn() {
        DirectBufferPool pool = new DirectBufferPool(4);
        var big = pool.allocateDirectBuffer(DirectBufferPool.SIZE + 1);
        assertThat(big.nioBuffer().capacity()).isEqualTo(DirectBufferPool.SIZE + 1);
        var small = pool.allocateDirectBuffer(100);
        assertThat(small.nioBuffer().capacity()).isEqualTo(100);
        assertThat(small.nioBuffer().isDirect()).isTrue();
        small.release();
        small.release(); // twice is once
        big.release();
        assertThat(pool.idle()).isEqualTo(1);
        var again = pool.allocateDirectBuffer(16_709);
        assertThat(again.nioBuffer().capacity()).isEqualTo(16_709);
        assertThat(again.nioBuffer().position()).isZero();
        assertThat(pool.idle()).isZero();
    }

    @Test void keepsNoMoreThanItsLimit() {
        DirectBufferPool pool = new DirectBufferPool(2);
        var a = pool.allocateDirectBuffer(10);
        var b = pool.allocateDirectBuffer(10);
        var c = pool.allocateDirectBuffer(10);
        a.release();
        b.release();
        c.release();
        assertThat(pool.idle()).isEqualTo(2);
    }

    private static void echo(ServerSocket listener, SSLContext context) {
        try (Socket accepted = listener.accept();
             SSLSocket tls = TlsContexts.wrapServer(context, accepted)) {
            tls.startHandshake();
            InputStream in = tls.getInputStream();
            OutputStream out = tls.getOutputStream();
            byte[] buf = new byte[40_000];
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
