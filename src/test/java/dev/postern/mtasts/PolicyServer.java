package dev.postern.mtasts;

import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsContexts;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A policy host for tests: real TLS on a 127.0.0.x address (port 443 when it can be bound, as root can; else an
 * ephemeral port, handed to the fetcher through {@code https_port}), one scripted HTTP response per connection,
 * which may misbehave (redirect, oversize, drip). Records each request's first line, Host header and SNI name.
 */
public final class PolicyServer implements AutoCloseable {

    /** A test CA and the PEM file of its certificate (the {@code ca_file}). */
    public record Ca(KeyMaterial material, Path file) {
        public static Ca create(Path dir) throws Exception {
            KeyMaterial ca = Certificates.certificateAuthority("MTA-STS Test CA", Certificates.KeyType.EC_P256,
                    Duration.ofDays(2));
            Path file = dir.resolve("mta-sts-ca.pem");
            Files.writeString(file, Pem.certificate(ca.leaf()));
            return new Ca(ca, file);
        }

        public KeyMaterial issue(String... names) {
            return Certificates.issue(material, List.of(names), Certificates.KeyType.EC_P256,
                    Instant.now().minus(Duration.ofHours(1)), Duration.ofDays(1));
        }
    }

    /** Writes the whole response for one request. */
    public interface Script {
        void respond(OutputStream out) throws IOException, InterruptedException;
    }

    public record Request(String line, String host, String sni) {}

    private final SSLServerSocket socket;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private volatile Script script;
    private volatile boolean closed;

    private PolicyServer(SSLServerSocket socket) {
        this.socket = socket;
    }

    public static PolicyServer start(String ip, KeyMaterial certificate, Script script) throws IOException {
        var factory = TlsContexts.server(certificate).getServerSocketFactory();
        InetAddress address = InetAddress.ofLiteral(ip);
        ServerSocket s;
        try {
            s = factory.createServerSocket(443, 50, address);
        } catch (BindException e) {
            s = factory.createServerSocket(0, 50, address);
        }
        PolicyServer server = new PolicyServer((SSLServerSocket) s);
        server.script = script;
        Thread.ofVirtual().start(server::accept);
        return server;
    }

    /** A 200 text/plain response with Content-Length. */
    public static Script ok(String policy) {
        return raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                + policy.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + policy);
    }

    public static Script raw(String response) {
        return out -> out.write(response.getBytes(StandardCharsets.UTF_8));
    }

    public static String policy(String mode, long maxAge, String... mx) {
        StringBuilder b = new StringBuilder("version: STSv1\r\nmode: " + mode + "\r\n");
        for (String m : mx) b.append("mx: ").append(m).append("\r\n");
        return b.append("max_age: ").append(maxAge).append("\r\n").toString();
    }

    public void script(Script s) { this.script = s; }

    public int port() { return socket.getLocalPort(); }

    public List<Request> requests() { return List.copyOf(requests); }

    private void accept() {
        while (!closed) {
            Socket c;
            try {
                c = socket.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> serve((SSLSocket) c));
        }
    }

    private void serve(SSLSocket c) {
        try (c) {
            c.setSoTimeout(10_000);
            c.startHandshake();
            String sni = ((ExtendedSSLSession) c.getSession()).getRequestedServerNames().stream()
                    .filter(n -> n instanceof SNIHostName).map(n -> ((SNIHostName) n).getAsciiName()).findFirst()
                    .orElse(null);
            InputStream in = c.getInputStream();
            String line = line(in), host = null;
            for (String h = line(in); !h.isEmpty(); h = line(in)) {
                if (h.regionMatches(true, 0, "Host:", 0, 5)) host = h.substring(5).strip();
            }
            requests.add(new Request(line, host, sni));
            OutputStream out = c.getOutputStream();
            script.respond(out);
            out.flush();
        } catch (IOException | InterruptedException e) {
            // the client gave up or the handshake failed: that is what some tests want
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) b.write(c);
        return b.toString(StandardCharsets.ISO_8859_1).strip();
    }

    @Override public void close() throws IOException {
        closed = true;
        socket.close();
    }
}
