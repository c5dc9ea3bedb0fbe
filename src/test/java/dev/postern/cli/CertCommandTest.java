package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.ConfigLoader;
import dev.postern.tls.Certificates;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.Pem;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code postern cert ...}, run in-process through {@link Main#run}, with standard output and error captured. */
class CertCommandTest {
    @TempDir Path dir;

    record Run(int exit, String out, String err) {
        List<String> errLines() { return err.isEmpty() ? List.of() : List.of(err.split("\\R")); }
        String all() { return out + err; }
    }

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            System.out.flush();
            System.err.flush();
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    // ---- self-signed and show ----

    @ParameterizedTest
    @ValueSource(strings = {"ec-p256", "ec-p384", "rsa-2048"})
    void selfSignedThenShowRoundTrip(String keyType) throws Exception {
        Path cert = dir.resolve("gw.crt");
        Path key = dir.resolve("gw.key");

        Run made = run("cert", "self-signed", "--host", "gw.example.com", "--host", "alt.example.com", "--key-type",
                keyType, "--days", "90", "--out-cert", cert.toString(), "--out-key", key.toString());

        assertThat(made.exit()).as(made.all()).isZero();
        KeyMaterial loaded = Pem.load(cert, key); // also proves that the key matches
        X509Certificate leaf = loaded.leaf();
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=gw.example.com");
        assertThat(CertCommand.subjectAltNames(leaf)).containsExactly("gw.example.com", "alt.example.com");
        assertThat(Duration.between(Instant.now(), leaf.getNotAfter().toInstant()).toDays()).isBetween(89L, 90L);
        assertThat(loaded.key().getAlgorithm()).isEqualTo(keyType.startsWith("ec") ? "EC" : "RSA");
        if (posix()) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        }
        assertNoKeyMaterial(made, loaded.key());

        Run shown = run("cert", "show", cert.toString());

        assertThat(shown.exit()).as(shown.all()).isZero();
        assertThat(shown.err()).isEmpty();
        PeerCheck.Certificate facts = PeerCheck.inspect(loaded.chain(), Set.of(), Instant.now());
        String out = shown.out();
        assertThat(out)
                .contains("CN=gw.example.com")
                .contains("gw.example.com, alt.example.com")
                .contains("self-signed")
                .contains("expires in 90 days")
                .contains(leaf.getSigAlgName())
                .contains("leaf")
                // both fingerprints, as PeerCheck computes them, lower-case hex and OpenSSL's colon form
                .contains(facts.certSha256()).contains(colons(facts.certSha256()))
                .contains(facts.keySha256()).contains(colons(facts.keySha256()))
                .contains("fingerprints = [...]");
        assertThat(facts.certSha256()).isEqualTo(sha256(leaf.getEncoded()));
        assertThat(out).contains(keyType.startsWith("ec-p256") ? "EC P-256 (256 bits, as strong as RSA 3072)"
                : keyType.startsWith("ec-p384") ? "EC P-384 (384 bits, as strong as RSA 7680)" : "RSA 2048 bits");
        assertThat(out.lines().count()).as("one screen").isLessThan(30);
        assertNoKeyMaterial(shown, loaded.key());
    }

    @Test
    void showPrintsEveryCertificateOfAChainAndSaysWhichIsTheCa() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial leaf = Certificates.issue(ca, List.of("mx.example.test"), KeyType.EC_P256,
                Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(7));
        Path cert = dir.resolve("chain.pem");
        Pem.write(leaf, cert, dir.resolve("k.pem"));

        Run shown = run("cert", "show", cert.toString());

        assertThat(shown.exit()).isZero();
        assertThat(shown.out()).contains("Certificate 1 of 2: leaf").contains("Certificate 2 of 2: CA")
                .contains("EXPIRED 3 days ago")
                .contains(PeerCheck.inspect(ca.chain(), Set.of(), Instant.now()).certSha256());
    }

    @Test
    void selfSignedRefusesToOverwriteUnlessForced() throws Exception {
        Path cert = dir.resolve("c.pem");
        Path key = dir.resolve("k.pem");
        Files.writeString(cert, "precious");

        Run refused = run("cert", "self-signed", "--host", "gw.example.com", "--out-cert", cert.toString(),
                "--out-key", key.toString());

        assertThat(refused.exit()).isEqualTo(2);
        assertThat(refused.errLines()).singleElement().asString().contains(cert.toString()).contains("--force");
        assertThat(Files.readString(cert)).isEqualTo("precious");
        assertThat(key).doesNotExist();

        Run forced = run("cert", "self-signed", "--host", "gw.example.com", "--out-cert", cert.toString(),
                "--out-key", key.toString(), "--force");

        assertThat(forced.exit()).as(forced.all()).isZero();
        assertThat(Pem.load(cert, key).leaf().getSubjectX500Principal().getName()).isEqualTo("CN=gw.example.com");
    }

    @Test
    void badUsageIsOneLineAndExit2() {
        Path cert = dir.resolve("c.pem");
        Path key = dir.resolve("k.pem");
        assertOneLineExit2(run("cert", "self-signed", "--host", "gw.example.com", "--key-type", "rsa-1024",
                "--out-cert", cert.toString(), "--out-key", key.toString()), "rsa-1024");
        assertOneLineExit2(run("cert", "self-signed", "--host", "not a host", "--out-cert", cert.toString(),
                "--out-key", key.toString()), "not a host");
        assertOneLineExit2(run("cert", "self-signed", "--host", "gw.example.com", "--days", "0",
                "--out-cert", cert.toString(), "--out-key", key.toString()), "--days");
        assertOneLineExit2(run("cert", "self-signed", "--host", "gw.example.com",
                "--out-cert", dir.resolve("no/such/dir/c.pem").toString(), "--out-key", key.toString()), "no/such/dir");
        assertThat(cert).doesNotExist();
        assertThat(key).doesNotExist();
    }

    // ---- csr ----

    @Test
    void csrForAnExistingKeyIsPrintedAndCarriesTheNames() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("old.example.com"), KeyType.EC_P256, Duration.ofDays(1));
        Path key = dir.resolve("k.pem");
        Pem.write(material, dir.resolve("c.pem"), key);

        Run r = run("cert", "csr", "--host", "gw.example.com", "--host", "alt.example.com", "--host", "192.0.2.1",
                "--key", key.toString());

        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).startsWith("-----BEGIN CERTIFICATE REQUEST-----\n")
                .endsWith("-----END CERTIFICATE REQUEST-----\n");
        PKCS10CertificationRequest csr = parseCsr(r.out());
        assertThat(csr.getSubject().toString()).isEqualTo("CN=gw.example.com");
        assertThat(sans(csr)).containsExactly("gw.example.com", "alt.example.com", "#c0000201");
        assertThat(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getSubjectPublicKeyInfo())))
                .isTrue();
        PublicKey requested = new JcaPKCS10CertificationRequest(csr).getPublicKey();
        assertThat(requested.getEncoded()).isEqualTo(material.leaf().getPublicKey().getEncoded());
        assertNoKeyMaterial(r, material.key());
    }

    /** Names are A-labels in certificates: UTS #46 (IDNA2008), so straße stays xn--strae-oqa, not strasse. */
    @Test
    void internationalisedHostNamesBecomeALabels() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("old.example.com"), KeyType.EC_P256, Duration.ofDays(1));
        Path key = dir.resolve("k.pem");
        Pem.write(material, dir.resolve("c.pem"), key);

        Run r = run("cert", "csr", "--host", "MX.Straße.example.", "--host", "*.bücher.example", "--key",
                key.toString());

        assertThat(r.exit()).as(r.all()).isZero();
        PKCS10CertificationRequest csr = parseCsr(r.out());
        assertThat(csr.getSubject().toString()).isEqualTo("CN=mx.xn--strae-oqa.example");
        assertThat(sans(csr)).containsExactly("mx.xn--strae-oqa.example", "*.xn--bcher-kva.example");
        assertOneLineExit2(run("cert", "csr", "--host", "xn--zz.example", "--key", key.toString()), "xn--zz.example");
    }

    @Test
    void csrForAnRsaKeyInPkcs1Form() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("old.example.com"), KeyType.RSA_2048, Duration.ofDays(1));
        Path key = dir.resolve("rsa.key");
        // "openssl genrsa" style: BEGIN RSA PRIVATE KEY
        try (var w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(Files.newBufferedWriter(key))) {
            w.writeObject(material.key());
        }
        assertThat(Files.readString(key)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        Path out = dir.resolve("req.csr");

        Run r = run("cert", "csr", "--host", "gw.example.com", "--key", key.toString(), "--out", out.toString());

        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).contains(out.toString()).doesNotContain("BEGIN");
        PKCS10CertificationRequest csr = parseCsr(Files.readString(out));
        assertThat(new JcaPKCS10CertificationRequest(csr).getPublicKey().getEncoded())
                .isEqualTo(material.leaf().getPublicKey().getEncoded());
        assertThat(sans(csr)).containsExactly("gw.example.com");
    }

    @Test
    void csrWithANewKeyWritesTheKeyPrivately() throws Exception {
        Path key = dir.resolve("new.key");
        Path out = dir.resolve("new.csr");

        Run r = run("cert", "csr", "--host", "gw.example.com", "--new-key", key.toString(), "--key-type", "rsa-2048",
                "--out", out.toString());

        assertThat(r.exit()).as(r.all()).isZero();
        PrivateKey written = Pem.readPrivateKey(key);
        assertThat(written.getAlgorithm()).isEqualTo("RSA");
        if (posix()) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        }
        PKCS10CertificationRequest csr = parseCsr(Files.readString(out));
        assertThat(new JcaPKCS10CertificationRequest(csr).getPublicKey().getEncoded())
                .isEqualTo(Certificates.publicKey(written).getEncoded());
        assertThat(sans(csr)).containsExactly("gw.example.com");
        assertNoKeyMaterial(r, written);

        // Both files exist now: no overwriting without --force.
        assertOneLineExit2(run("cert", "csr", "--host", "gw.example.com", "--new-key", key.toString()),
                key.toString());
        assertThat(Pem.readPrivateKey(key).getEncoded()).isEqualTo(written.getEncoded());
    }

    @Test
    void csrNeedsExactlyOneKeySource() {
        assertThat(run("cert", "csr", "--host", "gw.example.com").exit()).isEqualTo(2);
        assertThat(run("cert", "csr", "--host", "gw.example.com", "--key", "a", "--new-key", "b").exit()).isEqualTo(2);
        assertOneLineExit2(run("cert", "csr", "--host", "gw.example.com", "--key", dir.resolve("missing.key").toString()),
                "missing.key");
    }

    // ---- check ----

    @Test
    void checkOfAGoodCertificateExits0AndSaysSelfSigned() throws Exception {
        Path config = gatewayConfig("gw.example.com",
                Certificates.selfSigned(List.of("gw.example.com"), KeyType.EC_P256, Duration.ofDays(400)));

        Run r = run("cert", "check", "--config", config.toString());

        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).contains("self-signed").contains("covers the hostname gw.example.com")
                .contains("matches the certificate").contains("expires in 400 days").doesNotContain("PROBLEM");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void checkOfAnExpiredCertificateExits1NamingTheExpiry() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial expired = Certificates.issue(ca, List.of("gw.example.com"), KeyType.EC_P256,
                Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(7));
        Path config = gatewayConfig("gw.example.com", expired);

        Run r = run("cert", "check", "--config", config.toString());

        assertThat(r.exit()).isEqualTo(1);
        assertThat(problems(r)).singleElement().asString().contains("EXPIRED 3 days ago");
    }

    @Test
    void checkWarnsOfASoonExpiryButPasses() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial soon = Certificates.issue(ca, List.of("gw.example.com"), KeyType.EC_P256,
                Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(20));
        Path config = gatewayConfig("gw.example.com", soon);

        Run r = run("cert", "check", "--config", config.toString());

        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).contains("warning  certificate expires in 10 days").contains("each issued by the next")
                .contains("not trusted by the system store");
    }

    @Test
    void checkFindsWrongNameMismatchedKeyAndABrokenChain() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial leaf = Certificates.issue(ca, List.of("other.example.com"), KeyType.EC_P256, Instant.now(),
                Duration.ofDays(90));
        KeyMaterial otherKey = Certificates.selfSigned(List.of("x.example"), KeyType.EC_P256, Duration.ofDays(1));
        // CA first, leaf second: the wrong order; and the key of another certificate.
        Path config = gatewayConfig("gw.example.com",
                new KeyMaterial(otherKey.key(), List.of(leaf.leaf(), otherKey.leaf())));

        Run r = run("cert", "check", "--config", config.toString());

        assertThat(r.exit()).isEqualTo(1);
        assertThat(problems(r)).hasSize(3)
                .anySatisfy(l -> assertThat(l).contains("did not issue certificate 1"))
                .anySatisfy(l -> assertThat(l).contains("does not cover the hostname gw.example.com")
                        .contains("other.example.com"))
                .anySatisfy(l -> assertThat(l).contains("does not match the certificate"));
        assertThat(r.out()).contains("3 problems");
    }

    @Test
    void checkWithDataDirUsesTheGeneratedCertificate() throws Exception {
        Path data = dir.resolve("data");
        Run none = run("cert", "check", "--data", data.toString());
        assertOneLineExit2(none, "self-signed.crt");

        String hostname = ConfigLoader.defaults(data).hostname();
        Files.createDirectories(data.resolve("tls"));
        Pem.write(Certificates.selfSigned(List.of(hostname), KeyType.EC_P256, Duration.ofDays(825)),
                data.resolve("tls/self-signed.crt"), data.resolve("tls/self-signed.key"));

        Run r = run("cert", "check", "--data", data.toString());

        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).contains("self-signed.crt").contains("covers the hostname " + hostname);
        // A data directory from before the RSA certificate: the gateway adds it at its next start.
        assertThat(r.out()).contains("warning  not made yet: " + data.resolve("tls/self-signed-rsa.crt")
                + " (RSA 2048); the gateway makes it at its next start");

        Pem.write(Certificates.selfSigned(List.of(hostname), KeyType.RSA_2048, Duration.ofDays(825)),
                data.resolve("tls/self-signed-rsa.crt"), data.resolve("tls/self-signed-rsa.key"));
        Run both = run("cert", "check", "--data", data.toString());

        assertThat(both.exit()).as(both.all()).isZero();
        assertThat(both.out()).contains("Certificate " + data.resolve("tls/self-signed.crt") + ", key "
                        + data.resolve("tls/self-signed.key") + " (generated, self-signed, EC P-256)")
                .contains("Certificate " + data.resolve("tls/self-signed-rsa.crt") + ", key "
                        + data.resolve("tls/self-signed-rsa.key") + " (generated, self-signed, RSA 2048)")
                .contains("matches the certificate; RSA 2048 bits").doesNotContain("not made yet");
    }

    @Test
    void checkLooksAtEveryConfiguredPair() throws Exception {
        Pem.write(Certificates.selfSigned(List.of("gw.example.com"), KeyType.RSA_2048, Duration.ofDays(90)),
                dir.resolve("rsa.crt"), dir.resolve("rsa.key"));
        Pem.write(Certificates.selfSigned(List.of("other.example.com"), KeyType.EC_P256, Duration.ofDays(90)),
                dir.resolve("ec.crt"), dir.resolve("ec.key"));
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, """
                hostname = "gw.example.com"
                [[tls.certificates]]
                certificate = "rsa.crt"
                key = "rsa.key"
                [[tls.certificates]]
                certificate = "ec.crt"
                key = "ec.key"
                """);

        Run r = run("cert", "check", "--config", config.toString());

        assertThat(r.exit()).as(r.all()).isEqualTo(1);
        List<String> lines = r.out().lines().toList();
        int first = lines.indexOf("Certificate " + dir.resolve("rsa.crt") + ", key " + dir.resolve("rsa.key")
                + " (from [tls], 1 of 2)");
        int second = lines.indexOf("Certificate " + dir.resolve("ec.crt") + ", key " + dir.resolve("ec.key")
                + " (from [tls], 2 of 2)");
        assertThat(first).as(r.out()).isZero();
        assertThat(second).as(r.out()).isGreaterThan(first);
        assertThat(lines.subList(first, second)).anySatisfy(l -> assertThat(l).contains("ok       names: covers the "
                + "hostname gw.example.com"));
        assertThat(problems(r)).singleElement().asString().contains("does not cover the hostname gw.example.com")
                .contains("other.example.com");
        assertThat(lines.indexOf(problems(r).getFirst())).isGreaterThan(second);
        assertThat(r.out()).contains("1 problem, 2 warnings.");
    }

    // ---- bad files ----

    @Test
    void badFilesAreOneLineNamingTheFileAndExit2() throws Exception {
        Path missing = dir.resolve("missing.pem");
        Path garbage = dir.resolve("garbage.pem");
        Files.writeString(garbage, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        Path binary = dir.resolve("binary.der");
        Files.write(binary, new byte[] {0x30, (byte) 0x82, (byte) 0xff, (byte) 0xfe, 0});
        KeyMaterial m = Certificates.selfSigned(List.of("gw.example.com"), KeyType.EC_P256, Duration.ofDays(1));
        Path cert = dir.resolve("c.pem");
        Path key = dir.resolve("k.pem");
        Pem.write(m, cert, key);

        assertOneLineExit2(run("cert", "show", missing.toString()), missing.toString());
        assertOneLineExit2(run("cert", "show", garbage.toString()), garbage.toString());
        assertOneLineExit2(run("cert", "show", binary.toString()), binary.toString());
        Run keyAsCert = run("cert", "show", key.toString());
        assertOneLineExit2(keyAsCert, key.toString());
        assertNoKeyMaterial(keyAsCert, m.key());

        Path badKey = dir.resolve("bad.key");
        Files.writeString(badKey, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, "hostname = \"gw.example.com\"\n[tls]\ncertificate = \"c.pem\"\nkey = \"bad.key\"\n");
        assertOneLineExit2(run("cert", "check", "--config", config.toString()), "bad.key");
        assertOneLineExit2(run("cert", "csr", "--host", "gw.example.com", "--key", cert.toString()), cert.toString());
    }

    // ---- helpers ----

    private Path gatewayConfig(String hostname, KeyMaterial material) throws Exception {
        Pem.write(material, dir.resolve("gw.crt"), dir.resolve("gw.key"));
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, "hostname = \"" + hostname + "\"\ndata_dir = \"data\"\n"
                + "[tls]\ncertificate = \"gw.crt\"\nkey = \"gw.key\"\n");
        return config;
    }

    private static List<String> problems(Run r) {
        List<String> out = new ArrayList<>();
        r.out().lines().filter(l -> l.strip().startsWith("PROBLEM")).forEach(out::add);
        return out;
    }

    private static void assertOneLineExit2(Run r, String mentions) {
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(r.errLines()).as(r.all()).singleElement().asString().contains(mentions);
        assertThat(r.out()).isEmpty();
    }

    /** Neither a PEM key block nor any piece of the key's encoding appears in the output. */
    private static void assertNoKeyMaterial(Run r, PrivateKey key) {
        String all = r.all();
        assertThat(all).doesNotContain("PRIVATE KEY");
        String base64 = Base64.getEncoder().encodeToString(key.getEncoded());
        for (int i = 0; i + 24 <= base64.length(); i += 24) {
            assertThat(all).doesNotContain(base64.substring(i, i + 24));
        }
        assertThat(all.toLowerCase()).doesNotContain(HexFormat.of().formatHex(key.getEncoded()).substring(0, 32));
    }

    private static PKCS10CertificationRequest parseCsr(String pem) throws Exception {
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            return (PKCS10CertificationRequest) parser.readObject();
        }
    }

    /** DNS names as they are, IP addresses as BC prints them ("#" and hex). */
    private static List<String> sans(PKCS10CertificationRequest csr) {
        var attributes = csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest);
        assertThat(attributes).hasSize(1);
        Extensions extensions = Extensions.getInstance(attributes[0].getAttrValues().getObjectAt(0));
        GeneralNames names = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
        List<String> out = new ArrayList<>();
        for (GeneralName n : names.getNames()) out.add(n.getName().toString());
        return out;
    }

    private static String colons(String hex) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < hex.length(); i += 2) {
            if (i > 0) b.append(':');
            b.append(hex.substring(i, i + 2).toUpperCase());
        }
        return b.toString();
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
    }

    private boolean posix() throws Exception {
        return Files.getFileStore(dir).supportsFileAttributeView("posix");
    }
}
