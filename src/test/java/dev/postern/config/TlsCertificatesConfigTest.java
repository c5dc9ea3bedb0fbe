package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.config.Config.CertificatePair;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [tls]}: one pair as certificate and key, several as [[tls.certificates]], never both; and the record. */
class TlsCertificatesConfigTest {
    @TempDir Path dir;

    @BeforeEach void files() throws IOException {
        for (String name : List.of("rsa.pem", "rsa.key", "ecdsa.pem", "ecdsa.key")) Files.writeString(dir.resolve(name), "x");
    }

    private Path write(String toml) throws IOException {
        Path file = dir.resolve("postern.toml");
        Files.writeString(file, toml);
        return file;
    }

    private List<String> problems(String toml) throws IOException {
        Path file = write(toml);
        try {
            ConfigLoader.load(file);
        } catch (ConfigException e) {
            return e.problems().stream().map(p -> "postern.toml: " + p.substring(file.toString().length() + 2))
                    .toList();
        }
        throw new AssertionError("expected problems with:\n" + toml);
    }

    private static final String TWO = """
            [[tls.certificates]]
            certificate = "rsa.pem"
            key = "rsa.key"
            [[tls.certificates]]
            certificate = "ecdsa.pem"
            key = "ecdsa.key"
            """;

    @Test void severalPairsInFileOrderTheFirstAlsoAsCertificateAndKey() throws Exception {
        Config.Tls tls = ConfigLoader.load(write(TWO)).tls();

        CertificatePair rsa = new CertificatePair(dir.resolve("rsa.pem"), dir.resolve("rsa.key"));
        CertificatePair ecdsa = new CertificatePair(dir.resolve("ecdsa.pem"), dir.resolve("ecdsa.key"));
        assertThat(tls.pairs()).containsExactly(rsa, ecdsa);
        assertThat(tls.certificate()).isEqualTo(rsa.certificate());
        assertThat(tls.key()).isEqualTo(rsa.key());
        assertThat(tls.more()).containsExactly(ecdsa);
        assertThat(tls.generated()).isFalse();
        assertThat(tls).isEqualTo(Config.Tls.of(List.of(rsa, ecdsa)).withProvider(Config.TlsProvider.AUTO));
    }

    @Test void oneTableInTheArrayFormIsTheSameAsTheSingleForm() throws Exception {
        Config.Tls array = ConfigLoader.load(write("[[tls.certificates]]\ncertificate = \"rsa.pem\"\nkey = \"rsa.key\"\n"))
                .tls();
        Config.Tls single = ConfigLoader.load(write("[tls]\ncertificate = \"rsa.pem\"\nkey = \"rsa.key\"\n")).tls();

        assertThat(array).isEqualTo(single).isEqualTo(new Config.Tls(dir.resolve("rsa.pem"), dir.resolve("rsa.key"))
                .withProvider(Config.TlsProvider.AUTO));
        assertThat(single.pairs()).containsExactly(new CertificatePair(dir.resolve("rsa.pem"), dir.resolve("rsa.key")));
        assertThat(single.more()).isEmpty();
    }

    @Test void noCertificateMeansGenerated() throws Exception {
        Config.Tls tls = ConfigLoader.load(write("")).tls();

        assertThat(tls).isEqualTo(Config.Tls.GENERATED.withProvider(Config.TlsProvider.AUTO)); // the file's default
        assertThat(tls.generated()).isTrue();
        assertThat(tls.pairs()).isEmpty();
    }

    @Test void eitherFormNotBoth() throws Exception {
        assertThat(problems("[tls]\ncertificate = \"rsa.pem\"\nkey = \"rsa.key\"\n" + TWO)).containsExactly(
                "postern.toml: tls: expected either certificate and key or [[tls.certificates]] tables, got "
                        + "certificate, key and [[tls.certificates]]");
        assertThat(problems("[tls]\nkey = \"rsa.key\"\n" + TWO)).containsExactly(
                "postern.toml: tls: expected either certificate and key or [[tls.certificates]] tables, got "
                        + "key and [[tls.certificates]]");
    }

    @Test void everyTableNeedsReadableCertificateAndKey() throws Exception {
        assertThat(problems("""
                [[tls.certificates]]
                certificate = "rsa.pem"
                [[tls.certificates]]
                certificate = "none.pem"
                key = "ecdsa.key"
                keyfile = "x"
                """)).containsExactly(
                "postern.toml: tls.certificates[0].key: expected a file path, got nothing",
                "postern.toml: tls.certificates[1].certificate: expected a readable file, got \"none.pem\" "
                        + "(file not found: " + dir.resolve("none.pem") + ")",
                "postern.toml: tls.certificates[1].keyfile: unknown key (known keys: certificate, key)");
    }

