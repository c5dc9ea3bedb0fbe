package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.postern.tls.Certificates;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code serve} would refuse, {@code config check} refuses first, with the same line; and {@code serve} refuses
 * it with that line and exit 2 before it starts anything. Every certificate and key is made here.
 */
class ConfigServeParityTest {
    @TempDir Path dir;
    private Path file;

    private static final String TOP = """
            hostname = "mail.example.com"
            local_domains = ["example.com"]
            data_dir = "data"
            """;
    /** A port free now: a refused config never binds it, the one that starts does at once. */
    private static final String LISTENER = "[[listeners]]\naddress = \"127.0.0.1:" + freePort() + "\"\nrole = \"mx\"\n";

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @BeforeEach void files() throws IOException {
        file = dir.resolve("postern.toml");
        // The usual files: an EC server pair, an RSA pair, a CA
        write(Certificates.selfSigned(List.of("mail.example.com"), KeyType.EC_P256, Duration.ofDays(30)), "ec");
        write(Certificates.selfSigned(List.of("mail.example.com"), KeyType.RSA_2048, Duration.ofDays(30)), "rsa");
        write(Certificates.selfSigned(List.of("other.example.com"), KeyType.EC_P256, Duration.ofDays(30)), "other");
        KeyMaterial ca = Certificates.certificateAuthority("Test CA", KeyType.EC_P256, Duration.ofDays(30));
        Pem.write(ca, dir.resolve("ca.crt"), dir.resolve("ca.key"));
    }

    private void write(KeyMaterial m, String name) throws IOException {
        Pem.write(m, dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
    }

    private Path config(String top, String tables) throws IOException {
        Files.writeString(file, TOP + top + "\n" + LISTENER + "\n" + tables);
        return file;
    }

    private Path tls(String certificate, String key) throws IOException {
        return config("", "[tls]\ncertificate = \"" + certificate + "\"\nkey = \"" + key + "\"\n");
    }

    private Path outboundClient(String certificate, String key) throws IOException {
        return config("", "[outbound_tls.\"partner.example\"]\nlevel = \"verify\"\nclient_certificate = \""
                + certificate + "\"\nclient_key = \"" + key + "\"\n");
    }

    /** config check and serve (in this JVM, through Main.run) both print exactly {@code lines} and exit 2. */
    private void refusedAlike(String... lines) {
        String[] full = java.util.Arrays.stream(lines).map(l -> file + ": " + l).toArray(String[]::new);
        Cli.Result check = Cli.run("config", "check", file.toString());
        assertThat(check.exit()).as("%s", check).isEqualTo(2);
        assertThat(check.out()).as("%s", check).isEmpty();
        assertThat(check.errLines()).as("%s", check).containsExactly(full);
        // Were the problem missed, serve would run until stopped: the timeout says so instead of hanging the build.
        Cli.Result serve = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> Cli.run("serve", "-c", file.toString()));
        assertThat(serve.exit()).as("%s", serve).isEqualTo(2);
        assertThat(serve.errLines()).as("%s", serve).containsExactly(full);
        assertThat(dir.resolve("data")).as("serve refused before making anything").doesNotExist();
    }

    @Test void aKeyOfAnotherCertificateIsRefusedWhateverItsType() throws Exception {
        tls("ec.crt", "other.key");
        refusedAlike("tls.key: expected the private key of tls.certificate, got \"other.key\" (it does not match "
                + "the certificate's EC public key)");
        tls("ec.crt", "rsa.key");
        refusedAlike("tls.key: expected the private key of tls.certificate, got \"rsa.key\" (it does not match "
                + "the certificate's EC public key)");
        tls("rsa.crt", "ec.key");
        refusedAlike("tls.key: expected the private key of tls.certificate, got \"ec.key\" (it does not match "
                + "the certificate's RSA public key)");
        KeyMaterial otherRsa = Certificates.selfSigned(List.of("x.example.com"), KeyType.RSA_2048, Duration.ofDays(1));
        Pem.writePrivateKey(otherRsa.key(), dir.resolve("rsa2.key"));
        tls("rsa.crt", "rsa2.key");
        refusedAlike("tls.key: expected the private key of tls.certificate, got \"rsa2.key\" (it does not match "
                + "the certificate's RSA public key)");
    }

