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
                .contains("source:          default", "level:           may");
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
        String log = Files.readString(dir.resolve("data/policy/overrides.log"));
        assertThat(log).contains("set\tbank.example\tmay\t", "partner cert expired, ticket 4711");
        assertThat(Cli.run("policy", "clear", "bank.example", "--config", f.toString()).exit()).isZero();
        assertThat(Cli.run("policy", "show", "bank.example", "--config", f.toString()).out())
                .contains("level:           secure", "override:        none");
        assertThat(Files.readString(dir.resolve("data/policy/overrides.log"))).contains("removed\tbank.example");
        Cli.Result again = Cli.run("policy", "clear", "bank.example", "--config", f.toString());
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err().strip()).isEqualTo("postern: no override for bank.example");
    }

    @Test void badOverridesGetOneLineAndExitCode2() throws Exception {
        Path f = config();
        Cli.Result level = Cli.run("policy", "override", "bank.example", "--level", "strict", "--until", "2h",
                "--reason", "x", "--config", f.toString());
        assertThat(level.exit()).isEqualTo(2);
        assertThat(level.err().strip()).isEqualTo(
                "postern: --level: expected none, may, encrypt, fingerprint, verify or secure, got \"strict\"");
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
