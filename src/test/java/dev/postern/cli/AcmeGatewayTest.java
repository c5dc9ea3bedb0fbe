package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.acme.AcmeRenewer;
import dev.postern.config.Config;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.Pebble;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * ACME against a real pebble (Debian's, started here on loopback): pebble resolves the gateway's names through a DNS
 * server of the test and validates each challenge for real on the gateway's challenge listener. A STARTTLS client
 * that trusts only pebble's root (from its management interface) and checks the host name is the judge of what the
 * gateway serves. Pebble's certificates live 30 s (pebble makes them a second shorter), so a renewal (a third of
 * the lifetime left) comes about 20 s after an issuance, and the renewed certificate has about 10 s to be issued and
 * picked up by the reload path (2 s checks, one more for a pair seen half-written) before the first one expires and
 * the client stops trusting it. With 18 s that margin was under 6 s, while a first order took 10 s at load 25
 * (docs/certificates.md).
 * One pebble for the class; the tests run one after the other, as pebble's HTTP-01 port is one.
 */
class AcmeGatewayTest {
    static final Duration VALIDITY = Duration.ofSeconds(30);

    static TestDnsServer dns;
    static Pebble pebble;
    static Path pebbleDir;

    @TempDir Path data;
    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    final Logger logger = (Logger) LoggerFactory.getLogger(AcmeRenewer.class);

    @BeforeAll static void startPebble() throws Exception {
        assumeTrue(Pebble.installed(), "pebble is not installed (apt-get install pebble; .ci/run does)");
        dns = TestDnsServer.start();
        pebbleDir = Files.createTempDirectory("pebble");
        pebble = Pebble.start(pebbleDir, dns.address(), VALIDITY);
    }

    @AfterAll static void stopPebble() throws Exception {
        if (pebble != null) {
            pebble.close();
            // what pebble did, for the test report (the issuance and renewal excerpts of docs/certificates.md)
            pebble.log().stream().filter(l -> l.contains("Issued certificate") || l.contains("validation")
                    || l.contains("Revoked")).limit(40).forEach(l -> System.out.println("pebble: " + l));
        }
        if (dns != null) dns.close();
    }

    @BeforeEach void listen() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach void stopListening() {
        logger.detachAppender(logged);
        logged.list.forEach(e -> System.out.println("renewer: " + e.getFormattedMessage() + " "
                + e.getKeyValuePairs()));
    }

    @Test void issuesAtFirstStartServesItAtOnceAndRenewsWithoutRestart() throws Exception {
        String host = "mx1.acme.test";
        dns.a(host, "127.0.0.1").a("mail1.acme.test", "127.0.0.1");
        Config config = acme(host, Config.AcmeChallenge.HTTP_01, List.of("mail1.acme.test"));
        try (Gateway gateway = Gateway.start(config)) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            X509Certificate first = awaitVerified(mx, host, null);
            assertThat(verifiedChain(mx, "mail1.acme.test")[0]).isEqualTo(first); // both names on one certificate
            Instant issuedAt = Instant.now();
            // the files: data/acme 0700, keys and certificates 0600, the account key too
            assertThat(Files.getPosixFilePermissions(data.resolve("acme")))
                    .isEqualTo(PosixFilePermissions.fromString("rwx------"));
            for (String f : List.of("account.key", "ecdsa.key", "ecdsa.crt")) {
                assertThat(Files.getPosixFilePermissions(data.resolve("acme").resolve(f))).as(f)
                        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
            }
            // renewal: a new certificate, issued once a third of the lifetime is left, served without a restart
            X509Certificate second = awaitVerified(mx, host, first);
            Instant renewedAt = Instant.now();
            assertThat(second.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
            assertThat(second.getPublicKey()).isNotEqualTo(first.getPublicKey()); // a new key each time
            Instant due = first.getNotAfter().toInstant().minus(Duration.between(first.getNotBefore().toInstant(),
                    first.getNotAfter().toInstant()).dividedBy(3));
            assertThat(renewedAt).isAfter(due.minusSeconds(1)).isBefore(first.getNotAfter().toInstant());
            assertThat(Duration.between(issuedAt, renewedAt)).isGreaterThan(Duration.ofSeconds(5));
            assertThat(messages()).filteredOn(m -> m.startsWith("acme: certificate issued")).hasSize(2);
        }
    }

