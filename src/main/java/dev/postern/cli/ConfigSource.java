package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options that say which configuration and data directory a command works on. Every command finds its
 * configuration by one rule: {@code --config}, else {@code $POSTERN_CONFIG}, else /etc/postern/postern.toml when it
 * exists, else the embedded default; so {@code postern queue list} on a server sees the server's spool.
 */
final class ConfigSource {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Configuration file (TOML). Default: "
            + "$POSTERN_CONFIG, else /etc/postern/postern.toml when it exists, else the embedded default.")
    Path config;

    @Option(names = {"-d", "--data"}, paramLabel = "DIR", description = "Data directory (spool, mail, certificate); "
            + "overrides data_dir of the config. Default: data_dir, ./data with the embedded default")
    Path data;

    /** Where the configuration of the last {@link #load()} came from, for messages: a file and why, or the default. */
    private String origin = "embedded default";

    /** Loads the configuration; problems become a CliException with one line each (exit 2). */
    Config load() throws CliException {
        ConfigDefaults defaults = ConfigDefaults.current();
        Path file = config;
        String why = "";
        if (file == null && (file = defaults.fromEnvironment()) != null) {
            why = " (from $" + ConfigDefaults.VARIABLE + ")";
        } else if (file == null && Files.exists(defaults.systemFile())) {
            file = defaults.systemFile();
        }
        Config c;
        if (file != null) {
            origin = file + why;
            try {
                c = ConfigLoader.load(file);
            } catch (ConfigException e) {
                // A file we chose by default says why it was read, so "file not found" is not a mystery.
                String because = Files.isRegularFile(file) && Files.isReadable(file) ? "" : why;
                throw new CliException(String.join(System.lineSeparator(), e.problems()) + because, 2);
            }
            if (data != null) c = c.withDataDir(data);
        } else {
            c = ConfigLoader.defaults(data != null ? data : Path.of("data"));
        }
        return c;
    }

    /** "FILE", "FILE (from $POSTERN_CONFIG)" or "embedded default": what {@link #load()} read. */
    String origin() {
        return origin;
    }
}