    @Test void wrongShapes() throws Exception {
        assertThat(problems("[tls]\ncertificates = []\n")).containsExactly("postern.toml: tls.certificates: expected "
                + "at least one of [[tls.certificates]] tables, each with certificate and key, got []");
        assertThat(problems("[tls]\ncertificates = \"rsa.pem\"\n")).containsExactly("postern.toml: "
                + "tls.certificates: expected [[tls.certificates]] tables, each with certificate and key, got "
                + "\"rsa.pem\"");
        assertThat(problems("[tls]\ncertificates = [\"rsa.pem\", {certificate = \"ecdsa.pem\", key = \"ecdsa.key\"}]\n"))
                .containsExactly("postern.toml: tls.certificates[0]: expected a table with certificate and key, got "
                        + "\"rsa.pem\"");
        assertThat(problems("[tls]\ncertficates = []\n")).containsExactly(
                "postern.toml: tls.certficates: unknown key (did you mean \"certificates\"?)");
    }

    @Test void aCertificateFileServesOnePairOnly() throws Exception {
        assertThat(problems(TWO + "[[tls.certificates]]\ncertificate = \"./rsa.pem\"\nkey = \"ecdsa.key\"\n"))
                .containsExactly("postern.toml: tls.certificates[2].certificate: expected a certificate file no other "
                        + "pair uses, got \"./rsa.pem\" (tls.certificates[0] uses it too)");
    }

    @Test void theRecordKeepsItsParts() {
        Path c = dir.resolve("rsa.pem"), k = dir.resolve("rsa.key");
        assertThat(new Config.Tls(c, k)).isEqualTo(new Config.Tls(c, k, List.of()));
        assertThat(new Config.Tls(c, k, null).more()).isEmpty();
        assertThat(Config.Tls.of(List.of())).isSameAs(Config.Tls.GENERATED);
        assertThatThrownBy(() -> new Config.Tls(c, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Config.Tls(null, null, List.of(new CertificatePair(c, k))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new CertificatePair(c, null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test void providerIsAutoUnlessChosenWithAnyCertificates() throws Exception {
        assertThat(ConfigLoader.load(write("")).tls().provider()).isEqualTo(Config.TlsProvider.AUTO);
        assertThat(ConfigLoader.load(write("[tls]\nprovider = \"auto\"\n")).tls().provider())
                .isEqualTo(Config.TlsProvider.AUTO);
        assertThat(ConfigLoader.load(write("[tls]\nprovider = \"jdk\"\n")).tls())
                .isEqualTo(Config.Tls.GENERATED);
        assertThat(ConfigLoader.load(write("[tls]\nprovider = \"conscrypt\"\n")).tls())
                .isEqualTo(Config.Tls.GENERATED.withProvider(Config.TlsProvider.CONSCRYPT));
        Config.Tls single = ConfigLoader.load(write(
                "[tls]\nprovider = \"conscrypt\"\ncertificate = \"rsa.pem\"\nkey = \"rsa.key\"\n")).tls();
        assertThat(single.provider()).isEqualTo(Config.TlsProvider.CONSCRYPT);
        assertThat(single.certificate()).isEqualTo(dir.resolve("rsa.pem"));
        Config.Tls one = ConfigLoader.load(write("[tls]\nprovider = \"conscrypt\"\n"
                + TWO.substring(0, TWO.indexOf("[[tls.certificates]]", 1)))).tls();
        assertThat(one.provider()).isEqualTo(Config.TlsProvider.CONSCRYPT);
        assertThat(one.pairs()).hasSize(1);
        assertThat(new Config.Tls(null, null, null, null).provider()).isEqualTo(Config.TlsProvider.JDK);
    }

    @Test void anyOtherProviderIsOneProblemLine() throws Exception {
        assertThat(problems("[tls]\nprovider = \"openssl\"\n"))
                .containsExactly("postern.toml: tls.provider: expected auto, jdk or conscrypt, got \"openssl\"");
        assertThat(problems("[tls]\nprovider = \"Conscrypt\"\n"))
                .containsExactly("postern.toml: tls.provider: expected auto, jdk or conscrypt, got \"Conscrypt\"");
        assertThat(problems("[tls]\nprovider = \"conscrypt\"\n" + TWO)).containsExactly("postern.toml: tls.provider: "
                + "conscrypt serves one certificate only, got 2 [[tls.certificates]] tables (use provider = \"jdk\" to "
                + "serve RSA and ECDSA together)");
        assertThat(problems("[tls]\nprovider = true\n"))
                .containsExactly("postern.toml: tls.provider: expected auto, jdk or conscrypt, got true");
    }
}
