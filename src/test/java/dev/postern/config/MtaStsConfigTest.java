package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [mta_sts]}: on by default, every key, one line naming file, key and expectation for each bad value. */
class MtaStsConfigTest {
    @TempDir Path dir;
    private ConfigFiles files;

    @BeforeEach void files() { files = new ConfigFiles(dir); }

    @Test void absentMeansOnWithTheDefaults() throws Exception {
        assertThat(files.load("").mtaSts()).isEqualTo(Config.MtaSts.DEFAULT).isEqualTo(new Config.MtaSts(true, null,
                Duration.ofSeconds(10), Duration.ofSeconds(60), 443, 10_000, Duration.ofHours(1)));
    }

    @Test void everyKey() throws Exception {
        Path ca = dir.resolve("ca.pem");
        Files.writeString(ca, "-----BEGIN CERTIFICATE-----\n");
        Config c = files.load("""
                [mta_sts]
                enabled = false
                ca_file = "ca.pem"
                connect_timeout = "3s"
                fetch_timeout = "20s"
                https_port = 8443
                max_domains = 500
                refresh_interval = "30m"
                """);
        assertThat(c.mtaSts()).isEqualTo(new Config.MtaSts(false, ca, Duration.ofSeconds(3), Duration.ofSeconds(20),
                8443, 500, Duration.ofMinutes(30)));
    }

    @Test void publishEveryKey() throws Exception {
        Path crt = dir.resolve("sts.crt"), key = dir.resolve("sts.key");
        Files.writeString(crt, "x");
        Files.writeString(key, "x");
        Config c = files.load("""
                [mta_sts.publish]
                listen = "127.0.0.1:8443"
                certificate = "sts.crt"
                key = "sts.key"
                mode = "enforce"
                max_age = "1d"
                mx = ["MX.Example.COM", "*.Backup.Example.com."]
                """);
        assertThat(c.mtaSts().publish()).isEqualTo(new Config.Publish(
                new java.net.InetSocketAddress("127.0.0.1", 8443), crt, key, "enforce", Duration.ofDays(1),
                java.util.List.of("mx.example.com", "*.backup.example.com")));
        assertThat(files.load("").mtaSts().publish()).isEqualTo(Config.Publish.DEFAULT);
        assertThat(Config.Publish.DEFAULT.listen()).isNull();
    }

    @Test void eachBadValueIsOneLineNamingFileKeyAndExpectation() throws IOException {
        String[][] cases = {
            {"enabled = \"yes\"", "mta_sts.enabled: expected true or false, got \"yes\""},
            {"ca_file = \"nope.pem\"", "mta_sts.ca_file: expected a readable file, got \"nope.pem\" (file not found: "
                    + dir.resolve("nope.pem") + ")"},
            {"fetch_timeout = \"10m\"", "mta_sts.fetch_timeout: expected a duration from 1s to 5m, got \"10m\""},
            {"connect_timeout = \"30s\"\nfetch_timeout = \"20s\"", "mta_sts.connect_timeout: expected at most "
                    + "mta_sts.fetch_timeout (20s), got \"30s\""},
            {"https_port = 0", "mta_sts.https_port: expected an integer from 1 to 65535, got 0"},
            {"max_domains = 0", "mta_sts.max_domains: expected an integer from 1 to 1000000, got 0"},
            {"refresh_interval = \"1s\"", "mta_sts.refresh_interval: expected a duration from 1m to 1d, got \"1s\""},
            {"enable = true", "mta_sts.enable: unknown key (did you mean \"enabled\"?)"},
        };
        for (String[] c : cases) {
            assertThat(files.problems("[mta_sts]\n" + c[0])).as(c[0]).containsExactly("postern.toml: " + c[1]);
        }
    }
}
