package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern config show}: what it prints is TOML that {@code config check} accepts and that loads to the same
 * Config, for the embedded default, the shipped example and a config with every section; in its default form and
 * with {@code --all}.
 */
class ConfigShowTest {
    @TempDir Path dir;

    /** A config that sets a key of every section, with real files where the loader reads them. */
    private Path everySection() throws Exception {
        Files.writeString(dir.resolve("root.ds"),
                ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n");
        Files.writeString(dir.resolve("recipients.txt"), "alice\nbob@bücher.example\n");
        Files.writeString(dir.resolve("audit.password"), "s3cret-in-a-file\n");
        // real certificates and keys: config check reads them as serve does
        for (String name : List.of("a", "b", "ca", "client", "sts-ca", "sts")) {
            dev.postern.tls.Pem.write(dev.postern.tls.Certificates.selfSigned(List.of("mx." + name + ".example"),
                    dev.postern.tls.Certificates.KeyType.EC_P256, java.time.Duration.ofDays(30)),
                    dir.resolve(name + ".pem"), dir.resolve(name + ".key"));
        }
        Path f = dir.resolve("every.toml");
        Files.writeString(f, """
                hostname = "Mail.Bücher.example"
                data_dir = "spool"
                local_domains = ["bücher.example", "example.org"]
                relay_domains = ["partner.example"]
                relay_networks = ["127.0.0.0/8", "2001:db8::/48"]

                [[listeners]]
                address = "127.0.0.1:2525"
                role = "mx"
                require_tls = true
                client_certificate = "request"
                client_ca_file = "ca.pem"
                [[listeners]]
                address = "[::1]:2587"
                role = "submission"
                min_protocol = "TLSv1.3"
                ciphers = ["TLS_AES_256_GCM_SHA384"]
                min_cipher_bits = 256

                [tls]
                provider = "jdk"
                [[tls.certificates]]
                certificate = "a.pem"
                key = "a.key"
                [[tls.certificates]]
                certificate = "b.pem"
                key = "b.key"

                [limits]
                max_message_size = 10485760
                max_line_length = 4096
                max_recipients = 50
                max_errors = 5
                junk_commands = 20
                max_hops = 30
                command_timeout = "90s"
                data_timeout = "1h30m"
                session_timeout = "PT0.0015S"
                max_connections = 100
                max_active_sessions = 10
                max_connections_per_ip = 5

                [queue]
                retry_first = "2m"
                retry_max = "2h"
                lifetime = "3d"
                delay_warning = "off"

                [delivery]
                concurrency = 10
                per_destination = 2
                connect_timeout = "10s"
                command_timeout = "1m"
                data_timeout = "2m"
                smtp_port = 2525
                tls_provider = "jdk"

                [dns]
                servers = ["127.0.0.1:5353", "::1"]
                timeout = "3s"
                trust_ad = false
                trust_anchor_file = "root.ds"

                [routes]
                "partner.example" = "[192.0.2.10]:25"
                ".partner.example" = "relay.partner.example"
                "v6.example" = "[2001:db8::1]"

                [outbound_tls.default]
                level = "encrypt"
                min_key_bits = 0
                [outbound_tls."bücher.example"]
                level = "fingerprint"
                fingerprints = ["sha256:AB:CD:ef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"]
                memory = "flag"
                [outbound_tls."bank.example"]
                level = "secure"
                mode = "testing"
                match = [".bank.example", "192.0.2.7"]
                ca_file = "ca.pem"
                client_certificate = "client.pem"
                client_key = "client.key"
                min_protocol = "TLSv1.3"
                min_cipher_bits = 128

                [peer_memory]
                outbound = "flag"
                inbound = "off"
                max_domains = 500
                flush_interval = "30s"

                [[partners]]
                name = "Partner \\"one\\""
                sender_domains = ["partner.example"]
                networks = ["192.0.2.0/24"]
                client_names = ["*.partner.example"]
                require_tls = false
                require_client_certificate = true
                ca_file = "ca.pem"
                min_protocol = "TLSv1.3"
                min_cipher_bits = 128

                [[relay_clients]]
                fingerprints = ["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]
                [[relay_clients]]
                ca_file = "ca.pem"
                names = ["printer.example.org"]

                [recipients."bücher.example"]
                file = "recipients.txt"
                [recipients."partner.example"]
                verify = true

                [recipient_verification]
                positive_ttl = "1d"
                negative_ttl = "1h"
                cache_size = 1000
                timeout = "10s"
                max_probes = 3

                [auth]
                max_failures = 3
                window = "5m"
                lockout = "2m"
                max_lockout = "2h"
                network_max_failures = 30
                network_lockout = "30m"
                network_prefix_ipv4 = 16
                network_prefix_ipv6 = 56

                [audit]
                url = "jdbc:postgresql://audit:hunter2@db.example:5432/postern?sslmode=verify-full&sslpassword2=x"
                user = "audit"
                password_file = "audit.password"
                gateway_name = "gw-1"
                retention = "30d"
                queue_size = 500
                spill_max = "5MB"

                [mta_sts]
                enabled = false
                ca_file = "sts-ca.pem"
                connect_timeout = "5s"
                fetch_timeout = "20s"
                https_port = 8443
                max_domains = 50
                refresh_interval = "10m"

                [mta_sts.publish]
                listen = "127.0.0.1:8443"
                certificate = "sts.pem"
                key = "sts.key"
                mode = "enforce"
                max_age = "1d"
                mx = ["*.bücher.example", "mx.example.org"]

                [admin]
                listen = "[::1]:9025"
                tls = true

                [alerts]
                webhook = "https://hooks.example.net/postern?channel=mail"
                mail_to = "postmaster@bücher.example"
                certificate_warning = "30d"
                queue_size = 5000
                queue_age = "2h"

                [probes]
                enabled = false
                interval = "30m"
                timeout = "20s"
                domains = ["bücher.example", "partner.example"]

                [tls_rpt]
                send = true
                organization = "Bücher \\"Mail\\" GmbH"
                contact = "mailto:tls@xn--bcher-kva.example"
                from = "tls-reports@bücher.example"
                receive_address = "tlsrpt@example.org"
                max_report_size = "1MB"
                """);
        return f;
    }

    /** The text of {@code config show ARGS}, written to a file in another directory and loaded from there. */
    private Config reload(String name, String... args) throws Exception {
        Cli.Result r = Cli.run(args);
        assertThat(r.exit()).as(r.toString()).isZero();
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path shown = elsewhere.resolve(name);
        Files.writeString(shown, r.out());
        Cli.Result check = Cli.run("config", "check", shown.toString());
        assertThat(check.exit()).as(check + "\n--- shown\n" + r.out()).isZero();
        return ConfigLoader.load(shown);
    }

    private static void sameConfig(Config shown, Config original) {
        assertThat(shown).usingRecursiveComparison().ignoringFields("source").isEqualTo(original);
    }

    @Test void theEmbeddedDefaultRoundTrips() throws Exception {
        Path data = dir.resolve("data");
        Config original = ConfigLoader.defaults(data);
        sameConfig(reload("default.toml", "config", "show", "--data", data.toString()), original);
        sameConfig(reload("default-all.toml", "config", "show", "--all", "--data", data.toString()), original);
        // like postconf -n on a fresh main.cf: nothing but the one key that depends on where the file is
        assertThat(Cli.run("config", "show", "--data", data.toString()).out().lines()
                .filter(l -> !l.startsWith("#") && !l.isBlank()).toList())
                .containsExactly("data_dir = " + quoted(data.toAbsolutePath().toString()));
    }

    @Test void theExampleRoundTrips() throws Exception {
        String example = Path.of("examples/postern.toml").toString();
        Config original = ConfigLoader.load(Path.of(example));
        sameConfig(reload("example.toml", "config", "show", "--config", example), original);
        sameConfig(reload("example-all.toml", "config", "show", "--all", "--config", example), original);
    }

    @Test void everySectionRoundTripsAndTheSecretIsMasked() throws Exception {
        Path f = everySection();
        Config original = ConfigLoader.load(f);
        Cli.Result shown = Cli.run("config", "show", "--config", f.toString());
        assertThat(shown.out()).doesNotContain("hunter2").contains(
                "url = \"jdbc:postgresql://audit:********@db.example:5432/postern?sslmode=verify-full"
                        + "&sslpassword2=********\"",
                // domains in lookup form, the Unicode one beside the table it keys
                "[outbound_tls.\"xn--bcher-kva.example\"]  # bücher.example",
                // relative paths come out absolute, so the text means the same wherever it is saved
                "file = " + quoted(dir.resolve("recipients.txt").toString()),
                "session_timeout = \"PT0.0015S\"", "max_message_size = \"10MB\"", "delay_warning = \"off\"",
                "trust_ad = false", "name = \"Partner \\\"one\\\"\"");
        for (String all : new String[] {"", "--all"}) {
            List<String> args = new ArrayList<>(List.of("config", "show", "--config", f.toString()));
            if (!all.isEmpty()) args.add(all);
            Config again = reload("every" + all + ".toml", args.toArray(String[]::new));
            // the one difference: the masked password
            assertThat(again.audit().url()).isEqualTo("jdbc:postgresql://audit:********@db.example:5432/postern"
                    + "?sslmode=verify-full&sslpassword2=********");
            sameConfig(again.withAudit(original.audit()), original);
        }
    }

    /** --all has a value for every key, those the file did not set included; the default form has only changes. */
    @Test void allHasTheDefaultsTheFileDidNotSet() throws Exception {
        Path f = dir.resolve("small.toml");
        Files.writeString(f, """
                [delivery]
                concurrency = 70
                """);
        JsonNode all = new TomlMapper().readTree(Cli.run("config", "show", "--all", "--config", f.toString()).out());
        assertThat(all.at("/delivery/concurrency").intValue()).isEqualTo(70);
        assertThat(all.at("/delivery/per_destination").intValue()).isEqualTo(20);
        assertThat(all.at("/limits/max_message_size").textValue()).isEqualTo("50MB");
        assertThat(all.at("/queue/delay_warning").textValue()).isEqualTo("4h");
        assertThat(all.at("/outbound_tls/default/level").textValue()).isEqualTo("dane");
        assertThat(all.at("/listeners").size()).isEqualTo(3);
        assertThat(all.at("/mta_sts/publish/mode").textValue()).isEqualTo("testing");
        String text = Cli.run("config", "show", "--all", "--config", f.toString()).out();
        assertThat(text).contains("# url: not set, so SQLite at data_dir/audit/audit.db",
                "# certificate: not set, so self-signed certificates are generated under data_dir/tls");

        JsonNode changed = new TomlMapper().readTree(Cli.run("config", "show", "--config", f.toString()).out());
        assertThat(changed.at("/delivery/concurrency").intValue()).isEqualTo(70);
        assertThat(changed.at("/delivery/per_destination").isMissingNode()).isTrue();
        assertThat(changed.has("limits")).isFalse();
        assertThat(changed.at("/data_dir").textValue()).isEqualTo(dir.resolve("data").toString());

        // --defaults, like postconf -d: what the file changed, as it would be without it
        assertThat(Cli.run("config", "show", "--defaults", "delivery.concurrency", "--config", f.toString()).out())
                .isEqualTo("delivery.concurrency = 100\n");
        JsonNode defaults = new TomlMapper().readTree(Cli.run("config", "show", "--defaults", "--config",
                f.toString()).out());
        assertThat(defaults.at("/delivery/concurrency").intValue()).isEqualTo(100);
        assertThat(defaults.at("/auth/max_failures").intValue()).isEqualTo(5);
    }

    /**
     * Every key docs/configuration.md documents is in {@code --all} of a config with every section (as a value or
     * as a "not set" comment): a key added to the loader and its docs but not to {@code config show} fails here.
     */
    @Test void allShowsEveryDocumentedKey() throws Exception {
        Map<String, Set<String>> shown = new HashMap<>(); // section, domain keys as "*" -> keys
        String section = "";
        for (String line : Cli.run("config", "show", "--all", "--config", everySection().toString()).outLines()) {
            Matcher header = Pattern.compile("^\\[\\[?([^\\]]+)\\]\\]?").matcher(line);
            Matcher key = Pattern.compile("^(?:# )?([a-z0-9_]+)(?: =|: not set)").matcher(line);
            if (header.find()) section = anyDomain(header.group(1));
            else if (key.find()) shown.computeIfAbsent(section, s -> new HashSet<>()).add(key.group(1));
        }
        List<String> missing = new ArrayList<>();
        List<String> sections = List.of();
        boolean keyTable = false;
        int documented = 0;
        for (String line : Files.readAllLines(Path.of("docs/configuration.md"))) {
            if (line.startsWith("## ") || line.startsWith("### ")) {
                Matcher m = Pattern.compile("`\\[\\[?([^\\]`]+)\\]\\]?`").matcher(line);
                List<String> found = new ArrayList<>();
                while (m.find()) found.add(anyDomain(m.group(1)));
                sections = line.contains("Top-level keys") ? List.of("") : found;
                keyTable = false;
            } else if (line.startsWith("| key |")) {
                keyTable = true;
            } else if (!line.startsWith("|")) {
                keyTable = false;
            } else if (keyTable && !sections.isEmpty() && !line.startsWith("|---")) {
                Matcher k = Pattern.compile("`([a-z0-9_]+)`").matcher(line.split("\\|")[1]);
                while (k.find()) {
                    documented++;
                    String name = k.group(1);
                    boolean present = sections.stream().anyMatch(s -> shown.getOrDefault(s, Set.of()).contains(name)
                            || shown.keySet().stream().anyMatch(t -> t.startsWith(s.isEmpty() ? name : s + "." + name)
                            || !s.isEmpty() && t.startsWith(s + ".") && shown.get(t).contains(name)));
                    if (!present) missing.add(sections + " " + name);
                }
            }
        }
        assertThat(documented).as("keys found in docs/configuration.md").isGreaterThan(100);
        assertThat(missing).as("documented keys config show --all does not show").isEmpty();
    }

    /** A table path with its quoted segments (domains) as "*". */
    private static String anyDomain(String header) {
        return header.replaceAll("\"[^\"]*\"", "*");
    }

    @Test void keysAndTablesByName() throws Exception {
        Path f = everySection();
        Cli.Result r = Cli.run("config", "show", "delivery.concurrency", "outbound_tls.bank.example.level",
                "mta_sts.publish", "--config", f.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith("""
                delivery.concurrency = 10
                outbound_tls."bank.example".level = "secure"

                [mta_sts.publish]
                listen = "127.0.0.1:8443"
                """);
        JsonNode parsed = new TomlMapper().readTree(r.out());
        assertThat(parsed.at("/mta_sts/publish/mode").textValue()).isEqualTo("enforce");
        assertThat(Cli.run("config", "show", "listeners", "--config", f.toString()).out())
                .contains("[[listeners]]\naddress = \"[::1]:2587\"");
        assertThat(Cli.run("config", "show", "audit.url", "--config", f.toString()).out()).doesNotContain("hunter2");
    }

    /**
     * A real process under LANG=C: TOML and JSON are UTF-8 whatever the locale (the locale's charset would turn
     * "Bücher GmbH" into "B?cher GmbH", which loads back as another name).
     */
    @Test void documentsAreUtf8UnderTheCLocale() throws Exception {
        Path f = dir.resolve("unicode.toml");
        Files.writeString(f, """
                data_dir = "data"
                [[partners]]
                name = "Bücher GmbH"
                sender_domains = ["bücher.example"]
                """);
        String toml = inCLocale("config", "show", "--config", f.toString());
        assertThat(toml).contains("name = \"Bücher GmbH\"");
        Path again = dir.resolve("again.toml");
        Files.writeString(again, toml);
        assertThat(ConfigLoader.load(again).inbound().partners().getFirst().name()).isEqualTo("Bücher GmbH");
        assertThat(inCLocale("policy", "show", "xn--bcher-kva.example", "--json", "--config", f.toString()))
                .contains("\"unicode\" : \"bücher.example\"");
    }

    private String inCLocale(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("LANG", "C");
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        return new String(out, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test void anUnknownKeyIsOneLineAndExitTwo() {
        Cli.Result r = Cli.run("config", "show", "delivery.concurency");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactly("postern: config show: no key or table \"delivery.concurency\" (did "
                + "you mean \"delivery.concurrency\"?) (expected a key like delivery.concurrency or a table like "
                + "delivery)");
        Cli.Result far = Cli.run("config", "show", "zzzz");
        assertThat(far.exit()).isEqualTo(2);
        assertThat(far.errLines()).hasSize(1);
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\\", "\\\\") + "\"";
    }
}
