package dev.postern.testkit;

import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Debian's pebble (Let's Encrypt's ACME test server, /usr/bin/pebble), started on loopback with a config of its own:
 * its HTTPS certificate from a CA made here ({@link #caFile()}, for {@code [acme] trust}), names resolved through
 * {@code dnsServer} (a {@code TestDnsServer}), challenges validated for real (PEBBLE_VA_ALWAYS_VALID unset) against
 * {@link #httpPort()} and {@link #tlsPort()}, certificates valid for {@code validity}. Its output is kept
 * ({@link #log()}).
 */
public final class Pebble implements AutoCloseable {
    public static final Path BINARY = Path.of("/usr/bin/pebble");

    private final Process process;
    private final int acmePort;
    private final int managementPort;
    private final int httpPort;
    private final int tlsPort;
    private final Path caFile;
    private final HttpClient http;
    private final List<String> log = new CopyOnWriteArrayList<>();

    private Pebble(Process process, int acmePort, int managementPort, int httpPort, int tlsPort, Path caFile,
                   HttpClient http) {
        this.process = process;
        this.acmePort = acmePort;
        this.managementPort = managementPort;
        this.httpPort = httpPort;
        this.tlsPort = tlsPort;
        this.caFile = caFile;
        this.http = http;
    }

    public static boolean installed() {
        return Files.isExecutable(BINARY);
    }

    /** Starts pebble in {@code dir} and waits until its directory answers. */
    public static Pebble start(Path dir, InetSocketAddress dnsServer, Duration validity) throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Pebble HTTPS test CA", Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        KeyMaterial https = Certificates.issue(ca, List.of("127.0.0.1", "localhost"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(1));
        Path caFile = dir.resolve("pebble-https-ca.pem");
        Files.writeString(caFile, Pem.certificate(ca.leaf()));
        Pem.write(https, dir.resolve("pebble-https.crt"), dir.resolve("pebble-https.key"));
        int acme = freePort(), management = freePort(), httpPort = freePort(), tlsPort = freePort();
        Files.writeString(dir.resolve("pebble.json"), """
                {"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d",
                  "certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d,
                  "ocspResponderURL": "", "externalAccountBindingRequired": false,
                  "certificateValidityPeriod": %d}}
                """.formatted(acme, management, dir.resolve("pebble-https.crt"), dir.resolve("pebble-https.key"),
                httpPort, tlsPort, validity.toSeconds()));
        ProcessBuilder pb = new ProcessBuilder(BINARY.toString(), "-config", dir.resolve("pebble.json").toString(),
                "-dnsserver", dnsServer.getHostString() + ":" + dnsServer.getPort())
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("PEBBLE_VA_NOSLEEP", "1"); // no random 0-15 s sleeps before validation
        pb.environment().remove("PEBBLE_VA_ALWAYS_VALID"); // real challenge validation
        pb.environment().put("PEBBLE_AUTHZREUSE", "0"); // every order proves its names again
        Pebble p = new Pebble(pb.start(), acme, management, httpPort, tlsPort, caFile, client(caFile));
        Thread.ofVirtual().name("pebble-output").start(p::drain);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                if (p.get(p.directory()).statusCode() == 200) return p;
            } catch (IOException e) {
                if (!p.process.isAlive() || System.nanoTime() > end) {
                    p.close();
                    throw new IOException("pebble did not start: " + String.join("\n", p.log), e);
                }
                Thread.sleep(100);
            }
        }
    }

    private void drain() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) log.add(line);
        } catch (IOException e) {
            // the process ended
        }
    }

    /** The ACME directory URL. */
    public URI directory() { return URI.create("https://127.0.0.1:" + acmePort + "/dir"); }

    /** The CA of pebble's own HTTPS certificate ({@code [acme] trust}). */
    public Path caFile() { return caFile; }

    /** The port pebble's HTTP-01 validation connects to. */
    public int httpPort() { return httpPort; }

    /** The port pebble's TLS-ALPN-01 validation connects to. */
    public int tlsPort() { return tlsPort; }

    /** Pebble's output so far. */
    public List<String> log() { return List.copyOf(log); }

    /** The root of the certificates pebble issues (made anew at each start), from its management interface. */
    public X509Certificate root() throws Exception {
        HttpResponse<String> r = get(URI.create("https://127.0.0.1:" + managementPort + "/roots/0"));
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                new java.io.ByteArrayInputStream(r.body().getBytes(StandardCharsets.US_ASCII)));
    }

    /** The JSON pebble gives for a certificate's serial (its "Status" is "Valid" or "Revoked"). */
    public String certificateStatus(X509Certificate c) throws Exception {
        return get(URI.create("https://127.0.0.1:" + managementPort + "/cert-status-by-serial/"
                + c.getSerialNumber().toString(16))).body();
    }

    private HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpClient client(Path caFile) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("ca", Pem.readCertificates(caFile).getFirst());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** A port free on 127.0.0.1 now (pebble's config needs numbers, not port 0). */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    @Override public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
    }
}
