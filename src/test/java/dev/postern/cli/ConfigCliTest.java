package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern config check} and the handling of bad command lines: one line per problem, exit code 2. */
class ConfigCliTest {
    @TempDir Path dir;

    @Test void aGoodFileIsOk() throws Exception {
        Path file = dir.resolve("good.toml");
        Files.writeString(file, """
                hostname = "mail.example.com"
                local_domains = ["example.com"]

                [[listeners]]
                address = "127.0.0.1:2525"
                role = "mx"

                [queue]
                retry_first = "30s"
                """);
        Cli.Result r = Cli.run("config", "check", file.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).containsExactly(file + ": ok");
        assertThat(r.err()).isEmpty();
    }

    @Test void theShippedExampleIsOk() {
        Path example = Path.of("examples", "postern.toml");
        Cli.Result r = Cli.run("config", "check", example.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).containsExactly(example + ": ok");
    }

    @Test void aBadFileGetsOneLinePerProblemAndExitCode2() throws Exception {
        Path file = dir.resolve("bad.toml");
        Files.writeString(file, """
                colour = "blue"
                hostname = "mail.example.com"

                [[listeners]]
                address = "127.0.0.1:2525"
                role = "mx"

                [[listeners]]
                address = "25"
                role = "submision"

                [limits]
                max_line_length = 100
                data_timeout = "0s"
                """);
        Cli.Result r = Cli.run("config", "check", file.toString());
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactlyInAnyOrder(
                file + ": listeners[1].address: expected host:port, got \"25\"",
                file + ": listeners[1].role: expected mx, submission or submissions, got \"submision\""
                        + " (did you mean \"submission\"?)",
                file + ": limits.max_line_length: expected an integer from 512 to 1048576, got 100",
                file + ": limits.data_timeout: expected a duration from 1ms to 365d, got \"0s\"",
                file + ": colour: unknown key (known keys: hostname, data_dir, listeners, local_domains,"
                        + " relay_domains, relay_networks, allow_wide_relay_networks, tls, acme, limits, queue, delivery, dns, routes, outbound_tls, policy, peer_memory,"
                        + " partners, relay_clients, recipients, recipient_verification, auth, audit, mta_sts, log, admin, alerts, probes, tls_rpt)");
    }

    @Test void aRelativePathIsReportedAsGiven() throws Exception {
        // The file name in each line is the path as typed, so "bad.toml: ..." for "postern config check bad.toml".
        Path file = Path.of("target", "config-cli-test-" + ProcessHandle.current().pid() + ".toml");
        Files.writeString(file, "[[listeners]]\naddress = \"25\"\nrole = \"mx\"\n");
        try {
            Cli.Result r = Cli.run("config", "check", file.toString());
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.errLines()).containsExactly(file + ": listeners[0].address: expected host:port, got \"25\"");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test void aSyntaxErrorIsOneLineWithItsPosition() throws Exception {
        Path file = dir.resolve("dup.toml");
        Files.writeString(file, "hostname = \"a\"\nhostname = \"b\"\n");
        Cli.Result r = Cli.run("config", "check", file.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(file + ":2:1: invalid TOML: Duplicate key");
    }

    @Test void aMissingFileIsOneLine() {
        Path file = dir.resolve("nowhere.toml");
        Cli.Result r = Cli.run("config", "check", file.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactly(file + ": file not found");
    }

    @Test void aDirectoryIsOneLine() {
        Cli.Result r = Cli.run("config", "check", dir.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(dir + ": expected a config file, got a directory");
    }

    @Test void serveWithAMissingOrBadConfigFailsBeforeStarting() throws Exception {
        Path missing = dir.resolve("missing.toml");
        Cli.Result r = Cli.run("serve", "--config", missing.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(missing + ": file not found");

        Path bad = dir.resolve("bad.toml");
        Files.writeString(bad, "[limits]\nmax_errors = \"ten\"\n");
        r = Cli.run("serve", "--config", bad.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1).first().asString().startsWith(bad + ": limits.max_errors: expected");
        assertThat(Files.exists(dir.resolve("data"))).as("nothing created").isFalse();
    }

    @Test void anUnknownSubcommandIsOneLineWithExitCode2() {
        Cli.Result r = Cli.run("frobnicate");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(
                "postern: Unmatched argument at index 0: 'frobnicate' (see 'postern --help')");

        r = Cli.run("queue", "purge");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(
                "postern: Unmatched argument at index 1: 'purge' (see 'postern queue --help')");
    }

    @Test void anUnknownOptionIsOneLineWithExitCode2() {
        Cli.Result r = Cli.run("config", "check", "--verbose", "x.toml");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(
                "postern: Unknown option: '--verbose' (see 'postern config check --help')");
    }

    @Test void aMissingArgumentIsOneLineWithExitCode2() {
        Cli.Result r = Cli.run("config", "check");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1).first().asString()
                .startsWith("postern: Missing required parameter").endsWith("(see 'postern config check --help')");
    }

    @Test void versionAndHelp() {
        Cli.Result r = Cli.run("version");
        assertThat(r.exit()).isZero();
        assertThat(r.outLines()).singleElement().asString().startsWith("Postern ").contains("Java");

        r = Cli.run("--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("serve", "config", "queue", "version");
    }
}