    @Test void anEd25519KeyIsComparedToo() throws Exception {
        ed25519("ed");
        ed25519("ed2");
        tls("ed.crt", "ed.key");
        assertThat(Cli.run("config", "check", file.toString()).exit()).isZero();
        tls("ed.crt", "ed2.key");
        refusedAlike("tls.key: expected the private key of tls.certificate, got \"ed2.key\" (it does not match "
                + "the certificate's Ed25519 public key)");
    }

    @Test void aFileThatIsNotWhatTheKeyExpectsIsNamed() throws Exception {
        String abs = dir.toString();
        tls("ec.key", "ec.key");
        refusedAlike("tls.certificate: expected a PEM certificate, got \"ec.key\" (" + abs + "/ec.key: not a PEM "
                + "certificate (it holds a private key))");
        tls("ec.crt", "ec.crt");
        refusedAlike("tls.key: expected a PEM private key, got \"ec.crt\" (" + abs + "/ec.crt: no private key found "
                + "(it holds a certificate))");
        Files.writeString(dir.resolve("req.csr"), Pem.certificationRequest(Certificates.certificationRequest(
                List.of("mail.example.com"), Pem.readPrivateKey(dir.resolve("ec.key")),
                Pem.readCertificates(dir.resolve("ec.crt")).getFirst().getPublicKey())));
        tls("req.csr", "ec.key");
        refusedAlike("tls.certificate: expected a PEM certificate, got \"req.csr\" (" + abs + "/req.csr: not a PEM "
                + "certificate (it holds a certificate request (CSR: a CA signs it into the certificate)))");
        Files.write(dir.resolve("ec.der"), Pem.readCertificates(dir.resolve("ec.crt")).getFirst().getEncoded());
        tls("ec.der", "ec.key");
        refusedAlike("tls.certificate: expected a PEM certificate, got \"ec.der\" (" + abs + "/ec.der: not a PEM "
                + "file (binary content, DER: convert it with openssl x509 -inform der, or openssl pkey -inform der "
                + "for a key))");
        Files.createFile(dir.resolve("empty.key"));
        tls("ec.crt", "empty.key");
        refusedAlike("tls.key: expected a PEM private key, got \"empty.key\" (" + abs + "/empty.key: an empty file, "
                + "not PEM)");
        Files.createDirectory(dir.resolve("certs"));
        tls("certs", "ec.key");
        refusedAlike("tls.certificate: expected a readable file, got \"certs\" (a directory, not a file: " + abs
                + "/certs)");
        encryptedKey("enc.key");
        tls("ec.crt", "enc.key");
        refusedAlike("tls.key: expected a PEM private key, got \"enc.key\" (" + abs + "/enc.key: encrypted private "
                + "keys are not supported)");
    }

    @Test void caFilesAndClientCertificatesAreReadAtLoadTimeNotAtTheFirstSession() throws Exception {
        String abs = dir.toString();
        config("", "[mta_sts]\nca_file = \"ca.key\"\n");
        refusedAlike("mta_sts.ca_file: expected a PEM file of CA certificates, got \"ca.key\" (" + abs
                + "/ca.key: not a PEM certificate (it holds a private key))");
        config("", """
                [[partners]]
                name = "partner"
                sender_domains = ["partner.example"]
                ca_file = "ec.key"
                """);
        refusedAlike("partners[0].ca_file: expected a PEM file of CA certificates, got \"ec.key\" (" + abs
                + "/ec.key: not a PEM certificate (it holds a private key))");
        Files.writeString(file, TOP + """
                [[listeners]]
                address = "127.0.0.1:2999"
                role = "mx"
                client_certificate = "request"
                client_ca_file = "ec.key"
                """);
        refusedAlike("listeners[0].client_ca_file: expected a PEM file of CA certificates, got \"ec.key\" (" + abs
                + "/ec.key: not a PEM certificate (it holds a private key))");
        outboundClient("rsa.crt", "other.key");
        refusedAlike("outbound_tls.\"partner.example\".client_key: expected the private key of "
                + "outbound_tls.\"partner.example\".client_certificate, got \"other.key\" (it does not match the "
                + "certificate's RSA public key)");
        outboundClient("ec.crt", encryptedKey("enc.key").getFileName().toString());
        refusedAlike("outbound_tls.\"partner.example\".client_key: expected a PEM private key, got \"enc.key\" ("
                + abs + "/enc.key: encrypted private keys are not supported)");
    }

