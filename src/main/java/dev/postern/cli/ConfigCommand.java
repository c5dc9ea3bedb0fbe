package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import dev.postern.config.ConfigToml;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern config check FILE}, {@code postern config show [--all] [KEY...]}. */
@Command(name = "config", description = "Work with configuration files.",
        subcommands = {ConfigCommand.Check.class, ConfigCommand.Show.class})
final class ConfigCommand {

    @Command(name = "check", description = "Validate a configuration file; print every problem on one line each.")
    static final class Check implements Callable<Integer> {
        @Parameters(paramLabel = "FILE") Path file;

        @Override public Integer call() throws CliException {
            try {
                // What serve would refuse, refused here: the certificate and key files are read as serve reads them.
                ConfigLoader.load(file, TlsFileCheck.SYSTEM, System.err::println);
            } catch (ConfigException e) {
                throw new CliException(String.join(System.lineSeparator(), e.problems()), 2);
            }
            System.out.println(file + ": ok");
            return 0;
        }
    }

    @Command(name = "show", description = "The effective configuration as TOML: the keys that differ from the "
            + "defaults (and data_dir), like postconf -n; --all: every key, like postconf; KEY...: just those keys "
            + "or tables (delivery.concurrency, outbound_tls). Secrets are masked.")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Option(names = "--all", description = "every key with its effective value, defaults included") boolean all;
        @Option(names = "--defaults", description = "every key with its default (what an empty file gives), like "
                + "postconf -d; data_dir as the config in use has it") boolean defaults;
        @Parameters(paramLabel = "KEY", arity = "0..*", description = "a key (delivery.concurrency) or a table "
                + "(delivery, listeners, outbound_tls) to show") List<String> keys;

        @Override public Integer call() throws CliException {
            Config config = source.load();
            if (defaults) config = ConfigLoader.defaults(config.dataDir());
            List<ConfigToml.Table> tables = ConfigToml.tables(config);
            if (keys != null && !keys.isEmpty()) {
                try {
                    Utf8Out.print(ConfigToml.select(tables, keys));
                } catch (IllegalArgumentException e) {
                    throw new CliException("postern: config show: " + e.getMessage(), 2);
                }
                return 0;
            }
            String from = defaults ? "the defaults" : config.source() == null ? "the embedded default"
                    : config.source().toString();
            boolean every = all || defaults;
            if (!every) {
                // data_dir always: its default depends on where the file is, so the text means the same anywhere
                tables = ConfigToml.differences(config, ConfigLoader.defaults(config.dataDir()), Set.of("data_dir"));
            }
            Utf8Out.print(ConfigToml.write(tables, List.of("postern config show" + (defaults ? " --defaults"
                    : all ? " --all" : "") + ": " + from, every ? "every key with its value; unset keys as comments"
                    : "the keys that differ from the defaults, and data_dir; --all shows every key")));
            return 0;
        }
    }
}
