package dev.postern.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a peer's command line with a time limit, stdout and stderr captured together. */
final class Run {
    private Run() {}

    static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** What a finished command did; {@link #toString()} is meant for assertion messages. */
    record Result(List<String> command, int exit, String output) {
        @Override public String toString() {
            return "$ " + String.join(" ", command) + "\n(exit " + exit + ")\n" + output;
        }
    }

    static Result run(String... command) throws IOException, InterruptedException {
        return run(TIMEOUT, List.of(command));
    }

    /**
     * Runs {@code command} with stdin empty; on timeout it and everything it started are killed and the result has
     * exit -1. Output goes through a file, so a chatty command cannot block on a full pipe.
     */
    static Result run(Duration timeout, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("postern-interop-", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(out.toFile()).start();
            int exit;
            if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                exit = p.exitValue();
            } else {
                kill(p.toHandle());
                exit = -1;
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (exit == -1) text += "\n[killed after " + timeout.toSeconds() + " s]";
            return new Result(List.copyOf(command), exit, text);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Kills a process and its descendants, by process id, and waits a little for them to go. */
    static void kill(ProcessHandle process) {
        List<ProcessHandle> all = new java.util.ArrayList<>(process.descendants().toList());
        all.addFirst(process);
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // best effort: it was sent SIGKILL
            }
        }
    }
}
