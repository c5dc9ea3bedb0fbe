package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates.KeyType;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A real gateway, in-process, with an RSA and an ECDSA certificate: over STARTTLS and implicit TLS an RSA-only client
 * gets the RSA one and an ECDSA client the EC one; without configured certificates both kinds are generated on the
 * first start and reused on the next; replacing one pair's files reloads that pair only.
 */
class GatewayMultipleCertificatesTest {
    @TempDir Path data;
    @TempDir Path files;
    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    final List<Logger> loggers = List.of((Logger) LoggerFactory.getLogger(ReloadingServerContext.class),
            (Logger) LoggerFactory.getLogger(Gateway.class));

    static final List<ClientShape> RSA_CLIENTS = List.of(ClientShape.rsaOnly("TLSv1.3"), ClientShape.rsaOnly("TLSv1.2"),
            ClientShape.tls12Suites("RSA"));
    static final List<ClientShape> EC_CLIENTS = List.of(ClientShape.ecdsaOnly("TLSv1.3"),
            ClientShape.ecdsaOnly("TLSv1.2"), ClientShape.jdkDefault("TLSv1.3"), ClientShape.jdkDefault("TLSv1.2"));

    @BeforeEach void listen() {
        logged.start();
        loggers.forEach(l -> l.addAppender(logged));
    }

    @AfterEach void stopListening() {
        loggers.forEach(l -> l.detachAppender(logged));
    }

