package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import dev.postern.config.TlsCheck;
import java.util.function.Consumer;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options that say which configuration and data directory a command works on. */
final class ConfigSource {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Configuration file (TOML). "
            + "Without it, the embedded default is used.")
    Path config;

    @Option(names = {"-d", "--data"}, paramLabel = "DIR", description = "Data directory (spool, mail, certificate); "
            + "overrides data_dir of the config. Default: ./data")
    Path data;

    /** Loads the configuration; problems become a CliException with one line each (exit 2). */
    Config load() throws CliException {
        return load(TlsCheck.NONE, warning -> {});
    }

    /**
     * As {@link #load()}, checking certificate and key files with {@code check} (what {@code serve} and {@code config
     * check} do); warnings (a certificate outside its validity) go to {@code warnings}.
     */
    Config load(TlsCheck check, Consumer<String> warnings) throws CliException {
        Config c;
        if (config != null) {
            try {
                c = ConfigLoader.load(config, check, warnings);
            } catch (ConfigException e) {
                throw new CliException(String.join(System.lineSeparator(), e.problems()), 2);
            }
        } else {
            c = ConfigLoader.defaults(data != null ? data : Path.of("data"));
        }
        if (data != null && config != null) {
            c = c.withDataDir(data);
        }
        return c;
    }

    /** The configuration read again, as {@link #load} read it (a reload); problems as {@code config check} prints. */
    Config reread() throws ConfigException {
        if (config == null) {
            throw new ConfigException(java.util.List.of("(embedded default): the gateway was started without "
                    + "--config; there is no file to re-read"));
        }
        // checked as serve checks at start: a reload must not take what a restart would refuse
        Config c = ConfigLoader.load(config, TlsFileCheck.SYSTEM,
                warning -> org.slf4j.LoggerFactory.getLogger(ConfigSource.class).warn("{}", warning));
        return data != null ? c.withDataDir(data) : c;
    }

    /** Whether the file sets {@code hostname} (the embedded default does not). */
    boolean setsHostname() {
        if (config == null) return false;
        try {
            return new com.fasterxml.jackson.dataformat.toml.TomlMapper().readTree(config.toFile()).has("hostname");
        } catch (java.io.IOException e) {
            return true; // it validated a moment ago; no warning on a guess
        }
    }

    /** The file, for messages: its path, or "(embedded default)". */
    String label() { return config == null ? "(embedded default)" : config.toString(); }
}
