package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * A Conscrypt server socket as the listeners make it ({@link TlsContexts#wrapServer}) carries 200 KB each way intact:
 * read in one go (a message's DATA), written in 8 KiB pieces (SmtpOutput's buffer), through {@link DirectBufferPool}'s
 * buffers. (Conscrypt 2.9's engine socket fails a single 200 KB write() with "Unexpected engine result BUFFER_OVERFLOW",
 * with or without a buffer allocator; Postern's writes go through an 8 KiB buffer.)
 */
class ConscryptLargeTransferTest {
    @Test void twoHundredKilobytesEachWay() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("localhost"), Certificates.KeyType.EC_P256,
                Duration.ofDays(1));
        SSLContext server = TlsContexts.server(List.of(material), TlsProviders.conscrypt());
        SSLContext client = TlsContexts.opportunisticClient();
        byte[] payload = new byte[200_000];
        for (int i = 0; i < payload.length; i++) payload[i] = (byte) (i * 31);
        long usesBefore = DirectBufferPool.SHARED.uses();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> {
                try (Socket plain = listener.accept(); SSLSocket tls = TlsContexts.wrapServer(server, plain)) {
                    assertThat(TlsProviders.isConscrypt(tls)).isTrue();
                    byte[] got = new byte[payload.length];
                    new DataInputStream(tls.getInputStream()).readFully(got);
                    // in 8 KiB writes, as SmtpOutput's buffer does: one 200 KB write() fails in Conscrypt 2.9
                    for (int off = 0; off < got.length; off += 8192) {
                        tls.getOutputStream().write(got, off, Math.min(8192, got.length - off));
                    }
                    tls.getOutputStream().flush();
                    return got;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                 SSLSocket tls = TlsContexts.wrapClient(client, plain, "localhost", listener.getLocalPort())) {
                OutputStream out = tls.getOutputStream();
                out.write(payload);
                out.flush();
                byte[] back = new byte[payload.length];
                try {
                    new DataInputStream(tls.getInputStream()).readFully(back);
                } catch (EOFException e) {
                    echoed.join(); // the server's failure, if it failed
                    throw e;
                }
                assertThat(back).isEqualTo(payload);
            }
            assertThat(echoed.get()).isEqualTo(payload);
        }
        // at least 13 records each way (16 KiB each), every one through a pooled buffer; few kept afterwards
        assertThat(DirectBufferPool.SHARED.uses() - usesBefore).isGreaterThanOrEqualTo(26);
        assertThat(DirectBufferPool.SHARED.free()).isBetween(1, 64);
    }
}
