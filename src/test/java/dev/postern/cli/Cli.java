package dev.postern.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Runs the {@code postern} command in this JVM ({@link Main#run}) and captures what it prints. */
final class Cli {
    private Cli() {}

    /** What one command did: its exit code and everything it printed on standard output and standard error. */
    record Result(int exit, String out, String err) {
        List<String> outLines() { return out.lines().toList(); }

        List<String> errLines() { return err.lines().toList(); }

        @Override public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** Runs {@code command} (its words, like "tls", "probe") with {@code args}, then {@code --config config}. */
    static Result withConfig(java.nio.file.Path config, List<String> command, String... args) {
        List<String> all = new java.util.ArrayList<>(command);
        all.addAll(List.of(args));
        all.add("--config");
        all.add(config.toString());
        return run(all.toArray(String[]::new));
    }

    /**
     * No $POSTERN_CONFIG and no system-wide file: a test's commands use --config or the embedded default, whatever
     * the machine running the tests has in its environment or in /etc/postern.
     */
    static final ConfigDefaults NO_DEFAULTS = new ConfigDefaults(Map.of(), Path.of("/nonexistent/postern.toml"));

    static Result run(String... args) {
        return run(NO_DEFAULTS, args);
    }

    /**
     * Swaps System.out and System.err for the duration of the command. A gateway running in this JVM logs to
     * standard output (logback-test.xml), so its log lines may show up in {@link Result#out()}; standard error holds
     * only what the command itself printed.
     */
    static synchronized Result run(ConfigDefaults defaults, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            try {
                exit = Main.run(defaults, args);
            } finally {
                System.setOut(oldOut);
                System.setErr(oldErr);
            }
        }
        // In production log lines go to standard error; here (logback-test.xml) to standard output, where the
        // command's own log lines (a DNS failure...) would mix with what it printed: they are left out.
        String printed = out.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("time="))
                .map(l -> l + "\n").collect(java.util.stream.Collectors.joining());
        return new Result(exit, printed, err.toString(StandardCharsets.UTF_8));
    }
}