    @Test void configuredRsaAndEcdsaCertificatesEachGoToTheClientsThatCanUseThem() throws Exception {
        KeyMaterial rsa = Certificates.selfSigned(List.of("gw.example"), KeyType.RSA_2048, Duration.ofDays(30));
        KeyMaterial ec = Certificates.selfSigned(List.of("gw.example"), KeyType.EC_P256, Duration.ofDays(30));
        Pem.write(rsa, files.resolve("rsa.pem"), files.resolve("rsa.key"));
        Pem.write(ec, files.resolve("ecdsa.pem"), files.resolve("ecdsa.key"));
        Path toml = files.resolve("postern.toml");
        Files.writeString(toml, """
                [[tls.certificates]]
                certificate = "rsa.pem"
                key = "rsa.key"
                [[tls.certificates]]
                certificate = "ecdsa.pem"
                key = "ecdsa.key"
                """);
        Config.Tls tls = ConfigLoader.load(toml).tls();
        Config config = TestConfigs.withTls(TestConfigs.gateway(data, "gw.example", Set.of("example.com")), tls);

        try (Gateway gateway = Gateway.start(config)) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            InetSocketAddress submissions = gateway.boundAddresses().get(2);
            for (ClientShape client : RSA_CLIENTS) {
                assertThat(client.startTls(mx)).as("%s over STARTTLS", client).isEqualTo(rsa.leaf());
                assertThat(client.implicitTls(submissions)).as("%s over implicit TLS", client).isEqualTo(rsa.leaf());
            }
            for (ClientShape client : EC_CLIENTS) {
                assertThat(client.startTls(mx)).as("%s over STARTTLS", client).isEqualTo(ec.leaf());
                assertThat(client.implicitTls(submissions)).as("%s over implicit TLS", client).isEqualTo(ec.leaf());
            }
        }
        assertThat(data.resolve("tls")).as("nothing generated when certificates are configured").doesNotExist();
        assertThat(generated()).isEmpty();
    }

    @Test void withoutConfiguredCertificatesAnEcAndAnRsaOneAreGeneratedOnceAndReused() throws Exception {
        Config config = TestConfigs.gateway(data, "gw.example", Set.of("example.com"));
        Path ecCert = data.resolve("tls/self-signed.crt");
        Path ecKey = data.resolve("tls/self-signed.key");
        Path rsaCert = data.resolve("tls/self-signed-rsa.crt");
        Path rsaKey = data.resolve("tls/self-signed-rsa.key");
        byte[][] made;
        try (Gateway gateway = Gateway.start(config)) {
            X509Certificate ec = Pem.readCertificates(ecCert).getFirst();
            X509Certificate rsa = Pem.readCertificates(rsaCert).getFirst();
            assertThat(ec.getPublicKey().getAlgorithm()).isEqualTo("EC");
            assertThat(rsa.getPublicKey().getAlgorithm()).isEqualTo("RSA");
            assertThat(List.of(ec, rsa)).allSatisfy(c -> assertThat(NameMatcher.names(c)).contains("gw.example"));
            assertThat(Pem.keyMatches(Pem.readPrivateKey(rsaKey), rsa)).isTrue();
            assertThat(Files.getPosixFilePermissions(rsaKey)).hasToString("[OWNER_READ, OWNER_WRITE]");
            assertServes(gateway, rsa, ec);
            made = new byte[][] {Files.readAllBytes(ecCert), Files.readAllBytes(ecKey), Files.readAllBytes(rsaCert),
                    Files.readAllBytes(rsaKey)};
        }
        assertThat(generated()).hasSize(2).anySatisfy(m -> assertThat(m).contains("EC P-256"))
                .anySatisfy(m -> assertThat(m).contains("RSA 2048"));

        logged.list.clear();
        try (Gateway again = Gateway.start(config)) {
            assertThat(new byte[][] {Files.readAllBytes(ecCert), Files.readAllBytes(ecKey),
                    Files.readAllBytes(rsaCert), Files.readAllBytes(rsaKey)}).as("reused, byte for byte")
                    .isDeepEqualTo(made);
            assertServes(again, Pem.readCertificates(rsaCert).getFirst(), Pem.readCertificates(ecCert).getFirst());
        }
        assertThat(generated()).isEmpty();
    }

    @Test void aDataDirectoryWithTheEarlierSingleEcCertificateKeepsItAndGainsAnRsaOne() throws Exception {
        KeyMaterial earlier = Certificates.selfSigned(List.of("gw.example"), KeyType.EC_P256, Duration.ofDays(825));
        Files.createDirectories(data.resolve("tls"));
        Pem.write(earlier, data.resolve("tls/self-signed.crt"), data.resolve("tls/self-signed.key"));

        try (Gateway gateway = Gateway.start(TestConfigs.gateway(data, "gw.example", Set.of("example.com")))) {
            X509Certificate rsa = Pem.readCertificates(data.resolve("tls/self-signed-rsa.crt")).getFirst();
            assertThat(Pem.readCertificates(data.resolve("tls/self-signed.crt")).getFirst()).isEqualTo(earlier.leaf());
            assertServes(gateway, rsa, earlier.leaf());
        }
        assertThat(generated()).singleElement().asString().contains("RSA 2048");
    }

    @Test void replacingOnePairReloadsThatOneAndABrokenPairChangesNothing() throws Exception {
        KeyMaterial rsa = Certificates.selfSigned(List.of("rsa.gw.example"), KeyType.RSA_2048, Duration.ofDays(30));
        KeyMaterial ec = Certificates.selfSigned(List.of("ec.gw.example"), KeyType.EC_P256, Duration.ofDays(30));
        Path rsaCert = files.resolve("rsa.pem"), rsaKey = files.resolve("rsa.key");
        Path ecCert = files.resolve("ec.pem"), ecKey = files.resolve("ec.key");
        Pem.write(rsa, rsaCert, rsaKey);
        Pem.write(ec, ecCert, ecKey);
        Config config = TestConfigs.withTls(TestConfigs.gateway(data, "gw.example", Set.of("example.com")),
                Config.Tls.of(List.of(new Config.CertificatePair(rsaCert, rsaKey),
                        new Config.CertificatePair(ecCert, ecKey))));

        try (Gateway gateway = Gateway.start(config)) {
            InetSocketAddress mx = gateway.boundAddresses().get(0);
            assertServes(gateway, rsa.leaf(), ec.leaf());

            KeyMaterial rsa2 = Certificates.selfSigned(List.of("rsa2.gw.example"), KeyType.RSA_2048,
                    Duration.ofDays(30));
            replace(rsa2, rsaCert, rsaKey);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> ClientShape.rsaOnly("TLSv1.3").startTls(mx).equals(rsa2.leaf()));
            assertServes(gateway, rsa2.leaf(), ec.leaf());

            // The EC pair broken (certificate EC2 with EC's key) while RSA3 is fine: the old set goes on as a whole.
            KeyMaterial ec2 = Certificates.selfSigned(List.of("ec2.gw.example"), KeyType.EC_P256, Duration.ofDays(30));
            KeyMaterial rsa3 = Certificates.selfSigned(List.of("rsa3.gw.example"), KeyType.RSA_2048,
                    Duration.ofDays(30));
            replace(new KeyMaterial(ec.key(), ec2.chain()), ecCert, ecKey);
            replace(rsa3, rsaCert, rsaKey);
            await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(250))
                    .until(() -> ClientShape.rsaOnly("TLSv1.3").startTls(mx).equals(rsa2.leaf()));
            assertServes(gateway, rsa2.leaf(), ec.leaf());
            assertThat(errors()).singleElement().asString().contains("key does not match certificate " + ecCert)
                    .contains("still serving CN=rsa2.gw.example").contains("CN=ec.gw.example");

            replace(ec2, ecCert, ecKey); // fixed
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> ClientShape.ecdsaOnly("TLSv1.3").startTls(mx).equals(ec2.leaf()));
            assertServes(gateway, rsa3.leaf(), ec2.leaf());
            assertThat(errors()).hasSize(1);
        }
    }

    /** RSA clients get {@code rsa}, ECDSA and default clients {@code ec}, on the MX and the implicit-TLS listener. */
    private static void assertServes(Gateway gateway, X509Certificate rsa, X509Certificate ec) throws Exception {
        InetSocketAddress mx = gateway.boundAddresses().get(0);
        InetSocketAddress submissions = gateway.boundAddresses().get(2);
        for (ClientShape client : List.of(ClientShape.rsaOnly("TLSv1.3"), ClientShape.tls12Suites("RSA"))) {
            assertThat(client.startTls(mx)).as("%s over STARTTLS", client).isEqualTo(rsa);
            assertThat(client.implicitTls(submissions)).as("%s over implicit TLS", client).isEqualTo(rsa);
        }
        for (ClientShape client : List.of(ClientShape.ecdsaOnly("TLSv1.3"), ClientShape.jdkDefault("TLSv1.2"))) {
            assertThat(client.startTls(mx)).as("%s over STARTTLS", client).isEqualTo(ec);
            assertThat(client.implicitTls(submissions)).as("%s over implicit TLS", client).isEqualTo(ec);
        }
    }

    /** As an administrator would: write each file next to its target, then rename it over the target. */
    private static void replace(KeyMaterial material, Path cert, Path key) throws Exception {
        Path stagedCert = cert.resolveSibling(cert.getFileName() + ".new");
        Path stagedKey = key.resolveSibling(key.getFileName() + ".new");
        Pem.write(material, stagedCert, stagedKey);
        Files.move(stagedCert, cert, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Files.move(stagedKey, key, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private List<String> generated() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("generated a self-signed")).toList();
    }

    private List<String> errors() {
        return logged.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }
}
