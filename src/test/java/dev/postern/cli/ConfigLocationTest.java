package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.queue.Spool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which configuration a command uses: --config, else $POSTERN_CONFIG, else the system-wide file when it exists, else
 * the embedded default. Each test gives the command its own environment and "system" file, and tells the configs
 * apart by their data directories, each holding an empty spool: "Queue is empty (data dir X)" names the one used.
 */
class ConfigLocationTest {
    @TempDir Path dir;
    private Path optionFile;
    private Path envFile;
    private Path systemFile;

    @BeforeEach void threeConfigs() throws IOException {
        optionFile = config("option");
        envFile = config("env");
        systemFile = config("system");
    }

    /** A config whose data_dir is dir/NAME-data, with an empty spool in it. */
    private Path config(String name) throws IOException {
        Path data = dir.resolve(name + "-data");
        Spool.open(data.resolve("queue")).close();
        Path file = dir.resolve(name + ".toml");
        Files.writeString(file, "data_dir = \"" + data + "\"\n");
        return file;
    }

    private ConfigDefaults defaults(String env, Path system) {
        return new ConfigDefaults(env == null ? Map.of() : Map.of("POSTERN_CONFIG", env), system);
    }

    private static String emptyQueueIn(Path data) {
        return "Queue is empty (data dir " + data + ").";
    }

    @Test void theOptionWinsOverTheEnvironmentAndTheSystemFile() {
        Cli.Result r = Cli.run(defaults(envFile.toString(), systemFile), "queue", "list", "--config", optionFile.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).containsExactly(emptyQueueIn(dir.resolve("option-data")));
    }

    @Test void theEnvironmentWinsOverTheSystemFile() {
        Cli.Result r = Cli.run(defaults(envFile.toString(), systemFile), "queue", "list");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).containsExactly(emptyQueueIn(dir.resolve("env-data")));
    }

    @Test void theSystemFileWhenItExists() {
        Cli.Result r = Cli.run(defaults(null, systemFile), "queue", "list");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).containsExactly(emptyQueueIn(dir.resolve("system-data")));
    }

    @Test void anEmptyVariableCountsAsUnset() {
        Cli.Result r = Cli.run(defaults("", systemFile), "queue", "list");
        assertThat(r.outLines()).as("%s", r).containsExactly(emptyQueueIn(dir.resolve("system-data")));
    }

    @Test void theEmbeddedDefaultWhenThereIsNeither() throws IOException {
        Path data = dir.resolve("own-data");
        Spool.open(data.resolve("queue")).close();
        Cli.Result r = Cli.run(defaults(null, dir.resolve("absent.toml")), "queue", "list", "--data", data.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.outLines()).containsExactly(emptyQueueIn(data));
    }

    @Test void dataOverridesTheDataDirOfAFileFoundByDefault() throws IOException {
        Path data = dir.resolve("own-data");
        Spool.open(data.resolve("queue")).close();
        Cli.Result r = Cli.run(defaults(null, systemFile), "queue", "list", "--data", data.toString());
        assertThat(r.outLines()).as("%s", r).containsExactly(emptyQueueIn(data));
    }

    // ---- a file that cannot be used is one line and exit 2, never the next default in silence

    @Test void aMissingFileNamedByTheEnvironment() {
        Path missing = dir.resolve("typo.toml");
        Cli.Result r = Cli.run(defaults(missing.toString(), systemFile), "queue", "list");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactly(missing + ": file not found (from $POSTERN_CONFIG)");
    }

    @Test void aDirectoryNamedByTheEnvironment() {
        Cli.Result r = Cli.run(defaults(dir.toString(), systemFile), "queue", "list");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(
                dir + ": expected a config file, got a directory (from $POSTERN_CONFIG)");
    }

    @Test void anInvalidFileNamedByTheEnvironmentSaysWhatIsWrongInIt() throws IOException {
        Files.writeString(envFile, "data_dir = 5\n");
        Cli.Result r = Cli.run(defaults(envFile.toString(), systemFile), "queue", "list");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().startsWith(envFile + ": data_dir: expected ");
    }

    @Test void anInvalidSystemFileIsReportedNotSkipped() throws IOException {
        Files.writeString(systemFile, "listeners = 3\n");
        Cli.Result r = Cli.run(defaults(null, systemFile), "queue", "list");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().startsWith(systemFile + ": listeners");
    }

    /** Any command, not only the queue's: each one takes the same mixin. */
    @Test void otherCommandsFollowTheSameRule() {
        Cli.Result r = Cli.run(defaults(dir.resolve("typo.toml").toString(), systemFile), "user", "list");
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(dir.resolve("typo.toml") + ": file not found (from $POSTERN_CONFIG)");
    }
}
