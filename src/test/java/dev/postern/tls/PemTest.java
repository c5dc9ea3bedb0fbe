package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.tls.Certificates.KeyType;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PemTest {
    @TempDir Path dir;

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"RSA_2048", "EC_P256", "EC_P384"})
    void roundTripKeepsKeyAndChain(KeyType type) throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", type, Duration.ofDays(30));
        KeyMaterial material = Certificates.issue(ca, List.of("mx.example.test"), type, Instant.now(), Duration.ofDays(1));
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");

        Pem.write(material, cert, key);
        KeyMaterial loaded = Pem.load(cert, key);

        assertThat(loaded.key().getEncoded()).isEqualTo(material.key().getEncoded());
        assertThat(loaded.chain()).containsExactlyElementsOf(material.chain()).hasSize(2);
        assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----\n").endsWith("-----END PRIVATE KEY-----\n");
        assertThat(Files.readString(cert)).doesNotContain("PRIVATE KEY");
        assertThat(Files.list(dir).map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("cert.pem", "key.pem");
        if (posix()) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cert))).isEqualTo("rw-r--r--");
        }
    }

    @Test
    void writeReplacesExistingFilesAndKeyStaysPrivate() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Files.writeString(cert, "old");
        Files.writeString(key, "old");
        if (posix()) Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-rw-rw-"));
        KeyMaterial material = Certificates.selfSigned(List.of("mx.example.test"), KeyType.EC_P256, Duration.ofDays(1));

        Pem.write(material, cert, key);

        assertThat(Pem.load(cert, key).leaf()).isEqualTo(material.leaf());
        if (posix()) assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
    }

    @Test
    void certificateAndKeyMayShareOneFile() throws Exception {
        Path both = dir.resolve("both.pem");
        KeyMaterial material = Certificates.selfSigned(List.of("mx.example.test"), KeyType.EC_P256, Duration.ofDays(1));

        Pem.write(material, both, both);
        KeyMaterial loaded = Pem.load(both, both);

        assertThat(loaded.leaf()).isEqualTo(material.leaf());
        assertThat(loaded.key().getEncoded()).isEqualTo(material.key().getEncoded());
        if (posix()) assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(both))).isEqualTo("rw-------");
    }

    @Test
    void loadsPkcs1RsaKey() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("mx.example.test"), KeyType.RSA_2048, Duration.ofDays(1));
        Path cert = dir.resolve("cert.pem");
        Pem.write(material, cert, dir.resolve("unused.pem"));
        Path key = dir.resolve("key.pem");
        Files.writeString(key, legacyPem(material.key()));
        assertThat(Files.readString(key)).startsWith("-----BEGIN RSA PRIVATE KEY-----");

        RSAPrivateKey loaded = (RSAPrivateKey) Pem.load(cert, key).key();

        RSAPrivateKey original = (RSAPrivateKey) material.key();
        assertThat(loaded.getModulus()).isEqualTo(original.getModulus());
        assertThat(loaded.getPrivateExponent()).isEqualTo(original.getPrivateExponent());
    }

    @Test
    void loadsSec1EcKeyWithCurveInside() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("mx.example.test"), KeyType.EC_P384, Duration.ofDays(1));
        Path cert = dir.resolve("cert.pem");
        Pem.write(material, cert, dir.resolve("unused.pem"));
        ECPrivateKey original = (ECPrivateKey) material.key();
        // SEC1 as OpenSSL writes it: the curve OID inside the key structure.
        var sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(384, original.getS(), SECObjectIdentifiers.secp384r1);
        Path key = Files.writeString(dir.resolve("key.pem"), "-----BEGIN EC PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(sec1.getEncoded())
                + "\n-----END EC PRIVATE KEY-----\n");

        ECPrivateKey loaded = (ECPrivateKey) Pem.load(cert, key).key();

        assertThat(loaded.getS()).isEqualTo(original.getS());
    }

    @Test
    void loadsSec1EcKeyAfterEcParametersBlock() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("mx.example.test"), KeyType.EC_P256, Duration.ofDays(1));
        Path cert = dir.resolve("cert.pem");
        Pem.write(material, cert, dir.resolve("unused.pem"));
        Path key = dir.resolve("key.pem");
        // The curve OID in its own block first, as "openssl ecparam -genkey" writes; BC's SEC1 here has no curve inside.
        Files.writeString(key, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
                + legacyPem(material.key()));
        assertThat(Files.readString(key)).contains("-----BEGIN EC PRIVATE KEY-----");

        ECPrivateKey loaded = (ECPrivateKey) Pem.load(cert, key).key();

        assertThat(loaded.getS()).isEqualTo(((ECPrivateKey) material.key()).getS());
    }

    @Test
    void readsABundle() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("CA 1", KeyType.EC_P256, Duration.ofDays(1));
        KeyMaterial leaf = Certificates.issue(ca, List.of("a.example.test"), KeyType.EC_P256, Instant.now(), Duration.ofDays(1));
        Path bundle = dir.resolve("bundle.pem");
        Pem.write(leaf, bundle, dir.resolve("key.pem"));
        Files.writeString(bundle, "# comments around blocks are ignored\n" + Files.readString(bundle));

        assertThat(Pem.readCertificates(bundle)).containsExactlyElementsOf(leaf.chain());
    }

    @Test
    void keyFileWithoutKey() throws Exception {
        Path cert = writeSelfSigned("cert.pem");
        Files.createDirectories(dir.resolve("tls"));
        Path key = Files.writeString(dir.resolve("tls/key.pem"), Files.readString(cert));

        assertFails(() -> Pem.load(cert, key), key + ": no private key found");
    }

    @Test
    void certificateFileWithoutCertificate() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "this is not PEM\n");
        Path key = dir.resolve("key.pem");
        Pem.write(Certificates.selfSigned(List.of("a.example.test"), KeyType.EC_P256, Duration.ofDays(1)),
                dir.resolve("other.pem"), key);

        assertFails(() -> Pem.load(cert, key), cert + ": not a PEM certificate");
        assertFails(() -> Pem.load(key, key), key + ": not a PEM certificate");
        assertFails(() -> Pem.readCertificates(cert), cert + ": not a PEM certificate");
    }

    @Test
    void keyOfAnotherCertificate() throws Exception {
        Path cert = writeSelfSigned("cert.pem");
        Path otherKey = dir.resolve("other-key.pem");
        Pem.write(Certificates.selfSigned(List.of("b.example.test"), KeyType.EC_P256, Duration.ofDays(1)),
                dir.resolve("other.pem"), otherKey);
        Path rsaKey = dir.resolve("rsa-key.pem");
        Pem.write(Certificates.selfSigned(List.of("b.example.test"), KeyType.RSA_2048, Duration.ofDays(1)),
                dir.resolve("rsa.pem"), rsaKey);

        assertFails(() -> Pem.load(cert, otherKey), "key does not match certificate " + cert);
        assertFails(() -> Pem.load(cert, rsaKey), "key does not match certificate " + cert);
    }

    @Test
    void missingFile() throws Exception {
        Path cert = writeSelfSigned("cert.pem");
        Path key = dir.resolve("missing.pem");

        assertFails(() -> Pem.load(cert, key), key + ": no such file");
        assertFails(() -> Pem.load(dir.resolve("nope.pem"), key), dir.resolve("nope.pem") + ": no such file");
    }

    @Test
    void damagedCertificateAndKey() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        Path key = Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        Path good = writeSelfSigned("good.pem");

        assertFails(() -> Pem.load(cert, key), cert + ": bad certificate #1");
        assertFails(() -> Pem.load(good, key), key + ": bad PRIVATE KEY");
    }

    @Test
    void encryptedKeyIsRefusedClearly() throws Exception {
        Path cert = writeSelfSigned("cert.pem");
        Path key = Files.writeString(dir.resolve("key.pem"),
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");

        assertFails(() -> Pem.load(cert, key), key + ": encrypted private keys are not supported");
        Path legacy = Files.writeString(dir.resolve("legacy.pem"), "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                + "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        assertFails(() -> Pem.load(cert, legacy), legacy + ": encrypted private keys are not supported");
    }

    private Path writeSelfSigned(String name) throws IOException {
        Path cert = dir.resolve(name);
        Pem.write(Certificates.selfSigned(List.of("a.example.test"), KeyType.EC_P256, Duration.ofDays(1)),
                cert, dir.resolve(name + ".key"));
        return cert;
    }

    /** Bouncy Castle's PEM writer emits PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY") for private keys. */
    private static String legacyPem(PrivateKey key) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(key);
        }
        return out.toString();
    }

    /** Fails with a TlsConfigException whose message is one line starting with {@code expected}. */
    private static void assertFails(ThrowingCallable call, String expected) {
        assertThatThrownBy(call).isInstanceOf(TlsConfigException.class)
                .message().startsWith(expected).doesNotContain("\n");
    }

    private boolean posix() throws IOException {
        return Files.getFileStore(dir).supportsFileAttributeView("posix");
    }
}
