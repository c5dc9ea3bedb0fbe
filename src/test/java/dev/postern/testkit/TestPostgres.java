package dev.postern.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for tests, from the Debian package (the newest version under /usr/lib/postgresql): made
 * in a temporary directory, listening on a free port of 127.0.0.1 only (its Unix socket in that directory too),
 * started once per JVM when a test first asks and stopped by a shutdown hook. When the JVM runs as root the server
 * runs as the {@code postgres} user, since initdb refuses root. Without PostgreSQL installed, {@link #get()} fails
 * with a message that says so: the tests that need it fail, they do not skip.
 */
public final class TestPostgres {
    private static final Path INSTALL = Path.of("/usr/lib/postgresql");
    private static TestPostgres instance;

    private final Path bin;
    private final Path dir;
    private final Path data;
    private final int port;
    private final AtomicInteger databases = new AtomicInteger();
    private boolean running;

    private TestPostgres(Path bin, Path dir, int port) {
        this.bin = bin;
        this.dir = dir;
        this.data = dir.resolve("data");
        this.port = port;
    }

    /** The server of this JVM, made and started on first use. */
    public static synchronized TestPostgres get() {
        if (instance == null) {
            try {
                TestPostgres pg = new TestPostgres(findBin(), Files.createTempDirectory("postern-pg"), freePort());
                pg.init();
                pg.start();
                Runtime.getRuntime().addShutdownHook(new Thread(pg::destroy, "test-postgres-stop"));
                instance = pg;
            } catch (IOException e) {
                throw new IllegalStateException("cannot start the test PostgreSQL: " + e.getMessage(), e);
            }
        }
        return instance;
    }

    private static Path findBin() {
        try (Stream<Path> versions = Files.list(INSTALL)) {
            return versions.filter(v -> Files.isExecutable(v.resolve("bin/initdb")))
                    .max(Comparator.comparingInt(v -> versionNumber(v.getFileName().toString())))
                    .map(v -> v.resolve("bin"))
                    .orElseThrow(() -> missing());
        } catch (IOException e) {
            throw missing();
        }
    }

    private static IllegalStateException missing() {
        return new IllegalStateException("PostgreSQL is not installed: no " + INSTALL + "/<version>/bin/initdb. "
                + "Install Debian's postgresql package (apt-get install postgresql) to run the PostgreSQL tests.");
    }

    private static int versionNumber(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    private void init() throws IOException {
        if (root()) {
            UserPrincipalLookupService users = FileSystems.getDefault().getUserPrincipalLookupService();
            Files.setOwner(dir, users.lookupPrincipalByName("postgres"));
        }
        run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--no-sync", "--locale=C"));
    }

    /** Starts the server (again) on the same port; waits until it accepts connections. */
    public synchronized void start() {
        if (running) return;
        String options = "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir
                + " -c max_connections=50";
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("log").toString(),
                "-o", options, "-w", "-t", "60", "start"));
        running = true;
    }

    /** Stops the server at once (connections are cut, as when a database host goes away). */
    public synchronized void stop() {
        if (!running) return;
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "stop"));
        running = false;
    }

    private void destroy() {
        try {
            stop();
        } catch (RuntimeException e) {
            // the JVM is ending; the directory goes anyway
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // left in the temporary directory
        }
    }

    public int port() { return port; }

    /** A new, empty database; its JDBC URL (user postgres, no password). */
    public String newDatabase() {
        String name = "t" + databases.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("postgres"));
             Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create a test database: " + e.getMessage(), e);
        }
        return url(name);
    }

    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=postgres";
    }

    private void run(List<String> command) {
        List<String> full = new ArrayList<>();
        if (root()) full.addAll(List.of("runuser", "-u", "postgres", "--"));
        full.addAll(command);
        try {
            Process p = new ProcessBuilder(full).directory(dir.toFile()).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", full));
            }
            if (p.exitValue() != 0) {
                String log = Files.exists(dir.resolve("log"))
                        ? Files.readString(dir.resolve("log"), StandardCharsets.UTF_8) : "";
                throw new IllegalStateException("failed (exit " + p.exitValue() + "): " + String.join(" ", full)
                        + "\n" + new String(out, StandardCharsets.UTF_8) + log);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + full.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", full), e);
        }
    }
}
