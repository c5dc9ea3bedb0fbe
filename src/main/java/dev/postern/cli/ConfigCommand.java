package dev.postern.cli;

import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code postern config check FILE}. */
@Command(name = "config", description = "Work with configuration files.", subcommands = ConfigCommand.Check.class)
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
}
