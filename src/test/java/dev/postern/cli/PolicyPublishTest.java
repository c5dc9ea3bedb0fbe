package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.TestDnsServer;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicyFetcher;
import dev.postern.mtasts.PolicyPublisher;
import dev.postern.mtasts.PolicyServer;
import dev.postern.mtasts.PublishedPolicy;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.ReloadingServerContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code [mta_sts.publish]}: a gateway serving its MTA-STS policy over real TLS on loopback, fetched by Postern's own
 * client through a real DNS server, equal to what {@code postern mta-sts policy} prints for the same config.
 */
class PolicyPublishTest {
    private static final String IP = "127.0.0.63";

    @TempDir Path dir;
    private TestDnsServer dns;
    private PolicyServer.Ca ca;
    private int httpsPort;
    private int smtpPort;

    @BeforeEach void setUp() throws Exception {
        dns = TestDnsServer.start().ttl(0);
        dns.a("mta-sts.example.com", IP);
        dns.a("mta-sts.example.org", IP);
        dns.a("mta-sts.other.example", IP);
        ca = PolicyServer.Ca.create(dir);
        Pem.writePrivate(ca.issue("mta-sts.example.com", "mta-sts.example.org", "mta-sts.other.example"),
                dir.resolve("sts.crt"), dir.resolve("sts.key"));
        httpsPort = freePort();
        smtpPort = freePort();
    }

    @AfterEach void tearDown() { dns.close(); }

