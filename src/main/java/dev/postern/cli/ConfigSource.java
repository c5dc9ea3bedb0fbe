package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import dev.postern.config.TlsCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
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
    /** The file the last {@link #load()} read (by the rule above), or null for the embedded default. */
    private Path file;

    /** Loads the configuration; problems become a CliException with one line each (exit 2). */
    Config load() throws CliException {
        return load(TlsCheck.NONE, warning -> {});
    }

    /**
     * As {@link #load()}, checking certificate and key files with {@code check} (what {@code serve} and {@code config
     * check} do); warnings (a certificate outside its validity) go to {@code warnings}.
     */
    Config load(TlsCheck check, Consumer<String> warnings) throws CliException {
        ConfigDefaults defaults = ConfigDefaults.current();
        Path chosen = config;
        String why = "";
        if (chosen == null && (chosen = defaults.fromEnvironment()) != null) {
            why = " (from $" + ConfigDefaults.VARIABLE + ")";
        } else if (chosen == null && !Files.notExists(defaults.systemFile())) {
            // "cannot tell" (an /etc/postern this user may not search) counts as there: one clear error, not the default
            chosen = defaults.systemFile();
        }
        file = chosen;
        Config c;
        if (chosen != null) {
            origin = chosen + why;
            try {
                c = ConfigLoader.load(chosen, check, warnings);
            } catch (ConfigException e) {
                // A file we chose by default says why it was read, so "file not found" is not a mystery.
                String because = Files.isRegularFile(chosen) && Files.isReadable(chosen) ? "" : why;
                throw new CliException(String.join(System.lineSeparator(), e.problems()) + because, 2);
            }
            if (data != null) c = c.withDataDir(data);
        } else {
            origin = "embedded default";
            c = ConfigLoader.defaults(data != null ? data : Path.of("data"));
        }
        return c;
    }

    /** The configuration read again, as {@link #load} read it (a reload); problems as {@code config check} prints. */
    Config reread() throws ConfigException {
        if (file == null) {
            throw new ConfigException(java.util.List.of("(embedded default): the gateway was started without "
                    + "a configuration file; there is no file to re-read"));
        }
        // checked as serve checks at start: a reload must not take what a restart would refuse
        Config c = ConfigLoader.load(file, TlsFileCheck.SYSTEM,
                warning -> org.slf4j.LoggerFactory.getLogger(ConfigSource.class).warn("{}", warning));
        return data != null ? c.withDataDir(data) : c;
    }

    /** Whether the file sets {@code hostname} (the embedded default does not). */
    boolean setsHostname() {
        if (file == null) return false;
        try {
            return new com.fasterxml.jackson.dataformat.toml.TomlMapper().readTree(file.toFile()).has("hostname");
        } catch (java.io.IOException e) {
            return true; // it validated a moment ago; no warning on a guess
        }
    }

    /** The file, for messages: its path, or "(embedded default)". */
    String label() { return file == null ? "(embedded default)" : file.toString(); }

    /** "FILE", "FILE (from $POSTERN_CONFIG)" or "embedded default": what {@link #load()} read. */
    String origin() {
        return origin;
    }
}
