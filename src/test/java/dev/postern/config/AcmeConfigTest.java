package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [acme]}: defaults, values (names in lookup form), one line per problem, and the way back to TOML. */
class AcmeConfigTest {
    @TempDir Path dir;

    private ConfigFiles files;

    @BeforeEach void files() { files = new ConfigFiles(dir); }

    @Test void offByDefaultWithLetsEncryptHttp01AndEcdsa() throws Exception {
        Config.Acme a = files.load("").tls().acme();
        assertThat(a.enabled()).isFalse();
        assertThat(a.directory()).isEqualTo(URI.create("https://acme-v02.api.letsencrypt.org/directory"));
        assertThat(a.challenge()).isEqualTo(Config.AcmeChallenge.HTTP_01);
        assertThat(a.keyType()).isEqualTo(Config.AcmeKeyType.ECDSA);
        assertThat(a.httpAddress()).isEqualTo(new InetSocketAddress("0.0.0.0", 80));
        assertThat(a.renewBefore()).isNull(); // a third of the lifetime
    }

    @Test void valuesAreReadAndNamesTakeTheLookupForm() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), dev.postern.tls.Pem.certificate(dev.postern.tls.Certificates
                .selfSigned(List.of("ca.example"), dev.postern.tls.Certificates.KeyType.EC_P256,
                        Duration.ofDays(1)).leaf()));
        Config c = files.load("""
                hostname = "mx.example.com"
                [acme]
                enabled = true
                directory = "https://acme.example.net/dir"
                contact = "Postmaster@example.com"
                names = ["MAIL.Example.com", "bücher.example"]
                challenge = "tls-alpn-01"
                http_address = "127.0.0.1:8080"
                tls_address = "127.0.0.1:8443"
                key_type = "both"
                trust = "ca.pem"
                renew_before = "30d"
                retry_first = "5m"
                retry_max = "12h"
                """);
        Config.Acme a = c.tls().acme();
        assertThat(a.enabled()).isTrue();
        assertThat(a.contact()).isEqualTo("mailto:Postmaster@example.com");
        assertThat(a.names()).containsExactly("mail.example.com", "xn--bcher-kva.example");
        assertThat(a.challenge()).isEqualTo(Config.AcmeChallenge.TLS_ALPN_01);
        assertThat(a.keyType()).isEqualTo(Config.AcmeKeyType.BOTH);
        assertThat(a.trust()).isEqualTo(dir.resolve("ca.pem"));
        assertThat(a.renewBefore()).isEqualTo(Duration.ofDays(30));
        assertThat(a.tlsAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", 8443));
        // config show writes what loads to the same Config
        Path again = files.write(ConfigToml.write(ConfigToml.tables(c), List.of()));
        assertThat(ConfigLoader.load(again).tls().acme()).isEqualTo(a);
    }

    @Test void oneLinePerProblem() throws Exception {
        dev.postern.tls.Pem.write(dev.postern.tls.Certificates.selfSigned(List.of("mx.example.com"),
                dev.postern.tls.Certificates.KeyType.EC_P256, Duration.ofDays(30)), dir.resolve("gw.crt"),
                dir.resolve("gw.key"));
        assertThat(files.problems("""
                [tls]
                certificate = "gw.crt"
                key = "gw.key"
                [acme]
                enabled = true
                directory = "http://acme.example.net/dir"
                contact = "not an address"
                names = ["bad name!"]
                challenge = "dns-01"
                http_address = "80"
                key_type = "ed25519"
                trust = "missing.pem"
                retry_first = "2h"
                retry_max = "1h"
                renew_befor = "1d"
                """)).contains(
                "postern.toml: acme.directory: expected an https:// URL of an ACME directory like "
                        + "https://acme-v02.api.letsencrypt.org/directory, got \"http://acme.example.net/dir\"",
                "postern.toml: acme.contact: expected a mail address like postmaster@example.com, got \"not an address\"",
                "postern.toml: acme.challenge: expected \"http-01\" or \"tls-alpn-01\", got \"dns-01\"",
                "postern.toml: acme.key_type: expected \"ecdsa\", \"rsa\" or \"both\", got \"ed25519\"",
                "postern.toml: acme.retry_max: expected at least retry_first (2h), got 1h",
                "postern.toml: acme.renew_befor: unknown key (did you mean \"renew_before\"?)")
                .anySatisfy(p -> assertThat(p).startsWith("postern.toml: acme.names[0]: expected a domain"))
                .anySatisfy(p -> assertThat(p).startsWith("postern.toml: acme.http_address: expected host:port"))
                .anySatisfy(p -> assertThat(p).startsWith("postern.toml: acme.trust: expected a readable file"))
                .anySatisfy(p -> assertThat(p).startsWith("postern.toml: acme.enabled: expected no [tls] certificate files"));
    }
}
