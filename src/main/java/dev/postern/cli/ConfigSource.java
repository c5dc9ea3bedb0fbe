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
}
