package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern policy show / override / overrides / clear}. */
class PolicyCommandTest {
    @TempDir Path dir;

    private Path config() throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, """
                data_dir = "data"
                [outbound_tls."bank.example"]
                level = "secure"
                min_cipher_bits = 256
                """);
        return f;
    }

    @Test void showNamesTheSourceAndTheChecks() throws Exception {
        Path f = config();
        Cli.Result r = Cli.run("policy", "show", "BANK.example", "--config", f.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Outbound TLS policy for bank.example", "static entry \"bank.example\"",
                "secure (TLS required, trusted chain, name of the destination domain)", "min cipher bits: 256",
                "bank.example, .bank.example", "override:        none");
        // --data next to --config must not lose the policies of the file.
        Cli.Result other = Cli.run("policy", "show", "bank.example", "--config", f.toString(), "--data",
                dir.resolve("elsewhere").toString());
        assertThat(other.out()).contains("static entry \"bank.example\"");
        assertThat(Cli.run("policy", "show", "other.example", "--config", f.toString()).out())
                .contains("source:          default", "level:           dane");
    }

    @Test void overrideIsSetListedRecordedAndCleared() throws Exception {
        Path f = config();
        Cli.Result set = Cli.run("policy", "override", "bank.example", "--level", "may", "--until", "2h",
                "--reason", "partner cert expired, ticket 4711", "--config", f.toString());
        assertThat(set.exit()).as(set.toString()).isZero();
        assertThat(Cli.run("policy", "show", "bank.example", "--config", f.toString()).out())
                .contains("level:           may", "override (level may until", "ticket 4711");
        assertThat(Cli.run("policy", "overrides", "--config", f.toString()).out())
                .contains("bank.example", "active", "ticket 4711");
        String log = Files.readString(dir.resolve("data/admin.log"));
        assertThat(log).contains("\"action\":\"POLICY_OVERRIDE_SET\",\"target\":\"bank.example\",\"detail\":\"level may until ",
                "partner cert expired, ticket 4711");
        assertThat(Cli.run("policy", "clear", "bank.example", "--config", f.toString()).exit()).isZero();
        assertThat(Cli.run("policy", "show", "bank.example", "--config", f.toString()).out())
                .contains("level:           secure", "override:        none");
        assertThat(Files.readString(dir.resolve("data/admin.log")))
                .contains("\"action\":\"POLICY_OVERRIDE_CLEARED\",\"target\":\"bank.example\"");
        Cli.Result again = Cli.run("policy", "clear", "bank.example", "--config", f.toString());
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err().strip()).isEqualTo("postern: no override for bank.example");
    }

    /**
     * The command line is a boundary too: a domain typed in Unicode (any case, a trailing dot) is looked up, and an
     * override is recorded, in the same lookup form delivery uses; a policy keyed in Unicode in the file applies.
     */
    @Test void internationalisedDomainsAreNormalisedLikeDeliveryDoes() throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, """
                data_dir = "data"
                [outbound_tls."bücher.example"]
                level = "secure"
                [outbound_tls."xn--strae-oqa.example"]
                level = "verify"
                """);
        Cli.Result show = Cli.run("policy", "show", "BÜCHER.Example.", "--config", f.toString());
        assertThat(show.exit()).as(show.toString()).isZero();
        assertThat(show.out()).contains("Outbound TLS policy for xn--bcher-kva.example (bücher.example)",
                "static entry \"xn--bcher-kva.example\"", "level:           secure");
        // IDNA2008: straße has its own entry; strasse (what IDNA2003 would make of it) has none
        assertThat(Cli.run("policy", "show", "straße.example", "--config", f.toString()).out())
                .contains("static entry \"xn--strae-oqa.example\"", "level:           verify");
        assertThat(Cli.run("policy", "show", "strasse.example", "--config", f.toString()).out())
                .contains("source:          default", "level:           dane");

        Cli.Result set = Cli.run("policy", "override", "bücher.example", "--level", "encrypt", "--until", "2h",
                "--reason", "ticket 4712", "--config", f.toString());
        assertThat(set.exit()).as(set.toString()).isZero();
        assertThat(set.out()).contains("override for xn--bcher-kva.example: level encrypt");
        assertThat(Cli.run("policy", "show", "xn--bcher-kva.example", "--config", f.toString()).out())
                .contains("level:           encrypt", "override (level encrypt until");
        assertThat(Files.readString(dir.resolve("data/admin.log")))
                .contains("\"target\":\"xn--bcher-kva.example\",\"detail\":\"level encrypt until ");
        assertThat(Cli.run("policy", "clear", "Bücher.example", "--config", f.toString()).exit()).isZero();
        // A line edited by hand in Unicode is read in the lookup form too.
        Files.writeString(dir.resolve("data/policy/overrides"), "BÜCHER.example.\tmay\t2999-01-01T00:00:00Z\t"
                + "2026-01-01T00:00:00Z\tadmin\tby hand\n");
        assertThat(Cli.run("policy", "show", "bücher.example", "--config", f.toString()).out())
                .contains("level:           may", "override (level may until 2999-01-01T00:00:00Z, set by admin: by hand)");

        Cli.Result bad = Cli.run("policy", "show", "xn--zz.example", "--config", f.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().strip()).isEqualTo("postern: expected a domain like partner.example, got "
                + "\"xn--zz.example\" (not a valid internationalised domain name (punycode))");
    }

    @Test void badOverridesGetOneLineAndExitCode2() throws Exception {
        Path f = config();
        Cli.Result level = Cli.run("policy", "override", "bank.example", "--level", "strict", "--until", "2h",
                "--reason", "x", "--config", f.toString());
        assertThat(level.exit()).isEqualTo(2);
        assertThat(level.err().strip()).isEqualTo(
                "postern: --level: expected none, may, encrypt, fingerprint, verify, secure, dane or dane-only, got \"strict\"");
        Cli.Result past = Cli.run("policy", "override", "bank.example", "--level", "may", "--until",
                "2020-01-01T00:00Z", "--reason", "x", "--config", f.toString());
        assertThat(past.exit()).isEqualTo(2);
        assertThat(past.err()).startsWith("postern: --until: expected a time in the future");
        Cli.Result missing = Cli.run("policy", "override", "bank.example", "--level", "may", "--until", "2h",
                "--config", f.toString());
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err().lines().count()).isEqualTo(1);
    }

    @Test void aSuffixOverrideIsShownForSubdomainsOnly() throws Exception {
        Path f = config();
        Cli.Result set = Cli.run("policy", "override", ".bank.example", "--level", "encrypt", "--until", "2h",
                "--reason", "ticket 4712", "--config", f.toString());
        assertThat(set.exit()).as(set.toString()).isZero();
        assertThat(Cli.run("policy", "show", "mx.bank.example", "--config", f.toString()).out())
                .contains("level:           encrypt", "source:          override \".bank.example\" (level encrypt until",
                        "override:        \".bank.example\": encrypt until", "ticket 4712");
        // the parent itself is not a subdomain: its own static entry applies
        assertThat(Cli.run("policy", "show", "bank.example", "--config", f.toString()).out())
                .contains("level:           secure", "override:        none");

        assertThat(Cli.run("policy", "clear", ".bank.example", "--config", f.toString()).exit()).isZero();
        Cli.Result exact = Cli.run("policy", "override", "bank.example", "--level", "encrypt", "--until", "2h",
                "--reason", "ticket 4713", "--config", f.toString());
        assertThat(exact.exit()).as(exact.toString()).isZero();
        assertThat(Cli.run("policy", "show", "mx.bank.example", "--config", f.toString()).out())
                .contains("source:          default", "override:        none");
        assertThat(Cli.run("policy", "show", "bank.example", "--config", f.toString()).out())
                .contains("level:           encrypt", "override:        encrypt until");

        Cli.Result key = Cli.run("policy", "show", ".bank.example", "--config", f.toString());
        assertThat(key.exit()).isEqualTo(2);
        assertThat(key.err().lines().count()).isEqualTo(1);
    }
}