    private Path config(String publish) throws IOException {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, """
                hostname = "mx.example.com"
                data_dir = "data"
                local_domains = ["example.com"]
                relay_domains = ["example.org"]

                [[listeners]]
                address = "%s:%d"
                role = "mx"

                [mta_sts]
                ca_file = "%s"
                https_port = %d

                [mta_sts.publish]
                %s
                """.formatted(IP, smtpPort, ca.file(), httpsPort, publish));
        return f;
    }

    @Test void servesWhatTheCommandPrints() throws Exception {
        Path f = config("""
                listen = "%s:%d"
                certificate = "sts.crt"
                key = "sts.key"
                mode = "enforce"
                max_age = "1d"
                mx = ["mx.example.com", "*.backup.example.com"]
                """.formatted(IP, httpsPort));
        Config config = ConfigLoader.load(f);
        Cli.Result printed = Cli.run("mta-sts", "policy", "--config", f.toString());
        assertThat(printed.exit()).as(printed.toString()).isZero();
        try (Gateway gw = Gateway.start(config);
             PolicyFetcher fetcher = new PolicyFetcher(new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2)),
                     new PolicyFetcher.Settings(ca.file(), Duration.ofSeconds(2), Duration.ofSeconds(5), httpsPort))) {
            Policy fetched = fetcher.fetch("example.com");
            assertThat(fetched.mode()).isEqualTo(Policy.Mode.ENFORCE);
            assertThat(fetched.mx()).containsExactly("mx.example.com", "*.backup.example.com");
            assertThat(fetched.maxAge()).isEqualTo(86400);
            assertThat(fetched.text()).contains("\r\n");
            assertThat(printed.out()).contains(fetched.text().replace("\r\n", "\n"));
            assertThat(fetcher.fetch("example.org").text()).isEqualTo(fetched.text());

            // another Host (a name the certificate has, but not a domain of this gateway), another path, POST
            assertThatThrownBy(() -> fetcher.fetch("other.example")).hasMessageContaining("404");
            assertThat(request("GET /.well-known/other.txt", "mta-sts.example.com")).startsWith("HTTP/1.1 404");
            assertThat(request("GET /", "mta-sts.example.com")).startsWith("HTTP/1.1 404");
            assertThat(request("POST /.well-known/mta-sts.txt", "mta-sts.example.com")).startsWith("HTTP/1.1 405")
                    .containsIgnoringCase("allow: GET, HEAD");
            String head = request("HEAD /.well-known/mta-sts.txt", "MTA-STS.Example.ORG.:" + httpsPort);
            assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("content-type: text/plain")
                    .endsWith("\r\n\r\n");
        }
    }

    @Test void defaultsAreTheCommandsAndTheTlsCertificate() throws Exception {
        // no certificate of its own: the [tls] one (here the generated self-signed one, so only a raw request)
        Path f = config("listen = \"%s:%d\"".formatted(IP, httpsPort));
        Cli.Result printed = Cli.run("mta-sts", "policy", "--config", f.toString());
        assertThat(printed.out()).contains("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 604800\n");
        try (Gateway gw = Gateway.start(ConfigLoader.load(f))) {
            String r = request("GET /.well-known/mta-sts.txt", "mta-sts.example.com", trustAll());
            assertThat(r).startsWith("HTTP/1.1 200")
                    .endsWith("\r\n\r\nversion: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 604800\r\n");
        }
    }

    @Test void configProblemsAreOneLine() throws Exception {
        Path f = config("listen = \"nowhere\"\nmode = \"strict\"\nmx = [\"not a host\"]\nmax_age = \"400d\"\n"
                + "certificate = \"sts.crt\"\nlistne = 1");
        Cli.Result r = Cli.run("mta-sts", "policy", "--config", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(
                "mta_sts.publish.listen: expected host:port, got \"nowhere\"",
                "mta_sts.publish.mode: expected enforce, testing or none, got \"strict\"",
                "mta_sts.publish.mx[0]: expected a host name like mx.example.com or a pattern like *.example.com, "
                        + "got \"not a host\"",
                "mta_sts.publish.max_age: expected a duration from 1s to 365d, got \"400d\"",
                "mta_sts.publish: expected both certificate and key or neither (the [tls] ones), got only certificate",
                "mta_sts.publish.listne: unknown key (did you mean \"listen\"?)");
        assertThat(r.err()).doesNotContain("Exception");
    }

    @Test void aRenewedCertificateIsServedWithoutARestart() throws Exception {
        Path crt = dir.resolve("sts.crt"), key = dir.resolve("sts.key");
        ReloadingServerContext tls = ReloadingServerContext.load(crt, key, Duration.ZERO);
        PublishedPolicy policy = new PublishedPolicy(Policy.Mode.TESTING, List.of("mx.example.com"), 3600);
        try (PolicyPublisher publisher = new PolicyPublisher(new InetSocketAddress(IP, httpsPort), tls, policy,
                List.of("example.com"))) {
            publisher.start();
            X509Certificate first = served();
            KeyMaterial renewed = ca.issue("mta-sts.example.com");
            Path newCrt = dir.resolve("new.crt"), newKey = dir.resolve("new.key");
            Pem.writePrivate(renewed, newCrt, newKey);
            Files.move(newKey, key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.move(newCrt, crt, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(served()).isNotEqualTo(first).isEqualTo(renewed.leaf());
            assertThat(request("GET /.well-known/mta-sts.txt", "mta-sts.example.com"))
                    .endsWith("\r\n\r\n" + policy.body());
            // hardened as the SMTP listeners: a CBC suite, which the JDK's client would take, is refused
            try (SSLSocket s = (SSLSocket) trustAll().getSocketFactory().createSocket(InetAddress.getByName(IP),
                    httpsPort)) {
                s.setEnabledProtocols(new String[] {"TLSv1.2"});
                s.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"});
                assertThatThrownBy(s::startHandshake).isInstanceOf(javax.net.ssl.SSLException.class);
            }
        }
    }

    /** The certificate the server presents now. */
    private X509Certificate served() throws Exception {
        try (SSLSocket s = (SSLSocket) trustAll().getSocketFactory().createSocket(InetAddress.getByName(IP),
                httpsPort)) {
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    /** One request over TLS trusting the test CA; the whole response. */
    private String request(String line, String host) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.material().leaf());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return request(line, host, context);
    }

    private SSLContext trustAll() {
        return dev.postern.tls.TlsContexts.opportunisticClient();
    }

    private String request(String line, String host, SSLContext context) throws Exception {
        try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getByName(IP), httpsPort)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write((line + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(IP, 0));
            return s.getLocalPort();
        }
    }
}
