package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.config.Config.Listener;
import dev.postern.config.Config.Network;
import dev.postern.config.Config.Role;
import dev.postern.config.Config.Route;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir Path dir;

    private Path write(String toml) throws IOException {
        Path file = dir.resolve("postern.toml");
        Files.writeString(file, toml);
        return file;
    }

    /** Loads, expecting failure; returns the problem lines with the file prefix stripped for readability. */
    private List<String> problems(String toml) throws IOException {
        Path file = write(toml);
        try {
            ConfigLoader.load(file);
        } catch (ConfigException e) {
            assertThat(e.problems()).allSatisfy(p -> assertThat(p).startsWith(file + ": "));
            assertThat(e.getMessage()).isEqualTo(String.join("\n", e.problems()));
            return e.problems().stream().map(p -> "postern.toml: " + p.substring(file.toString().length() + 2))
                    .toList();
        }
        throw new AssertionError("expected a ConfigException for:\n" + toml);
    }

    private static InetSocketAddress socket(String hostPort) { return Listener.parseAddress(hostPort); }

    private static void assertDefaultsExceptPlaces(Config c) {
        assertThat(c.listeners()).containsExactly(
                new Listener(socket("127.0.0.1:2525"), Role.MX),
                new Listener(socket("127.0.0.1:2587"), Role.SUBMISSION),
                new Listener(socket("127.0.0.1:2465"), Role.SUBMISSIONS));
        assertThat(c.localDomains()).containsExactlyInAnyOrder("localhost", "postern.test");
        assertThat(c.relayDomains()).isEmpty();
        assertThat(c.relayNetworks()).containsExactly(Network.parse("127.0.0.0/8"), Network.parse("::1/128"));
        assertThat(c.tls()).isEqualTo(Config.Tls.GENERATED.withProvider(Config.TlsProvider.AUTO));
        assertThat(c.limits()).isEqualTo(new Config.Limits(2048, 50L * 1024 * 1024, 1000, 10, Duration.ofMinutes(5),
                Duration.ofMinutes(10), Duration.ofMinutes(30), 500, 20));
        assertThat(c.queue()).isEqualTo(new Config.Queue(Duration.ofMinutes(1), Duration.ofHours(1),
                Duration.ofDays(5), Duration.ofHours(4)));
        assertThat(c.delivery()).isEqualTo(new Config.Delivery(100, 20, Duration.ofSeconds(30), Duration.ofMinutes(5),
                Duration.ofMinutes(10), 25));
        assertThat(c.dns()).isEqualTo(new Config.Dns(List.of(), Duration.ofSeconds(5)));
        assertThat(c.routes()).isEmpty();
        assertThat(Syntax.isHostName(c.hostname())).as(c.hostname()).isTrue();
    }

    @Test
    void emptyFileGivesEveryDefault() throws Exception {
        Path file = write("# nothing but a comment\n");
        Config c = ConfigLoader.load(file);
        assertDefaultsExceptPlaces(c);
        assertThat(c.source()).isEqualTo(file.toAbsolutePath());
        assertThat(c.dataDir()).isEqualTo(dir.resolve("data").toAbsolutePath());
    }

    @Test
    void embeddedDefault() {
        Config c = ConfigLoader.defaults(dir.resolve("spool"));
        assertDefaultsExceptPlaces(c);
        assertThat(c.source()).isNull();
        assertThat(c.dataDir()).isEqualTo(dir.resolve("spool"));
    }

    @Test
    void fullFileGivesEveryValue() throws Exception {
        Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\n");
        Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\n");
        Config c = ConfigLoader.load(write("""
                hostname = "GW.Example.com"
                data_dir = "/var/lib/postern"
                local_domains = ["Example.COM", "example.net"]
                relay_domains = ["partner.example"]
                relay_networks = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
                allow_wide_relay_networks = true

                [[listeners]]
                address = "0.0.0.0:25"
                role = "mx"

                [[listeners]]
                address = "[::1]:587"
                role = "Submission"

                [tls]
                certificate = "cert.pem"
                key = "key.pem"

                [limits]
                max_line_length = 4096
                max_message_size = "25MB"
                max_recipients = 200
                max_errors = 5
                command_timeout = "PT2M"
                data_timeout = "3m"
                session_timeout = "1h30m"
                max_connections = 1000
                max_connections_per_ip = 50

                [queue]
                retry_first = "30s"
                retry_max = "2h"
                lifetime = "3d"
                delay_warning = "off"

                [delivery]
                concurrency = 50
                per_destination = 10
                connect_timeout = "10s"
                command_timeout = "4m"
                data_timeout = "8m"
                smtp_port = 2525
                tls_provider = "conscrypt"

                [dns]
                servers = ["192.0.2.53", "192.0.2.54:5353", "[2001:db8::53]:53", "2001:db8::54"]
                timeout = "2500ms"

                [routes]
                "partner.example" = "[192.0.2.10]:25"
                "other.example" = "relay.other.example"
                ".sub.example" = "[relay.sub.example]"
                "v6.example" = "[2001:db8::25]:587"
                """));
        assertThat(c.hostname()).isEqualTo("gw.example.com");
        assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/postern"));
        assertThat(c.localDomains()).containsExactlyInAnyOrder("example.com", "example.net");
        assertThat(c.relayDomains()).containsExactly("partner.example");
        assertThat(c.relayNetworks()).extracting(Network::toString)
                .containsExactly("10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32");
        assertThat(c.listeners()).containsExactly(new Listener(socket("0.0.0.0:25"), Role.MX),
                new Listener(socket("[::1]:587"), Role.SUBMISSION));
        assertThat(c.tls()).isEqualTo(new Config.Tls(dir.resolve("cert.pem"), dir.resolve("key.pem"))
                .withProvider(Config.TlsProvider.AUTO));
        assertThat(c.limits()).isEqualTo(new Config.Limits(4096, 25L << 20, 200, 5, Duration.ofMinutes(2),
                Duration.ofMinutes(3), Duration.ofMinutes(90), 1000, 50));
        assertThat(c.queue()).isEqualTo(new Config.Queue(Duration.ofSeconds(30), Duration.ofHours(2),
                Duration.ofDays(3), null));
        assertThat(c.delivery()).isEqualTo(new Config.Delivery(50, 10, Duration.ofSeconds(10), Duration.ofMinutes(4),
                Duration.ofMinutes(8), 2525, Config.TlsProvider.CONSCRYPT));
        assertThat(c.dns().servers()).containsExactly(socket("192.0.2.53:53"), socket("192.0.2.54:5353"),
                socket("[2001:db8::53]:53"), socket("[2001:db8::54]:53"));
        assertThat(c.dns().timeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(c.routes()).containsOnly(
                java.util.Map.entry("partner.example", new Route("192.0.2.10", 25, false)),
                java.util.Map.entry("other.example", new Route("relay.other.example", 2525, true)),
                java.util.Map.entry(".sub.example", new Route("relay.sub.example", 2525, false)),
                java.util.Map.entry("v6.example", new Route("2001:db8::25", 587, false)));
    }

    @Test
    void theBriefsThreeExampleLinesExactly() throws Exception {
        assertThat(problems("""
                lisenters = []
                [[listeners]]
                address = "0.0.0.0:25"
                role = "mx"
                [[listeners]]
                address = "25"
                role = "submission"
                [limits]
                max_message_size = "big"
                """)).containsExactly(
                "postern.toml: listeners[1].address: expected host:port, got \"25\"",
                "postern.toml: limits.max_message_size: expected a size like 50MB or 52428800, got \"big\"",
                "postern.toml: lisenters: unknown key (did you mean \"listeners\"?)");
    }

    @Test
    void deliveryTlsProviderIsJdkOrConscrypt() throws Exception {
        assertThat(problems("[delivery]\ntls_provider = \"auto\"\n")).containsExactly(
                "postern.toml: delivery.tls_provider: expected jdk or conscrypt, got \"auto\"");
    }

    @Test
    void fileLabelIsThePathAsGiven() throws Exception {
        Path file = write("hostname = \"-bad\"\n");
        Path relative = Path.of("").toAbsolutePath().relativize(file);
        assertThatThrownBy(() -> ConfigLoader.load(relative)).isInstanceOf(ConfigException.class)
                .hasMessage(relative + ": hostname: expected a host name like mail.example.com, got \"-bad\" "
                        + "(label starts or ends with a hyphen)");
    }

    @Test
    void everyProblemIsCollectedInOneException() throws Exception {
        assertThat(problems("""
                hostname = "mail_server"
                data_dir = 7
                local_domains = "example.com"
                relay_networks = ["10.0.0.1/8", "::1/129", "localhost"]
                [[listeners]]
                address = "mail.example.com:25"
                role = "submision"
                [[listeners]]
                role = "mx"
                adress = "0.0.0.0:25"
                [limits]
                max_line_length = 100
                max_recipients = 1.5
                command_timeout = "5 minutes"
                data_timeout = "0s"
                maxErrors = 3
                [queue]
                retry_first = "2h"
                delay_warning = 4
                [delivery]
                smtp_port = 70000
                [dns]
                servers = ["dns.example"]
                timeout = 5
                """)).containsExactly(
                "postern.toml: hostname: expected a host name like mail.example.com, got \"mail_server\" "
                        + "(invalid character '_')",
                "postern.toml: data_dir: expected a directory path, got 7",
                "postern.toml: listeners[0].address: expected host:port with an IP address as host, like 0.0.0.0:25 "
                        + "or [::]:25, got \"mail.example.com:25\"",
                "postern.toml: listeners[0].role: expected mx, submission or submissions, got \"submision\" "
                        + "(did you mean \"submission\"?)",
                "postern.toml: listeners[1].address: expected host:port, got nothing",
                "postern.toml: listeners[1].adress: unknown key (did you mean \"address\"?)",
                "postern.toml: local_domains: expected an array of domains like [\"example.com\"], got \"example.com\"",
                "postern.toml: relay_networks[0]: expected a network address with the bits beyond /8 zero, "
                        + "got \"10.0.0.1/8\" (did you mean \"10.0.0.0/8\"?)",
                "postern.toml: relay_networks[1]: expected a network like 192.0.2.0/24, 2001:db8::/32 or a single "
                        + "IP address with a prefix length from 0 to 128, got \"::1/129\"",
                "postern.toml: relay_networks[2]: expected a network like 192.0.2.0/24, 2001:db8::/32 or a single "
                        + "IP address, got \"localhost\"",
                "postern.toml: limits.max_line_length: expected an integer from 512 to 1048576, got 100",
                "postern.toml: limits.max_recipients: expected an integer from 1 to 100000, got 1.5",
                "postern.toml: limits.command_timeout: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, "
                        + "got \"5 minutes\"",
                "postern.toml: limits.data_timeout: expected a duration from 1ms to 365d, got \"0s\"",
                "postern.toml: limits.maxErrors: unknown key (did you mean \"max_errors\"?)",
                "postern.toml: queue.delay_warning: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M or \"off\", "
                        + "got 4",
                "postern.toml: queue.retry_first: expected at most queue.retry_max (1h), got \"2h\"",
                "postern.toml: delivery.smtp_port: expected an integer from 1 to 65535, got 70000",
                "postern.toml: dns.servers[0]: expected an IP address with an optional port, like 192.0.2.53, "
                        + "192.0.2.53:53 or [2001:db8::53]:53, got \"dns.example\"",
                "postern.toml: dns.timeout: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, got 5");
    }

    @Test
    void hopAndJunkCommandLimits() throws Exception {
        Config c = ConfigLoader.load(write("""
                [limits]
                max_hops = 30
                junk_commands = 250
                """));
        assertThat(c.limits().maxHops()).isEqualTo(30);
        assertThat(c.limits().junkCommands()).isEqualTo(250);
        assertThat(ConfigLoader.load(write("")).limits()).extracting(Config.Limits::maxHops,
                Config.Limits::junkCommands).containsExactly(50, 100);
        assertThat(problems("""
                [limits]
                max_hops = 0
                junk_commands = "many"
                """)).containsExactly(
                "postern.toml: limits.max_hops: expected an integer from 1 to 1000, got 0",
                "postern.toml: limits.junk_commands: expected an integer from 1 to 100000, got \"many\"");
    }

    @Test
    void listenerProblems() throws Exception {
        assertThat(problems("""
                [[listeners]]
                address = "127.0.0.1:25"
                role = "mx"
                [[listeners]]
                address = "127.0.0.1:25"
                role = "submission"
                [[listeners]]
                address = "0.0.0.0:587"
                role = "submission"
                [[listeners]]
                address = "192.0.2.1:587"
                role = "submission"
                [[listeners]]
                address = "[::1]:0"
                role = "mx"
                [[listeners]]
                address = "::1:25"
                role = "mx"
                """)).containsExactly(
                "postern.toml: listeners[1].address: expected an address no other listener uses, "
                        + "got \"127.0.0.1:25\" (listeners[0] uses it too)",
                "postern.toml: listeners[3].address: expected an address no other listener uses, "
                        + "got \"192.0.2.1:587\" (listeners[2] overlaps it)",
                "postern.toml: listeners[4].address: expected host:port with a port from 1 to 65535, "
                        + "got \"[::1]:0\"",
                "postern.toml: listeners[5].address: expected host:port with IPv6 in brackets like [::]:25, "
                        + "got \"::1:25\"");
        assertThat(problems("listeners = []\n")).containsExactly(
                "postern.toml: listeners: expected at least one [[listeners]] table, got []");
        assertThat(problems("[listeners]\naddress = \"0.0.0.0:25\"\n")).containsExactly(
                "postern.toml: listeners: expected at least one [[listeners]] table, got a table");
    }

    @Test
    void domainProblems() throws Exception {
        assertThat(problems("""
                local_domains = ["Example.com", "xn--zz.example", "", "a\u200Db.example"]
                relay_domains = ["example.COM", 5, "EXAMPLE.com."]
                """)).containsExactly(
                "postern.toml: local_domains[1]: expected a domain like example.com, got \"xn--zz.example\" "
                        + "(not a valid internationalised domain name (punycode))",
                "postern.toml: local_domains[2]: expected a domain like example.com, got \"\"",
                "postern.toml: local_domains[3]: expected a domain like example.com, got \"a\u200Db.example\" "
                        + "(not a valid internationalised domain name (contextj))",
                "postern.toml: relay_domains[1]: expected a domain like example.com, got 5",
                "postern.toml: relay_domains[0]: expected a domain that is not also in local_domains, "
                        + "got \"example.COM\"",
                "postern.toml: relay_domains[2]: expected a domain that is not also in local_domains, "
                        + "got \"EXAMPLE.com.\"");
    }

    /**
     * Domain names may be written in Unicode, in any case, with a trailing dot: every key and value is normalised once,
     * at load, to the lookup form (UTS #46, IDNA2008: A-labels, lower case, no trailing dot) that delivery uses.
     */
    @Test
    void internationalisedNamesAreNormalisedAtLoad() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "x");
        Config c = ConfigLoader.load(write("""
                hostname = "MX.Bücher.example"
                local_domains = ["Bücher.example."]
                relay_domains = ["straße.example", "strasse.example", "ＭÜＮＣＨＥＮ。example"]
                [routes]
                "straße.example" = "[Relay.Straße.example]:2525"
                ".müller.example" = "mx.müller.example"
                [outbound_tls."münchen.example"]
                level = "secure"
                match = ["*.MX.München.example"]
                ca_file = "ca.pem"
                [outbound_tls.".Müller.example."]
                level = "verify"
                [[partners]]
                name = "Bücher GmbH"
                sender_domains = ["BÜCHER.example"]
                client_names = ["*.bücher.example"]
                """));
        assertThat(c.hostname()).isEqualTo("mx.xn--bcher-kva.example");
        assertThat(c.localDomains()).containsExactly("xn--bcher-kva.example");
        // IDNA2008: ß is kept (xn--strae-oqa), not mapped to "ss" as IDNA2003 (java.net.IDN) would
        assertThat(c.relayDomains()).containsExactlyInAnyOrder("xn--strae-oqa.example", "strasse.example",
                "xn--mnchen-3ya.example");
        assertThat(c.routes()).containsOnlyKeys("xn--strae-oqa.example", ".xn--mller-kva.example");
        assertThat(c.routes().get("xn--strae-oqa.example")).isEqualTo(new Route("relay.xn--strae-oqa.example", 2525,
                false));
        assertThat(c.routes().get(".xn--mller-kva.example").host()).isEqualTo("mx.xn--mller-kva.example");
        assertThat(c.routeFor("strasse.example")).isEmpty();
        assertThat(c.outboundTls().domains()).containsOnlyKeys("xn--mnchen-3ya.example", ".xn--mller-kva.example");
        assertThat(c.outboundTls().entryFor("xn--mnchen-3ya.example").orElseThrow().getValue().match())
                .containsExactly("*.mx.xn--mnchen-3ya.example");
        assertThat(c.inbound().partners().getFirst().senderDomains()).containsExactly("xn--bcher-kva.example");
        assertThat(c.inbound().partners().getFirst().clientNames()).containsExactly("*.xn--bcher-kva.example");
    }

    @Test
    void spellingsOfOneDomainAreOneKey() throws Exception {
        assertThat(problems("""
                local_domains = ["bücher.example"]
                relay_domains = ["XN--BCHER-KVA.example"]
                [routes]
                "münchen.example" = "[192.0.2.1]"
                "xn--mnchen-3ya.example" = "[192.0.2.2]"
                [outbound_tls."straße.example"]
                level = "secure"
                [outbound_tls."STRAẞE.example."]
                level = "encrypt"
                [outbound_tls."xn--zz.example"]
                level = "encrypt"
                """)).containsExactlyInAnyOrder(
                "postern.toml: relay_domains[0]: expected a domain that is not also in local_domains, "
                        + "got \"XN--BCHER-KVA.example\"",
                "postern.toml: routes.\"xn--mnchen-3ya.example\": expected each domain once (case, Unicode or xn-- "
                        + "form and a trailing dot do not matter), got \"xn--mnchen-3ya.example\" again",
                "postern.toml: outbound_tls.\"STRAẞE.example.\": expected each domain once (case, Unicode or xn-- "
                        + "form and a trailing dot do not matter), got \"STRAẞE.example.\" again",
                "postern.toml: outbound_tls.\"xn--zz.example\": expected \"default\" or a domain like example.com or "
                        + ".example.com (its subdomains), got \"xn--zz.example\" (not a valid internationalised domain "
                        + "name (punycode))");
    }

    @Test
    void tlsFilesMustExist() throws Exception {
        Files.writeString(dir.resolve("cert.pem"), "x");
        assertThat(problems("""
                [tls]
                certificate = "cert.pem"
                key = "missing.pem"
                """)).containsExactly("postern.toml: tls.key: expected a readable file, got \"missing.pem\" "
                + "(file not found: " + dir.resolve("missing.pem") + ")");
        Path absent = dir.resolve("absent.pem");
        assertThat(problems("[tls]\ncertificate = \"" + absent + "\"\n")).containsExactly(
                "postern.toml: tls.certificate: expected a readable file, got \"" + absent + "\" (file not found)",
                "postern.toml: tls: expected both certificate and key or neither, got only certificate");
        assertThat(problems("[tls]\nkey = \".\"\n")).containsExactly(
                "postern.toml: tls.key: expected a readable file, got \".\" (a directory, not a file: " + dir + ")",
                "postern.toml: tls: expected both certificate and key or neither, got only key");
    }

    /** A device or a pipe is no file: reading /dev/zero at load time never ended (found writing ConfigLoaderFuzzTest). */
    @Test
    void filesMustBeRegularFiles() throws Exception {
        assertThat(problems("[dns]\ntrust_anchor_file = \"/dev/zero\"\n")).containsExactly(
                "postern.toml: dns.trust_anchor_file: expected a readable file, got \"/dev/zero\" (not a regular file)");
        assertThat(problems("[tls]\ncertificate = \"/dev/null\"\nkey = \"/dev/zero\"\n")).containsExactly(
                "postern.toml: tls.certificate: expected a readable file, got \"/dev/null\" (not a regular file)",
                "postern.toml: tls.key: expected a readable file, got \"/dev/zero\" (not a regular file)");
    }

    @Test
    void routeProblems() throws Exception {
        assertThat(problems("""
                [routes]
                "partner.example" = "192.0.2.10:25"
                "bad_domain" = "relay.example"
                "v6.example" = "2001:db8::1"
                "port.example" = "[relay.example]:99999"
                "type.example" = 25
                "dup.example" = "[192.0.2.11]"
                "Dup.Example" = "[192.0.2.11]"
                unquoted.example = "[192.0.2.12]"
                """)).containsExactly(
                "postern.toml: routes.\"partner.example\": expected a next hop like [192.0.2.10]:25, "
                        + "[relay.example.com] or relay.example.com:25, got \"192.0.2.10:25\" (an MX lookup needs a "
                        + "name; write \"[192.0.2.10]:25\" for that address)",
                "postern.toml: routes.bad_domain: expected a domain like example.com or .example.com "
                        + "(its subdomains), got \"bad_domain\" (invalid character '_')",
                "postern.toml: routes.\"v6.example\": expected a next hop like [192.0.2.10]:25, "
                        + "[relay.example.com] or relay.example.com:25 (IPv6 addresses go in brackets), "
                        + "got \"2001:db8::1\"",
                "postern.toml: routes.\"port.example\": expected a next hop like [192.0.2.10]:25, "
                        + "[relay.example.com] or relay.example.com:25 with a port from 1 to 65535, "
                        + "got \"[relay.example]:99999\"",
                "postern.toml: routes.\"type.example\": expected a next hop like [192.0.2.10]:25, "
                        + "[relay.example.com] or relay.example.com:25, got 25",
                "postern.toml: routes.\"Dup.Example\": expected each domain once (case, Unicode or xn-- form "
                        + "and a trailing dot do not matter), got \"Dup.Example\" again",
                "postern.toml: routes.unquoted: expected a next hop like [192.0.2.10]:25, [relay.example.com] or "
                        + "relay.example.com:25, got a table (quote domain keys, like \"partner.example\" = "
                        + "\"[192.0.2.10]:25\")");
    }

    @Test
    void crossChecksBlameTheKeyThatWasWritten() throws Exception {
        assertThat(problems("""
                [queue]
                retry_max = "30s"
                lifetime = "2h"
                [delivery]
                per_destination = 200
                [limits]
                max_connections = 10
                """)).containsExactly(
                "postern.toml: limits.max_connections: expected at least limits.max_connections_per_ip (20), got 10",
                "postern.toml: queue.retry_max: expected at least queue.retry_first (1m), got \"30s\"",
                "postern.toml: queue.lifetime: expected more than queue.delay_warning (4h), got \"2h\"",
                "postern.toml: delivery.per_destination: expected at most delivery.concurrency (100), got 200");
    }

    @Test
    void wrongTypesAndUnknownKeysEverywhere() throws Exception {
        assertThat(problems("""
                limits = 5
                hostname = 2024-01-01
                colour = "blue"
                [queue]
                delay_warning = true
                [dns]
                server = ["192.0.2.53"]
                """)).containsExactly(
                "postern.toml: hostname: expected a host name like mail.example.com, got 2024-01-01",
                "postern.toml: limits: expected a table [limits], got 5",
                "postern.toml: queue.delay_warning: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M or \"off\", "
                        + "got true",
                "postern.toml: dns.server: unknown key (did you mean \"servers\"?)",
                "postern.toml: colour: unknown key (known keys: hostname, data_dir, listeners, local_domains, "
                        + "relay_domains, relay_networks, allow_wide_relay_networks, tls, acme, limits, queue, delivery, dns, routes, outbound_tls, policy, peer_memory, partners,"
                        + " relay_clients, recipients, recipient_verification, auth, audit, mta_sts, log, admin, alerts, probes, tls_rpt)");
    }

    @Test
    void sizesAndDurationsInTheirForms() throws Exception {
        Config c = ConfigLoader.load(write("""
                [limits]
                max_message_size = 1048576
                command_timeout = "90s"
                session_timeout = "1d"
                [queue]
                delay_warning = 0
                """));
        assertThat(c.limits().maxMessageSize()).isEqualTo(1 << 20);
        assertThat(c.limits().commandTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.limits().sessionTimeout()).isEqualTo(Duration.ofDays(1));
        assertThat(c.queue().delayWarning()).isNull();
        assertThat(ConfigLoader.load(write("[queue]\ndelay_warning = \"0\"\n")).queue().delayWarning()).isNull();
        assertThat(ConfigLoader.load(write("[limits]\nmax_message_size = \"2 gb\"\n")).limits().maxMessageSize())
                .isEqualTo(2L << 30);
        assertThat(problems("[limits]\nmax_message_size = \"20GB\"\n")).containsExactly(
                "postern.toml: limits.max_message_size: expected a size from 1KB to 10GB, got \"20GB\"");
        assertThat(problems("[limits]\nmax_message_size = 99999999999999999999\n")).containsExactly(
                "postern.toml: limits.max_message_size: expected a size from 1KB to 10GB, got 99999999999999999999");
        assertThat(problems("[queue]\nlifetime = \"400d\"\n")).containsExactly(
                "postern.toml: queue.lifetime: expected a duration from 1ms to 365d, got \"400d\"");
    }

    @Test
    void tomlSyntaxErrorIsOneLineWithLineAndColumn() throws Exception {
        Path file = write("hostname = \"gw.example.com\"\n\nlimits = = 5\n");
        assertThatThrownBy(() -> ConfigLoader.load(file)).isInstanceOfSatisfying(ConfigException.class,
                e -> assertThat(e.problems()).containsExactly(file + ":3:10: invalid TOML: Unknown token"));
    }

    @Test
    void duplicateKeyPointsAtTheDuplicateNotTheNextToken() throws Exception {
        Path file = write("hostname = \"a.example\"\n  hostname = \"b.example\" # again\n\n# note\n[limits]\n");
        assertThatThrownBy(() -> ConfigLoader.load(file)).isInstanceOfSatisfying(ConfigException.class,
                e -> assertThat(e.problems()).containsExactly(file + ":2:3: invalid TOML: Duplicate key"));
        Path table = write("[limits]\nmax_errors = 3\n[limits]\n");
        assertThatThrownBy(() -> ConfigLoader.load(table)).hasMessage(table + ":3:8: invalid TOML: Table redefined");
    }

    @Test
    void unreadableFiles() throws Exception {
        Path missing = dir.resolve("nope.toml");
        assertThatThrownBy(() -> ConfigLoader.load(missing)).hasMessage(missing + ": file not found");
        assertThatThrownBy(() -> ConfigLoader.load(dir)).hasMessage(dir + ": expected a config file, got a directory");
        Path latin1 = dir.resolve("latin1.toml");
        Files.write(latin1, new byte[] {'#', ' ', (byte) 0xe9, '\n'});
        assertThatThrownBy(() -> ConfigLoader.load(latin1))
                .hasMessage(latin1 + ": expected UTF-8 text (TOML files are UTF-8), got other bytes");
    }

    @Test
    void relativePathsResolveAgainstTheFilesDirectory() throws Exception {
        Path sub = Files.createDirectories(dir.resolve("etc"));
        Path file = sub.resolve("postern.toml");
        Files.writeString(file, "data_dir = \"../spool\"\n");
        // The caller's working directory is not the file's: resolution must not depend on it.
        assertThat(ConfigLoader.load(file).dataDir()).isEqualTo(dir.resolve("spool").toAbsolutePath());
        Files.writeString(file, "data_dir = \"/srv/postern\"\n");
        assertThat(ConfigLoader.load(file).dataDir()).isEqualTo(Path.of("/srv/postern"));
    }

    @Test
    void shippedExampleLoads() throws Exception {
        Path example = Path.of("examples/postern.toml");
        Config c = ConfigLoader.load(example);
        assertThat(c.hostname()).isEqualTo("mail.example.com");
        assertThat(c.tls()).isEqualTo(Config.Tls.GENERATED.withProvider(Config.TlsProvider.AUTO));
        assertThat(c.listeners()).extracting(Listener::role)
                .containsExactly(Role.MX, Role.SUBMISSION, Role.SUBMISSIONS);
        assertThat(c.routeFor("mx.partner.example")).contains(new Route("192.0.2.10", 25, false));
    }

    @Test
    void routeLookupPrefersExactThenNearestParent() {
        Config base = ConfigLoader.defaults(dir);
        Config c = new Config(null, base.hostname(), base.dataDir(), base.listeners(), base.localDomains(),
                base.relayDomains(), base.relayNetworks(), base.tls(), base.limits(), base.queue(), base.delivery(),
                base.dns(), java.util.Map.of(
                        "example.com", new Route("a", 25, true),
                        ".example.com", new Route("b", 25, true),
                        ".deep.example.com", new Route("c", 25, true)));
        assertThat(c.routeFor("example.com")).contains(new Route("a", 25, true)); // lookups use the lookup form
        assertThat(c.routeFor("x.example.com")).contains(new Route("b", 25, true));
        assertThat(c.routeFor("x.deep.example.com")).contains(new Route("c", 25, true));
        assertThat(c.routeFor("deep.example.com")).contains(new Route("b", 25, true));
        assertThat(c.routeFor("example.org")).isEmpty();
        assertThat(c.routeFor("notexample.com")).isEmpty();
    }
}
