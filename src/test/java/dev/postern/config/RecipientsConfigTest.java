package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [recipients."domain"]}, {@code [recipient_verification]} and {@code [auth]}: values and one-line errors. */
class RecipientsConfigTest {
    @TempDir Path dir;

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
            return e.problems().stream().map(p -> p.substring(file.toString().length() + 2)).toList();
        }
        throw new AssertionError("expected a ConfigException for:\n" + toml);
    }

    @Test void defaultsAreCatchAllAndTheDocumentedLimits() throws Exception {
        Config c = ConfigLoader.load(write(""));
        assertThat(c.inbound().recipients()).isEmpty();
        assertThat(c.inbound().verification()).isEqualTo(new Config.RecipientVerification(Duration.ofDays(7),
                Duration.ofHours(3), 100_000, Duration.ofSeconds(30)));
        assertThat(c.inbound().auth()).isEqualTo(new Config.AuthLimits(5, Duration.ofMinutes(15),
                Duration.ofMinutes(1), Duration.ofHours(1), 50, Duration.ofMinutes(15), 24, 48));
        assertThat(ConfigLoader.defaults(dir).inbound().recipients()).as("embedded default").isEmpty();
    }

    @Test void recipientsPerDomain() throws Exception {
        Files.writeString(dir.resolve("people.txt"), "alice\n@other.example\n");
        Config c = ConfigLoader.load(write("""
                local_domains = ["example.com", "other.example"]
                relay_domains = ["partner.example", "xn--bcher-kva.example"]
                [recipients."Example.COM"]
                file = "people.txt"
                [recipients."partner.example"]
                verify = true
                file = "people.txt"
                [recipients."b\u00fccher.example"]
                verify = true
                [recipient_verification]
                positive_ttl = "1d"
                negative_ttl = "10m"
                cache_size = 500
                max_probes = 3
                timeout = "5s"
                [auth]
                max_failures = 3
                window = "30m"
                lockout = "2m"
                max_lockout = "2h"
                network_max_failures = 100
                network_lockout = "1h"
                network_prefix_ipv4 = 16
                network_prefix_ipv6 = 48
                failure_delay = "2s"
                """));
        Path people = dir.resolve("people.txt").toAbsolutePath();
        assertThat(c.inbound().recipients()).containsOnly(
                java.util.Map.entry("example.com", new Config.DomainRecipients(people, false)),
                java.util.Map.entry("partner.example", new Config.DomainRecipients(people, true)),
                java.util.Map.entry("xn--bcher-kva.example", new Config.DomainRecipients(null, true)));
        assertThat(c.inbound().verification()).isEqualTo(new Config.RecipientVerification(Duration.ofDays(1),
                Duration.ofMinutes(10), 500, Duration.ofSeconds(5), 3));
        assertThat(c.inbound().auth()).isEqualTo(new Config.AuthLimits(3, Duration.ofMinutes(30),
                Duration.ofMinutes(2), Duration.ofHours(2), 100, Duration.ofHours(1), 16, 48, Duration.ofSeconds(2)));
    }

    @Test void mistakesAreOneLineEach() throws Exception {
        Files.writeString(dir.resolve("bad.txt"), "alice\nbad line\n");
        assertThat(problems("""
                local_domains = ["example.com"]
                relay_domains = ["partner.example"]
                [recipients."elsewhere.example"]
                verify = true
                [recipients."example.com"]
                verify = true
                file = "missing.txt"
                [recipients."partner.example"]
                file = "bad.txt"
                fil = "x"
                [recipients."not a domain"]
                verify = true
                [recipients.example]
                com = { verify = true }
                [recipient_verification]
                cache_size = 0
                timeout = "forever"
                max_probes = 0
                [auth]
                max_failures = 0
                lockout = "2h"
                max_lockout = "1h"
                network_prefix_ipv4 = 33
                network_max_failures = "many"
                failure_delay = "1m"
                """)).containsExactlyInAnyOrder(
                "recipients.\"elsewhere.example\": expected a domain in local_domains or relay_domains, got "
                        + "\"elsewhere.example\"",
                "recipients.\"example.com\".file: expected a readable file, got \"missing.txt\" (file not found: "
                        + dir.resolve("missing.txt").toAbsolutePath() + ")",
                "recipients.\"example.com\".verify: expected false for a local domain (verification asks a relay "
                        + "domain's next hop), got true",
                "recipients.\"partner.example\".file: " + dir.resolve("bad.txt").toAbsolutePath() + ":2: expected an "
                        + "address like john@example.com, a local part like john or a catch-all like @example.com, "
                        + "got \"bad line\" (bad local part)",
                "recipients.\"partner.example\".fil: unknown key (did you mean \"file\"?)",
                "recipients.\"not a domain\": expected a domain like example.com, got \"not a domain\" (invalid "
                        + "character ' ')",
                "recipients.example: expected a table with file and/or verify, like [recipients.\"example.com\"] "
                        + "file = \"recipients.txt\", got a table (quote domain keys, like [recipients.\"example.com\"])",
                "recipient_verification.cache_size: expected an integer from 1 to 10000000, got 0",
                "recipient_verification.timeout: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, got \"forever\"",
                "recipient_verification.max_probes: expected an integer from 1 to 1000, got 0",
                "auth.max_failures: expected an integer from 1 to 1000, got 0",
                "auth.lockout: expected lockout (2h) at most max_lockout (1h), got \"2h\"",
                "auth.network_prefix_ipv4: expected an integer from 8 to 32, got 33",
                "auth.network_max_failures: expected an integer from 1 to 1000000, got \"many\"",
                "auth.failure_delay: expected a duration from 0s to 10s, got \"1m\"");
    }

    /** Unicode and A-label spellings of one domain: one line naming the second key, not also a line per key in it. */
    @Test void aDomainInTwoSpellingsIsOneLine() throws Exception {
        assertThat(problems("""
                local_domains = ["b\u00fccher.example"]
                [recipients."b\u00fccher.example"]
                verify = false
                file = "missing.txt"
                [recipients."XN--BCHER-KVA.example."]
                file = "also-missing.txt"
                """)).containsExactly(
                "recipients.\"b\u00fccher.example\".file: expected a readable file, got \"missing.txt\" (file not "
                        + "found: " + dir.resolve("missing.txt").toAbsolutePath() + ")",
                "recipients.\"XN--BCHER-KVA.example.\": expected each domain once (case, Unicode or xn-- form and a "
                        + "trailing dot do not matter), got \"XN--BCHER-KVA.example.\" again");
    }

    /** A table with only a misspelt key: one line, the unknown key with its suggestion. */
    @Test void aMisspeltOnlyKeyIsNamed() throws Exception {
        assertThat(problems("""
                [recipients."postern.test"]
                fiel = "people.txt"
                """)).containsExactly("recipients.\"postern.test\".fiel: unknown key (did you mean \"file\"?)");
    }

    /** An empty table is not a quoting mistake: the line must not send the administrator after quotes. */
    @Test void anEmptyTableGetsNoQuotingHint() throws Exception {
        assertThat(problems("""
                [recipients."postern.test"]
                """)).containsExactly("recipients.\"postern.test\": expected a table with file and/or verify, like "
                + "[recipients.\"example.com\"] file = \"recipients.txt\", got an empty table");
    }
}
