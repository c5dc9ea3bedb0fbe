package dev.postern.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.testkit.Leaks;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;

/**
 * The two challenge listeners as an attacker meets them while an order is under way: the HTTP-01 one answers only a
 * known token (no other path, no traversal, no other method, a slow client holding no one up, closed at once); the
 * TLS-ALPN-01 one shows the validation certificate only to a client offering acme-tls/1 for the right name.
 */
class ChallengeListenersTest {
    static final InetSocketAddress ANY = new InetSocketAddress("127.0.0.1", 0);

    @Test void http01ServesOnlyAKnownTokenToGetAndHead() throws Exception {
        try (Http01Server s = Http01Server.start(ANY)) {
            s.put("tok-1", "tok-1.thumbprint");
            int port = s.address().getPort();
            assertThat(request(port, "GET /.well-known/acme-challenge/tok-1 HTTP/1.1\r\nHost: x\r\n\r\n"))
                    .startsWith("HTTP/1.1 200").endsWith("\r\n\r\ntok-1.thumbprint");
            assertThat(request(port, "HEAD /.well-known/acme-challenge/tok-1 HTTP/1.1\r\nHost: x\r\n\r\n"))
                    .startsWith("HTTP/1.1 200").doesNotContain("thumbprint");
            for (String path : List.of("/.well-known/acme-challenge/tok-2", "/.well-known/acme-challenge/",
                    "/.well-known/acme-challenge/../../../../etc/passwd", "/.well-known/acme-challenge/%2e%2e/tok-1",
                    "/.well-known/acme-challenge/tok-1/", "/.well-known/acme-challenge/tok-1%00", "/tok-1", "/",
                    "/etc/passwd", "/.well-known/mta-sts.txt")) {
                assertThat(request(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")).as(path)
                        .startsWith("HTTP/1.1 404").doesNotContain("thumbprint").doesNotContain("root:");
            }
            assertThat(request(port, "POST /.well-known/acme-challenge/tok-1 HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Length: 3\r\n\r\nabc")).startsWith("HTTP/1.1 405").containsIgnoringCase("\r\nAllow: GET, HEAD\r\n")
                    .doesNotContain("thumbprint");
            s.remove("tok-1");
            assertThat(request(port, "GET /.well-known/acme-challenge/tok-1 HTTP/1.1\r\nHost: x\r\n\r\n"))
                    .startsWith("HTTP/1.1 404");
        }
    }

    @Test void http01SlowClientsHoldNoOneUpAndCloseIsImmediate() throws Exception {
        Http01Server s = Http01Server.start(ANY);
        s.put("tok", "tok.thumb");
        int port = s.address().getPort();
        // slowloris: half a request line, never finished, from several connections
        List<Socket> slow = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Socket c = new Socket("127.0.0.1", port);
            c.getOutputStream().write("GET /.well-known/acme-ch".getBytes(StandardCharsets.US_ASCII));
            slow.add(c);
        }
        try {
            long t0 = System.nanoTime();
            assertThat(request(port, "GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: x\r\n\r\n"))
                    .startsWith("HTTP/1.1 200");
            // a huge header: refused or answered, never served as a token, never a hang
            String huge = "GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: x\r\nX: " + "a".repeat(2_000_000)
                    + "\r\n\r\n";
            assertThat(request(port, huge)).doesNotContain("tok.thumb");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
            long c0 = System.nanoTime();
            s.close();
            assertThat(Duration.ofNanos(System.nanoTime() - c0)).isLessThan(Duration.ofSeconds(10));
            assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(IOException.class);
        } finally {
            for (Socket c : slow) c.close();
        }
    }

    @Test void tlsAlpn01ShowsTheValidationCertificateOnlyForAcmeTlsAndTheRightName() throws Exception {
        KeyMaterial validation = Certificates.selfSigned(List.of("mx.example"), Certificates.KeyType.RSA_2048,
                Duration.ofDays(1));
        try (TlsAlpn01Server s = TlsAlpn01Server.start(ANY)) {
            s.put("mx.example", new TlsAlpn01Server.Validation(validation.key(), validation.leaf()));
            int port = s.address().getPort();
            assertThat(handshake(port, "mx.example", "acme-tls/1")).isEqualTo(validation.leaf());
            // an ordinary client (no ALPN, or another protocol), or another name: no certificate at all
            assertThatThrownBy(() -> handshake(port, "mx.example", null)).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> handshake(port, "mx.example", "http/1.1")).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> handshake(port, "other.example", "acme-tls/1")).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> handshake(port, null, "acme-tls/1")).isInstanceOf(IOException.class);
        }
    }

    /** The server's certificate of a handshake offering {@code alpn} (null: no ALPN) for {@code sni}. */
    static X509Certificate handshake(int port, String sni, String alpn) throws Exception {
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(null, new TrustManager[] {new TrustAll()}, null);
        try (SSLSocket s = (SSLSocket) c.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(15_000);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
            if (alpn != null) p.setApplicationProtocols(new String[] {alpn});
            s.setSSLParameters(p);
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    static String request(int port, String text) throws IOException {
        try (Socket c = new Socket("127.0.0.1", port)) {
            c.setSoTimeout(15_000);
            OutputStream out = c.getOutputStream();
            try {
                out.write(text.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                c.shutdownOutput();
            } catch (IOException e) {
                // the server may close on a huge request before reading it all: what it answered counts
            }
            InputStream in = c.getInputStream();
            try {
                return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            } catch (java.net.SocketException e) {
                return "(reset)";
            }
        }
    }

    static final class TrustAll implements X509TrustManager {
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
        @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
    }
}
