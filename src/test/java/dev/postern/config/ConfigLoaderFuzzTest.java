package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fuzz target: arbitrary bytes as the config file, loaded as {@code postern config check} and {@code serve} load it.
 * Invariants: a file that cannot be used is a {@link ConfigException} whose problems are each one line starting with the
 * file's name (what an administrator reads, exit 2), never another exception or a stack trace; a file that loads is
 * written back by {@link ConfigToml} (what {@code postern config show} prints) as TOML that loads to the same
 * {@link Config}.
 */
class ConfigLoaderFuzzTest {
    private static final Path DIR = directory();

    @FuzzTest
    void configFiles(byte[] toml) throws IOException {
        Path file = DIR.resolve("postern.toml");
        Files.write(file, toml);
        Config config;
        try {
            config = ConfigLoader.load(file);
        } catch (ConfigException e) {
            assertThat(e.problems()).isNotEmpty().allSatisfy(line -> assertThat(line)
                    .startsWith(file.toString()).doesNotContain("\n", "\r").doesNotContain("Exception"));
            return;
        }
        String shown = ConfigToml.write(ConfigToml.tables(config), List.of());
        Path again = DIR.resolve("shown.toml");
        Files.writeString(again, shown);
        Config reloaded;
        try {
            reloaded = ConfigLoader.load(again);
        } catch (ConfigException e) {
            throw new AssertionError("config show wrote what does not load:\n" + shown + "\n" + e.getMessage(), e);
        }
        assertThat(reloaded).usingRecursiveComparison().ignoringFields("source").isEqualTo(config);
    }

    /** One directory for the whole run: relative paths in a fuzzed file resolve inside it. */
    private static Path directory() {
        try {
            Path dir = Files.createTempDirectory("config-fuzz");
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
