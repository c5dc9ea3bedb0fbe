package dev.postern.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian package that {@code ./mvnw package} builds (target/postern_*_all.deb), checked as dpkg and systemd see it,
 * without root: its contents and modes, control fields and maintainer scripts (run against recording stand-ins for
 * adduser, install and deb-systemd-helper), the unit ({@code systemd-analyze verify} on a copy whose paths point into
 * the unpacked package, and {@code security}), the man pages ({@code groff -ww}), and the service itself: the unit's
 * ExecStart run from the unpacked tree with the packaged conffile (listeners moved to free loopback ports) answers
 * SMTP with STARTTLS and stops on SIGTERM.
 */
class DebPackageIT {
    private static final String CONFFILE = "/etc/postern/postern.toml";
    private static final String UNIT = "/lib/systemd/system/postern.service";

    @TempDir static Path work;
    private static Path deb;
    /** The package unpacked with dpkg-deb -x: a throw-away root. */
    private static Path root;

    @BeforeAll static void unpack() throws Exception {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            deb = files.filter(p -> p.getFileName().toString().matches("postern_.*_all\\.deb"))
                    .max((a, b) -> Long.compare(a.toFile().lastModified(), b.toFile().lastModified()))
                    .orElseThrow(() -> new AssertionError("no target/postern_*_all.deb: run ./mvnw package first"));
        }
        root = work.resolve("root");
        Run x = run(List.of("dpkg-deb", "-x", deb.toString(), root.toString()));
        assertThat(x.exit()).as("%s", x).isZero();
    }

    // ---- what dpkg sees

    @Test void filesModesAndOwners() throws Exception {
        Run contents = run(List.of("dpkg-deb", "--contents", deb.toString()));
        assertThat(contents.exit()).as("%s", contents).isZero();
        Map<String, String> modes = new LinkedHashMap<>();
        for (String line : contents.out().lines().toList()) {
            String[] f = line.split("\\s+", 6); // mode owner size date time path
            modes.put(f[5].substring(1), f[0] + " " + f[1]); // "./usr/bin/postern" -> "/usr/bin/postern"
        }
        assertThat(modes).containsEntry("/usr/bin/postern", "-rwxr-xr-x root/root")
                .containsEntry(CONFFILE, "-rw-r--r-- root/root")
                .containsEntry(UNIT, "-rw-r--r-- root/root")
                .containsEntry("/usr/share/postern/postern.jar", "-rw-r--r-- root/root")
                .containsEntry("/usr/share/postern/jvm.options", "-rw-r--r-- root/root")
                .containsEntry("/usr/share/postern/java-home.sh", "-rw-r--r-- root/root")
                .containsEntry("/usr/share/postern/launch.sh", "-rw-r--r-- root/root")
                .containsEntry("/usr/share/man/man8/postern.8.gz", "-rw-r--r-- root/root")
                .containsEntry("/usr/share/man/man5/postern.toml.5.gz", "-rw-r--r-- root/root")
                .containsEntry("/usr/share/doc/postern/copyright", "-rw-r--r-- root/root");
        assertThat(modes).as("everything root's, nothing writable by others, no setuid")
                .allSatisfy((path, mode) -> assertThat(mode).matches("[-d]rw[-x]r-[-x]r-[-x] root/root"));
        assertThat(modes.keySet()).as("the data directory is made by postinst, owned by postern")
                .noneMatch(p -> p.startsWith("/var/"));

        // Every jar the manifest's Class-Path names is there: java -jar postern.jar finds all its classes.
        try (JarFile jar = new JarFile(root.resolve("usr/share/postern/postern.jar").toFile())) {
            String classPath = jar.getManifest().getMainAttributes().getValue("Class-Path");
            assertThat(classPath.split(" ")).isNotEmpty().allSatisfy(entry ->
                    assertThat(modes).containsEntry("/usr/share/postern/" + entry, "-rw-r--r-- root/root"));
        }
        // One JVM options file and one launcher for ./postern and the package: the same bytes.
        for (String f : List.of("jvm.options", "launch.sh", "java-home.sh")) {
            assertThat(root.resolve("usr/share/postern/" + f)).hasSameBinaryContentAs(Path.of("scripts", f));
        }
    }

    @Test void controlFieldsAndConffiles() throws Exception {
        Map<String, String> fields = new HashMap<>();
        for (String field : List.of("Package", "Architecture", "Depends", "Section", "Maintainer", "Version")) {
            Run r = run(List.of("dpkg-deb", "--field", deb.toString(), field));
            assertThat(r.exit()).as("%s", r).isZero();
            fields.put(field, r.out().strip());
        }
        assertThat(fields).containsEntry("Package", "postern").containsEntry("Architecture", "all")
                .containsEntry("Section", "mail")
                .containsEntry("Depends", "openjdk-25-jre-headless | temurin-25-jre | temurin-25-jdk, adduser");
        assertThat(fields.get("Version")).startsWith(projectVersion().replace("-SNAPSHOT", "~"));

        Path control = work.resolve("control");
        assertThat(run(List.of("dpkg-deb", "--control", deb.toString(), control.toString())).exit()).isZero();
        assertThat(Files.readAllLines(control.resolve("conffiles"))).containsExactly(CONFFILE);
        Run info = run(List.of("dpkg-deb", "--info", deb.toString()));
        assertThat(info.out()).contains("postinst", "prerm", "postrm");
        for (String script : List.of("postinst", "prerm", "postrm")) {
            Path s = control.resolve(script);
            assertThat(Files.getPosixFilePermissions(s)).as(script)
                    .isEqualTo(PosixFilePermissions.fromString("rwxr-xr-x"));
            assertThat(Files.readAllLines(s)).as(script).startsWith("#!/bin/sh").contains("set -e");
            Run syntax = run(List.of("sh", "-n", s.toString()));
            assertThat(syntax.exit()).as("sh -n %s: %s", script, syntax).isZero();
            assertThat(syntax.err()).as(script).isEmpty();
        }
    }

    /**
     * postinst configure, run for real with recording stand-ins on PATH for the commands that would change this
     * machine: the first installation makes the system user, the data directory 0700 and enables the service; an
     * upgrade (the user exists) makes no second user and leaves an existing data directory's mode and owner alone.
     * {@code DPKG_ROOT} (dpkg's root prefix for maintainer scripts) puts the data directory under this test's work.
     */
    @Test void postinstMakesTheUserAndTheDataDirectory() throws Exception {
        Path control = work.resolve("control-postinst");
        assertThat(run(List.of("dpkg-deb", "--control", deb.toString(), control.toString())).exit()).isZero();
        Path bin = Files.createDirectories(work.resolve("stand-ins"));
        Path calls = work.resolve("calls");
        for (String tool : List.of("adduser", "install", "deb-systemd-helper", "deb-systemd-invoke", "systemctl")) {
            standIn(bin, tool, "echo \"" + tool + " $*\" >> " + calls + "\nexit 0");
        }
        standIn(bin, "getent", "echo \"getent $*\" >> " + calls + "\nexit 2"); // no such user yet

        Path root = Files.createDirectories(work.resolve("dpkg-root")); // its own, not the unpacked package
        String dataDir = root + "/var/lib/postern";
        Map<String, String> env = Map.of("PATH", bin + ":/usr/bin:/bin", "DPKG_ROOT", root.toString());
        Run first = run(List.of("sh", control.resolve("postinst").toString(), "configure"), env);
        assertThat(first.exit()).as("%s", first).isZero();
        assertThat(Files.readAllLines(calls)).contains(
                "getent passwd postern",
                "adduser --quiet --system --group --home /var/lib/postern --no-create-home --gecos Postern mail"
                        + " gateway postern",
                "install -d -o postern -g postern -m 0700 " + dataDir,
                "deb-systemd-helper unmask postern.service",
                "deb-systemd-helper enable postern.service");

        Files.delete(calls);
        standIn(bin, "getent", "echo \"getent $*\" >> " + calls
                + "\necho postern:x:999:999::/var/lib/postern:/usr/sbin/nologin");
        Files.createDirectories(Path.of(dataDir)); // the administrator has since made it 0750 for a backup group
        Run upgrade = run(List.of("sh", control.resolve("postinst").toString(), "configure", "0.0.9"), env);
        assertThat(upgrade.exit()).as("%s", upgrade).isZero();
        assertThat(Files.readAllLines(calls)).contains("getent passwd postern")
                .noneMatch(l -> l.startsWith("adduser"))
                .noneMatch(l -> l.startsWith("install"));
    }

    /**
     * prerm stops the service on remove and before an upgrade replaces its jars (postinst starts it again), as
     * deb-systemd-invoke's pattern does. The scripts ask {@code [ -d /run/systemd/system ]}, which this machine may
     * not have: run under bash with its {@code [} builtin disabled, a stand-in on PATH answers yes to that alone.
     */
    @Test void prermStopsTheServiceOnUpgradeAndRemove() throws Exception {
        Path control = work.resolve("control-prerm");
        assertThat(run(List.of("dpkg-deb", "--control", deb.toString(), control.toString())).exit()).isZero();
        Path bin = Files.createDirectories(work.resolve("stand-ins-prerm"));
        Path calls = work.resolve("calls-prerm");
        for (String tool : List.of("deb-systemd-invoke", "systemctl")) {
            standIn(bin, tool, "echo \"" + tool + " $*\" >> " + calls + "\nexit 0");
        }
        standIn(bin, "[", "if [ \"$1\" = -d ] && [ \"$2\" = /run/systemd/system ]; then exit 0; fi\n"
                + "exec /usr/bin/[ \"$@\"");
        Map<String, String> env = Map.of("PATH", bin + ":/usr/bin:/bin");
        for (List<String> args : List.of(List.of("upgrade", "0.1.0"), List.of("remove"),
                List.of("failed-upgrade", "0.0.9"))) {
            Files.deleteIfExists(calls);
            List<String> command = new ArrayList<>(List.of("bash", "-c",
                    "enable -n [ test; script=$1; shift; . \"$script\" \"$@\"", "bash",
                    control.resolve("prerm").toString()));
            command.addAll(args);
            Run r = run(command, env);
            assertThat(r.exit()).as("%s %s", args, r).isZero();
            List<String> recorded = Files.exists(calls) ? Files.readAllLines(calls) : List.of();
            if (args.getFirst().equals("failed-upgrade")) {
                assertThat(recorded).as("%s", args).isEmpty();
            } else {
                assertThat(recorded).as("%s", args).containsExactly("deb-systemd-invoke stop postern.service");
            }
        }
    }

    private static void standIn(Path bin, String name, String body) throws IOException {
        Path f = bin.resolve(name);
        Files.writeString(f, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    // ---- what systemd sees

    @Test void theUnitAsAsked() throws Exception {
        Map<String, List<String>> unit = unit();
        String asked = """
                Type=exec
                User=postern
                ExecStart=/usr/bin/postern serve --config /etc/postern/postern.toml
                ExecReload=/bin/kill -HUP $MAINPID
                AmbientCapabilities=CAP_NET_BIND_SERVICE
                CapabilityBoundingSet=CAP_NET_BIND_SERVICE
                ProtectSystem=strict
                ReadWritePaths=/var/lib/postern
                NoNewPrivileges=yes
                PrivateTmp=yes
                ProtectHome=yes
                ProtectKernelTunables=yes
                ProtectKernelModules=yes
                ProtectKernelLogs=yes
                RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
                """;
        for (String line : asked.lines().toList()) {
            String[] kv = line.split("=", 2);
            assertThat(unit).containsEntry(kv[0], List.of(kv[1]));
        }
        assertThat(unit).containsKey("LimitNOFILE");
    }

    /**
     * systemd-analyze verify on a copy of the unit whose paths point into the unpacked package (systemd 252's --root
     * would also need the target units and /bin/kill inside the root), with MANPATH there so that Documentation=
     * finds the packaged man pages; then the exposure score of systemd-analyze security.
     */
    @Test void systemdAcceptsTheUnit() throws Exception {
        String text = Files.readString(root.resolve(UNIT.substring(1)));
        for (String path : List.of("/usr/bin/postern", CONFFILE, "/etc/default/postern", "/var/lib/postern")) {
            text = text.replace(path, root + path);
        }
        Files.createDirectories(root.resolve("var/lib/postern"));
        Path copy = Files.createDirectories(work.resolve("unit")).resolve("postern.service");
        Files.writeString(copy, text);
        Run verify = run(List.of("systemd-analyze", "verify", copy.toString()),
                Map.of("PATH", "/usr/bin:/bin", "MANPATH", root.resolve("usr/share/man").toString()));
        assertThat(verify.exit()).as("%s", verify).isZero();
        assertThat(verify.out() + verify.err()).as("%s", verify).isEmpty();

        Run security = run(List.of("systemd-analyze", "security", "--offline=true", copy.toString()));
        Matcher m = Pattern.compile("Overall exposure level for postern\\.service: (\\d+\\.\\d)").matcher(security.out());
        assertThat(m.find()).as("%s", security).isTrue();
        assertThat(Double.parseDouble(m.group(1))).as("exposure (0 safest, 10 unprotected)").isLessThanOrEqualTo(2.0);
    }

    // ---- the man pages

    @Test void manPagesRenderWithoutWarnings() throws Exception {
        for (String page : List.of("usr/share/man/man8/postern.8.gz", "usr/share/man/man5/postern.toml.5.gz")) {
            Path roff = work.resolve(Path.of(page).getFileName().toString().replace(".gz", ""));
            try (InputStream in = new GZIPInputStream(Files.newInputStream(root.resolve(page)))) {
                Files.write(roff, in.readAllBytes());
            }
            Run groff = run(List.of("groff", "-man", "-ww", "-z", roff.toString()));
            assertThat(groff.exit()).as("%s", groff).isZero();
            assertThat(groff.err()).as("groff warnings in %s", page).isEmpty();
        }
        Run man = run(List.of("man", "-l", root.resolve("usr/share/man/man8/postern.8.gz").toString()),
                Map.of("PATH", "/usr/bin:/bin", "MANWIDTH", "120", "MAN_KEEP_FORMATTING", ""));
        assertThat(man.exit()).as("%s", man).isZero();
        assertThat(man.out()).contains("POSTERN_CONFIG", "POSTERN_LOG_LEVEL", "POSTERN_JAVA_OPTS", "MALLOC_ARENA_MAX",
                "SIGHUP", "SIGTERM", "EXIT STATUS", "/etc/postern/postern.toml");
    }

    /** postern(8) lists every command that {@code postern --help} of the packaged launcher lists. */
    @Test void theCommandPageListsEveryCommand() throws Exception {
        Run help = run(List.of(root.resolve("usr/bin/postern").toString(), "--help"));
        assertThat(help.exit()).as("%s", help).isZero();
        List<String> commands = new ArrayList<>();
        boolean inCommands = false;
        for (String line : help.out().lines().toList()) {
            if (line.equals("Commands:")) inCommands = true;
            else if (inCommands && line.matches(" {2}\\S.*")) commands.add(line.strip().split("\\s+")[0]);
        }
        assertThat(commands).contains("serve", "queue", "config");
        String page = rendered("usr/share/man/man8/postern.8.gz");
        assertThat(commands).allSatisfy(c ->
                assertThat(page).as("postern(8) lists '%s'", c).containsPattern("(?m)^ {7}" + Pattern.quote(c) + "\\b"));
    }

    /** postern.toml(5) names every key of every table in docs/configuration.md. */
    @Test void theFilePageNamesEveryDocumentedKey() throws Exception {
        String page = Files.readString(Path.of("src/deb/man/postern.toml.5")).replace("\\-", "-").replace("\\(dq", "\"");
        Pattern heading = Pattern.compile("^## (`\\[.*|Top-level keys)$");
        String section = null;
        List<String> missing = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("docs/configuration.md"))) {
            if (line.startsWith("## ")) section = heading.matcher(line).matches() ? line.substring(3) : null;
            Matcher key = Pattern.compile("^\\| `([a-z_]+)`").matcher(line);
            if (section != null && key.find() && !page.contains(".B " + key.group(1) + "\n")) {
                missing.add(section + " " + key.group(1));
            }
        }
        assertThat(missing).as("keys of docs/configuration.md missing from src/deb/man/postern.toml.5").isEmpty();
    }

    private static String rendered(String page) throws Exception {
        Run man = run(List.of("man", "-l", root.resolve(page).toString()), Map.of("PATH", "/usr/bin:/bin",
                "MANWIDTH", "120"));
        assertThat(man.exit()).as("%s", man).isZero();
        return man.out().replaceAll(".\b", ""); // no overstrike, should a man-db still emit it
    }

    // ---- the conffile

    /**
     * The conffile is examples/postern.toml adapted: every line of the example is in it, as it is or commented out
     * (the example's own domains, routes and partners), but for the few lines the package changes on purpose.
     */
    @Test void theConffileIsTheAnnotatedExampleAdapted() throws Exception {
        List<String> example = Files.readAllLines(Path.of("examples/postern.toml"));
        List<String> packaged = Files.readAllLines(root.resolve(CONFFILE.substring(1)));
        List<String> changedOnPurpose = List.of("# Postern — example configuration",
                "# Copy this file (e.g. to /etc/postern/postern.toml), edit it, and check it with `postern config check FILE`",
                "# before starting the gateway: every problem is reported on one line as \"FILE: KEY: expected WHAT, got VALUE\".",
                "data_dir = \"/var/lib/postern\"", "address = \"0.0.0.0:587\"");
        List<String> lost = example.stream().filter(l -> !changedOnPurpose.contains(l))
                .filter(l -> !packaged.contains(l) && !packaged.contains("# " + l)).toList();
        assertThat(lost).as("lines of examples/postern.toml missing from src/deb/postern.toml").isEmpty();
        assertThat(packaged).contains("data_dir = \"/var/lib/postern\"   # the package makes it (0700, user postern);"
                        + " the service may write nowhere else", "# hostname = \"mail.example.com\"",
                "address = \"0.0.0.0:25\"           # for IPv6 too, write \"[::]:25\" instead",
                "address = \"127.0.0.1:587\"        # \"0.0.0.0:587\" for clients elsewhere");

        Run check = run(List.of(root.resolve("usr/bin/postern").toString(), "config", "check",
                root.resolve(CONFFILE.substring(1)).toString()));
        assertThat(check.exit()).as("%s", check).isZero();
    }

    // ---- the service

    /**
     * The unit's ExecStart, its paths mapped into the unpacked package, in systemd's bare environment (no JAVA_HOME:
     * the launcher finds a Java 25 under /usr/lib/jvm): it reads the packaged conffile (data_dir and listeners moved
     * into the temp dir and onto free loopback ports, DNS to a closed loopback port so nothing leaves the machine),
     * runs the JVM with the options of the packaged jvm.options and $POSTERN_JAVA_OPTS after them, answers SMTP with
     * STARTTLS, and ends on SIGTERM with a status the unit counts as success.
     */
    @Test void theServiceCommandLineServesSmtpAndStopsOnSigterm() throws Exception {
        int mx = freePort();
        int submission = freePort();
        Path data = work.resolve("service-root/var/lib/postern");
        Path conffile = work.resolve("service-root/etc/postern/postern.toml");
        Files.createDirectories(conffile.getParent());
        String config = Files.readString(root.resolve(CONFFILE.substring(1)))
                .replace("data_dir = \"/var/lib/postern\"", "data_dir = \"" + data + "\"")
                .replace("address = \"0.0.0.0:25\"", "address = \"127.0.0.1:" + mx + "\"")
                .replace("address = \"127.0.0.1:587\"", "address = \"127.0.0.1:" + submission + "\"")
                .replace("servers = []", "servers = [\"127.0.0.1:" + freePort() + "\"]");
        assertThat(config).contains("127.0.0.1:" + mx, "127.0.0.1:" + submission, data.toString());
        Files.writeString(conffile, config);

        List<String> command = new ArrayList<>();
        for (String arg : unit().get("ExecStart").getFirst().split(" ")) {
            command.add(arg.equals(CONFFILE) ? conffile.toString() : arg.startsWith("/") ? root + arg : arg);
        }
        Path out = work.resolve("service.out");
        Path err = work.resolve("service.err");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().clear();
        pb.environment().putAll(Map.of("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "POSTERN_JAVA_OPTS", "-Xmx96m"));
        Process p = pb.start();
        try {
            awaitLine(p, out, err, "Local domains: ");
            assertThat(Files.readString(out)).contains("Configuration: " + conffile, "data in " + data,
                    "127.0.0.1:" + mx, "127.0.0.1:" + submission);

            // The JVM the launcher exec'd: the packaged options, then POSTERN_JAVA_OPTS, and MALLOC_ARENA_MAX=2.
            List<String> argv = List.of(Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"))
                    .split("\0"));
            assertThat(argv.getFirst()).contains("/usr/lib/jvm/").endsWith("/bin/java");
            assertThat(argv).containsSubsequence("-XX:+UseSerialGC", "-Xmx128m", "-Xmx96m", "-jar",
                    root + "/usr/share/postern/postern.jar", "serve");
            assertThat(Files.readString(Path.of("/proc", Long.toString(p.pid()), "environ")).split("\0"))
                    .contains("MALLOC_ARENA_MAX=2");

            try (SmtpTestClient smtp = SmtpTestClient.connect(new InetSocketAddress("127.0.0.1", mx))) {
                assertThat(smtp.read().code()).isEqualTo(220);
                SmtpTestClient.Response ehlo = smtp.command("EHLO admin.test");
                assertThat(ehlo.code()).isEqualTo(250);
                assertThat(ehlo.lines()).anyMatch(l -> l.substring(4).equals("STARTTLS"));
                assertThat(smtp.startTls()).startsWith("TLSv1.");
                assertThat(smtp.command("EHLO admin.test").code()).isEqualTo(250);
                assertThat(smtp.command("QUIT").code()).isEqualTo(221);
            }
            assertThat(Files.getPosixFilePermissions(data)).isEqualTo(PosixFilePermissions.fromString("rwx------"));

            p.destroy(); // SIGTERM, as systemctl stop sends it
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s of SIGTERM").isTrue();
            List<Integer> success = new ArrayList<>(List.of(0));
            for (String s : unit().getOrDefault("SuccessExitStatus", List.of())) {
                for (String code : s.split(" ")) success.add(Integer.parseInt(code));
            }
            assertThat(p.exitValue()).as("exit status after SIGTERM (the unit's successes: %s)\n%s", success,
                    Files.readString(err)).isIn(success);
        } finally {
            p.destroyForcibly();
        }
    }

    /** A JAVA_HOME older than 25 (as a login shell may have) is passed over, not used. */
    @Test void theLauncherPassesOverAnOldJavaHome() throws Exception {
        Path old = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        Map<String, String> env = new HashMap<>(Map.of("PATH", "/usr/bin:/bin"));
        if (Files.isExecutable(old.resolve("bin/java"))) env.put("JAVA_HOME", old.toString());
        Run version = run(List.of(root.resolve("usr/bin/postern").toString(), "version"), env);
        assertThat(version.exit()).as("%s", version).isZero();
        assertThat(version.out()).containsPattern("on Java 2[5-9]");
    }

    // ---- helpers

    /** The unit file's [Service] (and other) settings, each key with its values in order. */
    private static Map<String, List<String>> unit() throws IOException {
        Map<String, List<String>> settings = new LinkedHashMap<>();
        for (String line : Files.readAllLines(root.resolve(UNIT.substring(1)))) {
            if (line.isBlank() || line.startsWith("#") || line.startsWith("[")) continue;
            int eq = line.indexOf('=');
            settings.computeIfAbsent(line.substring(0, eq), k -> new ArrayList<>()).add(line.substring(eq + 1));
        }
        return settings;
    }

    private static String projectVersion() throws IOException {
        Matcher m = Pattern.compile("<artifactId>postern</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(Path.of("pom.xml")));
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    private static void awaitLine(Process p, Path out, Path err, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (Files.readAllLines(out).stream().anyMatch(l -> l.startsWith(prefix))) return;
            if (!p.isAlive()) {
                throw new AssertionError("exited with " + p.exitValue() + " before '" + prefix + "'\n--- stdout\n"
                        + Files.readString(out) + "--- stderr\n" + Files.readString(err));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + prefix + "' after 120 s\n--- stdout\n" + Files.readString(out)
                + "--- stderr\n" + Files.readString(err));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    record Run(int exit, String out, String err) {
        @Override public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private static Run run(List<String> command) throws Exception {
        return run(command, null);
    }

    /** Runs a command to its end (60 s at most); {@code env}, when given, is its whole environment. */
    private static Run run(List<String> command, Map<String, String> env) throws Exception {
        Path out = Files.createTempFile(work, "run", ".out");
        Path err = Files.createTempFile(work, "run", ".err");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        if (env != null) {
            pb.environment().clear();
            pb.environment().putAll(env);
        }
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within 60 s");
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
