package dev.postern.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code postern serve ...} in a child JVM on this test's classpath, its standard output and error going to files
 * (so a full pipe can never stall it and the files are there to read when something fails).
 */
final class GatewayProcess implements AutoCloseable {
    private static final Pattern LISTENER = Pattern.compile("^ {2}(mx|submissions|submission) +(\\S+):(\\d+) ");

    /** The gateway did not get as far as listening; {@link #output()} says why. */
    static final class NotStarted extends Exception {
        NotStarted(String message) { super(message); }
    }

    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private GatewayProcess(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** Starts {@code postern ARGS} in {@code workDir}; output goes to {@code logs/NAME.out} and {@code NAME.err}. */
    static GatewayProcess start(Path workDir, Path logs, String name, String... args) throws IOException {
        return launch(javaCommand(args), workDir, logs, name);
    }

    /**
     * Like {@link #start}, the gateway's java command run by {@code wrapper} (strace and its options): {@link #pid} is
     * the wrapper's, {@link #descendants} reaches the JVM.
     */
    static GatewayProcess startUnder(List<String> wrapper, Path workDir, Path logs, String name, String... args)
            throws IOException {
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(javaCommand(args));
        return launch(command, workDir, logs, name);
    }

    /**
     * Like {@link #start}, with {@code jvmOptions} after the shipped ones (the last occurrence wins, as with
     * {@code POSTERN_JAVA_OPTS}), e.g. a smaller {@code -Xmx}.
     */
    static GatewayProcess startWithJvmOptions(Path workDir, Path logs, String name, List<String> jvmOptions,
                                              String... args) throws IOException {
        List<String> command = javaCommand(args);
        command.addAll(command.indexOf("-cp"), jvmOptions);
        return launch(command, workDir, logs, name);
    }

    private static GatewayProcess launch(List<String> command, Path workDir, Path logs, String name)
            throws IOException {
        Files.createDirectories(logs);
        Path out = logs.resolve(name + ".out");
        Path err = logs.resolve(name + ".err");
        Process p = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new GatewayProcess(p, out, err);
    }

    /** The processes this one started: the gateway JVM when it runs under a wrapper. */
    java.util.stream.Stream<ProcessHandle> descendants() { return process.descendants(); }

    /** Like {@link #start}, in a shell that sets {@code umask} first (a JVM cannot change its own umask). */
    static GatewayProcess startWithUmask(Path workDir, Path logs, String name, String umask, String... args)
            throws IOException {
        return launch(withUmask(umask, javaCommand(args)), workDir, logs, name);
    }

    /** Runs a short {@code postern ARGS} command under {@code umask}, {@code stdin} as its standard input. */
    static Cli.Result runCommandWithUmask(Path workDir, String umask, String stdin, String... args)
            throws IOException, InterruptedException {
        Path in = Files.createTempFile("command", ".in");
        Path out = Files.createTempFile("command", ".out");
        Path err = Files.createTempFile("command", ".err");
        try {
            Files.writeString(in, stdin, StandardCharsets.UTF_8);
            Process p = new ProcessBuilder(withUmask(umask, javaCommand(args))).directory(workDir.toFile())
                    .redirectInput(in.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("postern " + String.join(" ", args) + " did not finish within 30s");
            }
            return new Cli.Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            for (Path f : List.of(in, out, err)) Files.deleteIfExists(f);
        }
    }

    private static List<String> withUmask(String umask, List<String> command) {
        if (!umask.matches("[0-7]{3,4}")) throw new IllegalArgumentException("umask " + umask);
        List<String> shell = new ArrayList<>(List.of("/bin/sh", "-c", "umask " + umask + " && exec \"$@\"", "sh"));
        shell.addAll(command);
        return shell;
    }

    /** Runs a short {@code postern ARGS} command (not serve) in a child JVM and waits for it. */
    static Cli.Result runCommand(Path workDir, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile(workDir, "command", ".out");
        Path err = Files.createTempFile(workDir, "command", ".err");
        try {
            Process p = new ProcessBuilder(javaCommand(args)).directory(workDir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("postern " + String.join(" ", args) + " did not finish within 30s");
            }
            return new Cli.Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static List<String> javaCommand(String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED"));
        command.addAll(shippedJvmOptions()); // the gateway runs here with the heap and JIT settings ./postern ships
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    /** scripts/jvm.options as ./postern reads it: one option per line, '#' starts a comment. */
    static List<String> shippedJvmOptions() {
        try {
            return Files.readAllLines(Path.of("scripts", "jvm.options")).stream()
                    .map(line -> line.replaceFirst("#.*", "").strip())
                    .filter(line -> !line.isEmpty())
                    .toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Waits until the gateway prints its listeners (the "Local domains:" line comes last) and returns them by role.
     * Throws {@link NotStarted} if the process ends first.
     */
    Map<String, InetSocketAddress> awaitListening(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> lines = Files.readAllLines(stdout, StandardCharsets.UTF_8);
            if (lines.stream().anyMatch(l -> l.startsWith("Local domains: "))) {
                Map<String, InetSocketAddress> listeners = new LinkedHashMap<>();
                for (String l : lines) {
                    Matcher m = LISTENER.matcher(l);
                    if (m.find()) {
                        listeners.put(m.group(1), new InetSocketAddress(m.group(2), Integer.parseInt(m.group(3))));
                    }
                }
                return listeners;
            }
            if (!process.isAlive()) {
                throw new NotStarted("gateway exited with " + process.exitValue() + " before listening\n" + output());
            }
            Thread.sleep(50);
        }
        throw new AssertionError("gateway not listening after " + timeout + "\n" + output());
    }

    /** SIGKILL, and wait until the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no flush, no close
        if (!process.waitFor(20, TimeUnit.SECONDS)) throw new AssertionError("killed gateway did not exit");
    }

    /** SIGTERM (an orderly stop through the shutdown hook); returns the exit code. */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("gateway did not stop within 20s of SIGTERM\n" + output());
        }
        return process.exitValue();
    }

    /** Sends {@code signal} ("TERM", "HUP", "INT") to the process, as kill(1) would. */
    void signal(String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
        if (kill.waitFor() != 0) throw new AssertionError("kill -" + signal + " " + process.pid() + " failed");
    }

    /** Waits for the process to end by itself; returns its exit status. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("gateway still running after " + timeout + "\n" + output());
        }
        return process.exitValue();
    }

    boolean isAlive() { return process.isAlive(); }

    /** A loopback port free right now, for a listener in a config written before the gateway starts. */
    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Entries of a directory (0 when it does not exist), e.g. envelopes in a queue state. */
    static long count(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    long pid() { return process.pid(); }

    String stdout() throws IOException { return Files.readString(stdout, StandardCharsets.UTF_8); }

    String stderr() throws IOException { return Files.readString(stderr, StandardCharsets.UTF_8); }

    /** Both outputs, for failure messages. */
    String output() {
        try {
            return "--- stdout (" + stdout + ")\n" + tail(stdout()) + "--- stderr (" + stderr + ")\n" + tail(stderr());
        } catch (IOException e) {
            return "(output unreadable: " + e + ")";
        }
    }

    private static String tail(String s) {
        return s.length() <= 8000 ? s : "...\n" + s.substring(s.length() - 8000);
    }

    /** Kills the process if it still runs (for finally blocks; never throws). */
    @Override public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
