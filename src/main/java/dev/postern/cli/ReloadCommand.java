package dev.postern.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code postern reload}: asks the running gateway, through its control socket, to re-read its configuration file
 * (as SIGHUP does) and prints what it did. Exit 0 applied, 2 refused (the running configuration stays), 1 when no
 * gateway runs.
 */
@Command(name = "reload", description = "Make the running gateway re-read its configuration file (as SIGHUP does); "
        + "print what changed, or why the new file was refused.")
final class ReloadCommand implements Callable<Integer> {
    @Mixin ConfigSource source;

    @Override public Integer call() throws Exception {
        Path data;
        try {
            data = source.load().dataDir(); // only to find the gateway: it re-reads the file it was started with
        } catch (CliException e) {
            if (e.exitCode() != 2) throw e;
            throw new CliException("postern: " + source.label() + " does not validate; the gateway was not asked "
                    + "and keeps its running configuration:" + System.lineSeparator() + e.getMessage(), 2);
        }
        if (!Gateway.runs(data)) {
            throw new CliException("postern: no gateway is running with data directory " + data, 1);
        }
        List<String> answer = ControlClient.askAll(data.resolve("control.sock"), "reload");
        List<String> lines = answer.subList(1, answer.size());
        if (answer.getFirst().startsWith("ok")) {
            lines.forEach(System.out::println);
            return 0;
        }
        if (!answer.getFirst().startsWith("error refused")) {
            throw new CliException("postern: " + answer.getFirst().replaceFirst("^error ", ""), 1);
        }
        System.err.println("postern: reload refused; the gateway keeps its running configuration:");
        lines.forEach(System.err::println);
        return 2;
    }
}