    @Test void anMtaStsPublisherWithNothingToPublishOrOnAListenersPortIsRefused() throws Exception {
        Files.writeString(file, """
                hostname = "mail.example.com"
                local_domains = ["localhost"]
                data_dir = "data"

                [[listeners]]
                address = "127.0.0.1:2999"
                role = "mx"

                [mta_sts.publish]
                listen = "127.0.0.1:2999"
                certificate = "ec.crt"
                key = "other.key"
                """);
        refusedAlike("mta_sts.publish.key: expected the private key of mta_sts.publish.certificate, got "
                        + "\"other.key\" (it does not match the certificate's EC public key)",
                "mta_sts.publish.listen: expected local_domains or relay_domains to hold a domain with a dot to "
                        + "publish for (as mta-sts.DOMAIN), got none",
                "mta_sts.publish.listen: expected an address no listener uses, got \"127.0.0.1:2999\" (listeners[0] "
                        + "uses it)");
    }

    @Test void aDataDirectoryThatIsAFileIsRefused() throws Exception {
        Files.writeString(dir.resolve("data"), "");
        Files.writeString(file, TOP.replace("data_dir = \"data\"", "data_dir = \"data\"") + LISTENER);
        Cli.Result check = Cli.run("config", "check", file.toString());
        String line = file + ": data_dir: expected a directory path, got \"data\" (a file: " + dir.resolve("data")
                + ")";
        assertThat(check.errLines()).as("%s", check).containsExactly(line);
        Cli.Result serve = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> Cli.run("serve", "-c", file.toString()));
        assertThat(serve.exit()).isEqualTo(2);
        assertThat(serve.errLines()).containsExactly(line);
    }

    @Test void anAuditStoreThatCouldNeverOpenIsRefused() throws Exception {
        Files.createFile(dir.resolve("db.password"));
        config("", """
                [audit]
                url = "jdbc:postgresql://127.0.0.1:5432/postern"
                user = "postern"
                password_file = "db.password"
                """);
        refusedAlike("audit.password_file: expected a text file whose first line is the password, got "
                + "\"db.password\" (its first line is empty)");
    }

    @Test void wideRelayNetworksAreRefusedUnlessAllowedAndTheWholeInternetAlways() throws Exception {
        config("relay_networks = [\"127.0.0.0/8\", \"10.0.0.0/8\", \"2001:db8::/32\", \"192.168.0.0/16\", "
                + "\"2001:db8:1::/48\"]\n", "");
        String open = ": every host in it may relay mail to any domain, an open relay if it reaches beyond your own "
                + "hosts (set allow_wide_relay_networks = true if it does not)";
        refusedAlike("relay_networks[1]: expected a network no wider than /16, got \"10.0.0.0/8\"" + open,
                "relay_networks[2]: expected a network no wider than /48, got \"2001:db8::/32\"" + open);

        config("relay_networks = [\"127.0.0.0/8\", \"10.0.0.0/8\", \"2001:db8::/32\"]\n"
                + "allow_wide_relay_networks = true\n", "");
        Cli.Result allowed = Cli.run("config", "check", file.toString());
        assertThat(allowed.exit()).as("%s", allowed).isZero();

        config("relay_networks = [\"0.0.0.0/0\", \"::/0\"]\nallow_wide_relay_networks = true\n", "");
        String anyone = " could relay mail through this gateway (an open relay); remote clients should authenticate "
                + "on a submission listener instead";
        refusedAlike("relay_networks[0]: expected your own networks, got \"0.0.0.0/0\": the whole IPv4 Internet"
                        + anyone,
                "relay_networks[1]: expected your own networks, got \"::/0\": the whole IPv6 Internet" + anyone);
    }

    @Test void anExpiredCertificateIsAWarningAndServeStartsWithIt() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Old CA", KeyType.EC_P256, Duration.ofDays(400));
        KeyMaterial old = Certificates.issue(ca, List.of("mail.example.com"), KeyType.EC_P256,
                Instant.now().minus(Duration.ofDays(100)), Duration.ofDays(10));
        write(old, "old");
        tls("old.crt", "old.key");
        String warning = file + ": tls.certificate: warning: the certificate expired on "
                + old.leaf().getNotAfter().toInstant() + "; peers that verify it will refuse it";
        Cli.Result check = Cli.run("config", "check", file.toString());
        assertThat(check.exit()).as("%s", check).isZero();
        assertThat(check.outLines()).containsExactly(file + ": ok");
        assertThat(check.errLines()).containsExactly(warning);

        // A real process: it warns with the same line and takes mail (the MX listener speaks TLS with the old one).
        try (GatewayProcess p = GatewayProcess.start(dir, dir.resolve("logs"), "expired", "serve", "-c",
                file.toString())) {
            Map<String, InetSocketAddress> at = p.awaitListening(Duration.ofSeconds(60));
            assertThat(at).containsKey("mx");
            assertThat(p.stderr().lines().toList()).contains(warning);
        }
    }

    @Test void aRealServeProcessExitsWithTwoAndTheLine() throws Exception {
        tls("ec.crt", "rsa.key");
        Cli.Result serve = GatewayProcess.runCommand(dir, "serve", "-c", file.toString());
        assertThat(serve.exit()).as("%s", serve).isEqualTo(2);
        assertThat(serve.errLines()).containsExactly(file + ": tls.key: expected the private key of "
                + "tls.certificate, got \"rsa.key\" (it does not match the certificate's EC public key)");
        assertThat(serve.out()).isEmpty();
    }

    @Test void aPortInUseIsARuntimeProblemNamingTheListener() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            Files.writeString(file, TOP + "[[listeners]]\naddress = \"127.0.0.1:" + taken.getLocalPort()
                    + "\"\nrole = \"mx\"\n\n[tls]\ncertificate = \"ec.crt\"\nkey = \"ec.key\"\n"); // no key generation
            assertThat(Cli.run("config", "check", file.toString()).exit()).isZero();
            Cli.Result serve = GatewayProcess.runCommand(dir, "serve", "-c", file.toString());
            assertThat(serve.exit()).as("%s", serve).isEqualTo(1);
            assertThat(serve.errLines()).as("%s", serve).containsExactly("postern: cannot start: listeners[0].address: "
                    + "cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": Address already in use");
        }
    }

    /**
     * An unreadable key: root reads every file whatever its mode, so this runs only as another user (CI may run the
     * tests as root; then it is skipped and says so).
     */
    @Test void anUnreadableKeyIsNamed() throws Exception {
        Assumptions.assumeFalse("root".equals(System.getProperty("user.name")),
                "running as root, who can read a file of mode 000");
        Files.setPosixFilePermissions(dir.resolve("ec.key"), PosixFilePermissions.fromString("---------"));
        tls("ec.crt", "ec.key");
        refusedAlike("tls.key: expected a readable file, got \"ec.key\" (file not readable: " + dir + "/ec.key)");
    }

    /** A self-signed Ed25519 certificate and its key as NAME.crt and NAME.key. */
    private void ed25519(String name) throws Exception {
        KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        X500Name subject = new X500Name("CN=mail.example.com");
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(1))), subject, pair.getPublic());
        var certificate = new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("Ed25519").build(pair.getPrivate())));
        Pem.write(new KeyMaterial(pair.getPrivate(), List.of(certificate)), dir.resolve(name + ".crt"),
                dir.resolve(name + ".key"));
    }

    /** A real PKCS#8 encrypted key (AES-256-CBC, as openssl pkcs8 -topk8 -v2 aes256 writes it). */
    private Path encryptedKey(String name) throws Exception {
        PrivateKey key = Pem.readPrivateKey(dir.resolve("ec.key"));
        StringWriter out = new StringWriter();
        try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
            pem.writeObject(new JcaPKCS8Generator(key, new JceOpenSSLPKCS8EncryptorBuilder(
                    JcaPKCS8Generator.AES_256_CBC).setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider())
                    .setPassword("secret".toCharArray()).build()));
        }
        return Files.writeString(dir.resolve(name), out.toString());
    }
}