    @Test void aFailedChallengeIsRetriedWithBackoffWhileTheSelfSignedOneServes() throws Exception {
        String host = "mx2.acme.test";
        dns.a(host, "127.0.0.2"); // pebble connects to 127.0.0.2, where nothing listens: the challenge fails
        Config config = acme(host, Config.AcmeChallenge.HTTP_01, List.of());
        try (Gateway gateway = Gateway.start(config)) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            await().atMost(Duration.ofSeconds(30)).until(() -> failures().size() >= 3);
            List<ILoggingEvent> f = failures();
            // backoff: 1 s, then 2 s, then 4 s (retry_first 1s, doubled, at most retry_max 4s)
            assertThat(gap(f.get(0))).isEqualTo(Duration.ofSeconds(1));
            assertThat(gap(f.get(1))).isEqualTo(Duration.ofSeconds(2));
            assertThat(gap(f.get(2))).isEqualTo(Duration.ofSeconds(4));
            assertThat(f.get(0).getKeyValuePairs().toString()).contains("http-01").contains("mx2.acme.test");
            // meanwhile the self-signed copy serves
            X509Certificate served = anyCertificate(mx);
            assertThat(served.getIssuerX500Principal()).isEqualTo(served.getSubjectX500Principal());
            Cli.Result status = Cli.run("cert", "acme", "status", "--config", toml(config).toString());
            assertThat(status.exit()).as(status.toString()).isZero();
            assertThat(status.out()).contains("ecdsa: self-signed (no ACME certificate yet)").contains("failure(s) in a row");

            dns.remove(host, org.xbill.DNS.Type.A).a(host, "127.0.0.1"); // the name now points at the gateway
            X509Certificate issued = awaitVerified(mx, host, null);
            assertThat(issued.getIssuerX500Principal()).isNotEqualTo(issued.getSubjectX500Principal());
        }
    }

    @Test void revokeOnTheCommandLineRevokesAndReplacesTheCertificate() throws Exception {
        String host = "mx3.acme.test";
        dns.a(host, "127.0.0.1");
        Config config = acme(host, Config.AcmeChallenge.TLS_ALPN_01, List.of());
        try (Gateway gateway = Gateway.start(config)) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            X509Certificate first = awaitVerified(mx, host, null); // through TLS-ALPN-01
            assertThat(pebble.certificateStatus(first)).contains("\"Status\": \"Valid\"");

            Cli.Result revoke = Cli.run("cert", "acme", "revoke", "--config", toml(config).toString());
            assertThat(revoke.exit()).as(revoke.toString()).isZero();
            assertThat(revoke.out()).contains("ecdsa: revoked serial " + first.getSerialNumber().toString(16))
                    .contains("issued serial");
            assertThat(pebble.certificateStatus(first)).contains("\"Status\": \"Revoked\"");
            X509Certificate second = awaitVerified(mx, host, first);
            assertThat(second.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
        }
    }

    @Test void keyTypeBothIssuesAnEcdsaAndAnRsaCertificateAndARestartKeepsThem() throws Exception {
        String host = "mx4.acme.test";
        dns.a(host, "127.0.0.1");
        // a pebble of its own with long-lived certificates: "no reissue at restart" must not race a due renewal
        Path dir = Files.createTempDirectory("pebble-long");
        try (Pebble longLived = Pebble.start(dir, dns.address(), Duration.ofMinutes(30))) {
            Config config = acme(longLived, host, Config.AcmeChallenge.HTTP_01, List.of(), Config.AcmeKeyType.BOTH);
            X509Certificate ec;
            X509Certificate rsa;
            try (Gateway gateway = Gateway.start(config)) {
                InetSocketAddress mx = gateway.boundAddresses().get(0);
                ec = awaitVerified(longLived, mx, host, ECDSA);
                rsa = awaitVerified(longLived, mx, host, RSA);
                assertThat(ec.getPublicKey().getAlgorithm()).isEqualTo("EC");
                assertThat(rsa.getPublicKey().getAlgorithm()).isEqualTo("RSA");
                for (String f : List.of("rsa.key", "rsa.crt", "ecdsa.key", "ecdsa.crt")) {
                    assertThat(Files.getPosixFilePermissions(data.resolve("acme").resolve(f))).as(f)
                            .isEqualTo(PosixFilePermissions.fromString("rw-------"));
                }
            }
            int issued = (int) messages().stream().filter(m -> m.startsWith("acme: certificate issued")).count();
            assertThat(issued).isEqualTo(2);
            // a restart finds both issued, for the configured names and far from renewal: nothing is ordered
            try (Gateway gateway = Gateway.start(config)) {
                InetSocketAddress mx = gateway.boundAddresses().get(0);
                assertThat(verifiedChain(longLived, mx, host, ECDSA)[0]).isEqualTo(ec);
                assertThat(verifiedChain(longLived, mx, host, RSA)[0]).isEqualTo(rsa);
                Thread.sleep(2000);
                assertThat(messages()).filteredOn(m -> m.startsWith("acme: certificate issued")).hasSize(issued);
            }
            // another name in the configuration: both are ordered again, for the new set of names
            dns.a("smtp4.acme.test", "127.0.0.1");
            Config more = acme(longLived, host, Config.AcmeChallenge.HTTP_01, List.of("smtp4.acme.test"),
                    Config.AcmeKeyType.BOTH);
            try (Gateway gateway = Gateway.start(more)) {
                InetSocketAddress mx = gateway.boundAddresses().get(0);
                assertThat(awaitVerified(longLived, mx, "smtp4.acme.test", ECDSA)).isNotEqualTo(ec);
                assertThat(awaitVerified(longLived, mx, "smtp4.acme.test", RSA)).isNotEqualTo(rsa);
            }
            assertThat(Files.readString(data.resolve("acme/rsa.directory")).strip())
                    .isEqualTo(longLived.directory().toString());
        }
        // another ACME directory (staging, then production): its certificates replace the other CA's at start
        Config production = acme(pebble, host, Config.AcmeChallenge.HTTP_01, List.of("smtp4.acme.test"),
                Config.AcmeKeyType.BOTH);
        try (Gateway gateway = Gateway.start(production)) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            awaitVerified(pebble, mx, "smtp4.acme.test", ECDSA);
            awaitVerified(pebble, mx, "smtp4.acme.test", RSA);
        }
    }

    // ---- helpers

    // TLS 1.2 suites pick the pair by its key type (signature schemes would also restrict the CA's signatures)
    static final String ECDSA = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    static final String RSA = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";

    private Config acme(Pebble p, String host, Config.AcmeChallenge challenge, List<String> names,
                        Config.AcmeKeyType keyType) {
        Config c = TestConfigs.gateway(data, host, Set.of("acme.test"));
        Config.Acme a = new Config.Acme(true, p.directory(), "mailto:postmaster@acme.test", names, challenge,
                new InetSocketAddress("127.0.0.1", p.httpPort()),
                new InetSocketAddress("127.0.0.1", p.tlsPort()), keyType, p.caFile(),
                null, Duration.ofSeconds(1), Duration.ofSeconds(4));
        return TestConfigs.withTls(c, c.tls().withAcme(a)).withWatch(new Config.Watch(
                new Config.Admin(null, false), null, new Config.Probes(false, Duration.ofHours(1),
                Duration.ofSeconds(60), List.of()), null));
    }

    /** As {@link #awaitVerified(InetSocketAddress, String, X509Certificate)}: a chain issued by {@code p}, for a
     * client offering only the signature scheme {@code scheme} (so the server shows the pair of that key type). */
    private static X509Certificate awaitVerified(Pebble p, InetSocketAddress mx, String host, String scheme) {
        X509Certificate[] got = new X509Certificate[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
            got[0] = verifiedChain(p, mx, host, scheme)[0];
            return true;
        });
        return got[0];
    }

    private Config acme(String host, Config.AcmeChallenge challenge, List<String> names) {
        Config c = TestConfigs.gateway(data, host, Set.of("acme.test"));
        Config.Acme a = new Config.Acme(true, pebble.directory(), "mailto:postmaster@acme.test", names, challenge,
                new InetSocketAddress("127.0.0.1", pebble.httpPort()),
                new InetSocketAddress("127.0.0.1", pebble.tlsPort()), Config.AcmeKeyType.ECDSA, pebble.caFile(),
                null, Duration.ofSeconds(1), Duration.ofSeconds(4));
        return TestConfigs.withTls(c, c.tls().withAcme(a)).withWatch(new Config.Watch(
                new Config.Admin(null, false), null, new Config.Probes(false, Duration.ofHours(1),
                Duration.ofSeconds(60), List.of()), null));
    }

    /** The same [acme] settings as a file, for the command line (through the validator of [acme]). */
    private Path toml(Config config) throws Exception {
        Config.Acme a = config.tls().acme();
        Path file = data.resolveSibling(data.getFileName() + ".toml");
        Files.writeString(file, """
                hostname = "%s"
                data_dir = "%s"
                local_domains = ["acme.test"]
                [acme]
                enabled = true
                directory = "%s"
                contact = "postmaster@acme.test"
                challenge = "%s"
                http_address = "127.0.0.1:%d"
                tls_address = "127.0.0.1:%d"
                trust = "%s"
                retry_first = "1s"
                retry_max = "4s"
                [admin]
                listen = ""
                """.formatted(config.hostname(), data, a.directory(), a.challenge().configName(),
                a.httpAddress().getPort(), a.tlsAddress().getPort(), a.trust()));
        return file;
    }

    private List<String> messages() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    private List<ILoggingEvent> failures() {
        return logged.list.stream().filter(e -> e.getFormattedMessage().startsWith("acme: no certificate")).toList();
    }

    /** retry_at minus the time of the failure line, to the second. */
    private static Duration gap(ILoggingEvent e) {
        Instant retry = (Instant) e.getKeyValuePairs().stream().filter(p -> p.key.equals("retry_at")).findFirst()
                .orElseThrow().value;
        return Duration.ofSeconds(Math.round(Duration.between(Instant.ofEpochMilli(e.getTimeStamp()), retry)
                .toMillis() / 1000.0));
    }

    /** Waits until STARTTLS gives a chain that verifies against pebble's root for {@code host}, other than {@code not}. */
    private X509Certificate awaitVerified(InetSocketAddress mx, String host, X509Certificate not) {
        X509Certificate[] got = new X509Certificate[1];
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
            X509Certificate leaf = verifiedChain(mx, host)[0];
            got[0] = leaf;
            return not == null || !leaf.equals(not);
        });
        return got[0];
    }

    /** STARTTLS trusting only pebble's root, checking the host name (SNI sent); the chain the server showed. */
    private static X509Certificate[] verifiedChain(InetSocketAddress mx, String host) throws Exception {
        return verifiedChain(pebble, mx, host, null);
    }

    /** As above with {@code p}'s root; {@code scheme}, when not null, the only (TLS 1.2) suite offered. */
    private static X509Certificate[] verifiedChain(Pebble p, InetSocketAddress mx, String host, String scheme)
            throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("pebble", p.root());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO client.acme.test");
            c.startTls(context, params -> {
                params.setEndpointIdentificationAlgorithm("HTTPS");
                params.setServerNames(List.of(new SNIHostName(host)));
                if (scheme != null) {
                    params.setProtocols(new String[] {"TLSv1.2"});
                    params.setCipherSuites(new String[] {scheme});
                }
            });
            assertThat(c.command("EHLO client.acme.test").code()).isEqualTo(250);
            return (X509Certificate[]) ((SSLSocket) c.socket()).getSession().getPeerCertificates();
        }
    }

    private static X509Certificate anyCertificate(InetSocketAddress mx) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO client.acme.test");
            c.startTls();
            return (X509Certificate) ((SSLSocket) c.socket()).getSession().getPeerCertificates()[0];
        }
    }
}
