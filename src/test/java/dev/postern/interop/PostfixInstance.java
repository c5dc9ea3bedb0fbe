package dev.postern.interop;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/**
 * A private Postfix instance for one test class: its own config, queue and data directories under a temp directory,
 * listening on 127.0.0.1 only, no DNS, and stopped with everything it started when the test is done.
 *
 * <p>What was found out about running Postfix 3.7 (Debian) this way, without touching {@code /etc/postfix}:
 * <ul>
 *   <li>{@code postfix -c DIR ...} works for root without {@code alternate_config_directories} in the default
 *       {@code /etc/postfix/main.cf}: that list is checked only by the set-gid programs ({@code postqueue},
 *       {@code postdrop}, hence {@code sendmail}), which refuse a non-default directory ("unauthorized
 *       configuration directory name"). So mail goes into the instance over SMTP only, never through sendmail. The
 *       {@code postfix} command itself is reserved for the superuser, hence {@link Peers#postfix()} needs root (CI
 *       runs as root).</li>
 *   <li>{@code main.cf} must name {@code config_directory}, {@code queue_directory} and {@code data_directory}. The
 *       queue directory must exist; {@code postfix start}'s integrity check ({@code post-install create-missing})
 *       then makes its subdirectories and the data directory with the right owners. No {@code postfix
 *       set-permissions} or {@code check} step is needed before starting.</li>
 *   <li>Logging: Postfix logs to syslog ({@code /dev/log}) unless {@code maillog_file} is set, which needs the
 *       {@code postlog} service in master.cf and a path under one of {@code maillog_file_prefixes} (default
 *       {@code /var, /dev/stdout}), so the prefixes are set to the instance's directory. Without a TTY the
 *       {@code postfix} command prints its fatal errors only to the log, so a failed start is diagnosed from the
 *       maillog file.</li>
 *   <li>{@code postfix start} daemonizes the master, which is then re-parented away from the JVM (and in a
 *       container whose PID 1 does not reap it stays a zombie). {@code postfix start-fg} (Postfix 3.3+) runs the
 *       same checks and then {@code master -s} in the foreground, as a child of the shell script that is the JVM's
 *       child; {@code postfix stop} ends it normally, and as a last resort the process tree is killed by process id.
 *       That is what is used here.</li>
 *   <li>master.cf is a minimal one without chroot (Debian's marks most services chroot=y, which needs a populated
 *       {@code queue_directory/etc}); the smtpd service is named {@code 127.0.0.1:PORT}.</li>
 *   <li>The instance directory and its parents must be searchable by the {@code postfix} user (JUnit's temp
 *       directories are mode 0700), and the virtual Maildir base must be writable by the delivery uid.</li>
 *   <li>No DNS: {@code smtp_dns_support_level = disabled}, {@code smtp_host_lookup = native}, next hops as
 *       {@code [127.0.0.1]:PORT} literals in a transport map, {@code default_transport = error} so nothing else can
 *       leave, {@code smtpd_peername_lookup = no}, {@code inet_interfaces = 127.0.0.1}, {@code inet_protocols =
 *       ipv4}.</li>
 *   <li>Variants without a second instance: extra master.cf services with {@code -o name=value} overrides (an empty
 *       value clears a setting, e.g. {@code -o smtp_tls_cert_file=} for a client transport without a certificate),
 *       chosen per recipient address or domain by the transport map (transport(5) looks up the full address
 *       first); further smtpd listeners on their own ports, each with {@code -o syslog_name=postfix/TAG} so that its
 *       log lines read {@code postfix/TAG/smtpd[pid]}.</li>
 *   <li>Start to ready takes about 2 s on a fresh queue directory (mostly {@code post-install create-missing}), 0.3 s
 *       on an existing one; readiness is the master's "daemon started" log line (the listening sockets are open by
 *       then). The whole exchange was checked with {@code strace -e connect}: the only INET connection Postfix makes
 *       is to the next hop on 127.0.0.1.</li>
 * </ul>
 */
final class PostfixInstance implements AutoCloseable {
    private final Path dir;
    private final Path etc;
    private final Path maillog;
    private final int port;
    private final Path postfix;
    private Process master;
    private Thread reaper;

    private PostfixInstance(Path dir, int port, Path postfix) {
        this.dir = dir;
        this.etc = dir.resolve("etc");
        this.maillog = dir.resolve("maillog");
        this.port = port;
        this.postfix = postfix;
    }

    /** What main.cf says beyond the private-instance basics; later entries override earlier ones. */
    static final class Settings {
        final String hostname;
        final Map<String, String> main = new LinkedHashMap<>();
        final Map<String, String> transports = new LinkedHashMap<>();
        final Map<String, String> virtualMailboxes = new LinkedHashMap<>();
        final List<String> services = new ArrayList<>();

        Settings(String hostname) {
            this.hostname = hostname;
        }

        Settings set(String key, String value) {
            main.put(key, value);
            return this;
        }

        /** Mail for {@code domain} goes over SMTP to {@code [127.0.0.1]:port}. */
        Settings route(String domain, int port) {
            transports.put(domain, "smtp:[127.0.0.1]:" + port);
            return this;
        }

        /**
         * Mail for {@code key} (a domain, or a full address, which transport(5) looks up first) goes to
         * {@code [127.0.0.1]:port} through the master.cf transport {@code transport}, e.g. one made by
         * {@link #client}.
         */
        Settings route(String key, String transport, int port) {
            transports.put(key, transport + ":[127.0.0.1]:" + port);
            return this;
        }

        /**
         * An SMTP client transport named {@code name} in master.cf whose main.cf settings differ by {@code overrides}
         * ({@code -o name=value}; an empty value clears a setting). Values must not contain white space.
         */
        Settings client(String name, Map<String, String> overrides) {
            services.add(name + " unix - - n - - smtp" + options(overrides));
            return this;
        }

        /**
         * Another smtpd listening on {@code 127.0.0.1:port}, with {@code overrides} of main.cf; it logs as
         * {@code postfix/<tag>/smtpd} so its lines can be told apart from the main listener's.
         */
        Settings smtpd(int port, String tag, Map<String, String> overrides) {
            Map<String, String> o = new LinkedHashMap<>(overrides);
            o.put("syslog_name", "postfix/" + tag);
            services.add("127.0.0.1:" + port + " inet n - n - - smtpd" + options(o));
            return this;
        }

        private static String options(Map<String, String> overrides) {
            StringBuilder b = new StringBuilder();
            overrides.forEach((k, v) -> {
                if ((k + v).chars().anyMatch(Character::isWhitespace)) {
                    throw new IllegalArgumentException("white space in a master.cf override: " + k + "=" + v);
                }
                b.append("\n  -o ").append(k).append('=').append(v);
            });
            return b.toString();
        }

        /** Mail for {@code address} is delivered by Postfix's virtual agent to {@link #maildir(String)}. */
        Settings mailbox(String address) {
            virtualMailboxes.put(address, address.substring(address.indexOf('@') + 1) + "/"
                    + address.substring(0, address.indexOf('@')) + "/");
            return this;
        }
    }

    /** Writes the configuration under {@code dir} and starts the master; returns once it listens on {@code port}. */
    static PostfixInstance start(Path dir, int port, Settings settings) throws IOException {
        PostfixInstance p = new PostfixInstance(dir, port, Peers.postfix());
        try {
            p.configure(settings);
            p.launch();
            return p;
        } catch (IOException | RuntimeException | Error e) {
            p.close();
            throw e;
        }
    }

    int port() { return port; }

    Path dir() { return dir; }

    /** Where the virtual agent delivers mail for {@code address} ({@code cur}, {@code new}, {@code tmp} inside). */
    Path maildir(String address) {
        int at = address.indexOf('@');
        return dir.resolve("vmail").resolve(address.substring(at + 1)).resolve(address.substring(0, at));
    }

    /** The instance's log so far. */
    String log() {
        try {
            return Files.exists(maillog) ? Files.readString(maillog, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + maillog + ": " + e + ")";
        }
    }

    /** The log lines so far in which {@code regex} is found. */
    List<String> logLines(String regex) {
        Pattern p = Pattern.compile(regex);
        return log().lines().filter(l -> p.matcher(l).find()).toList();
    }

    /** Waits until the log has a line matching {@code regex}; returns that line. */
    String awaitLog(String regex, Duration atMost) {
        Pattern p = Pattern.compile(regex);
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(100))
                    .failFast("postfix exited", () -> master == null || !master.isAlive())
                    .until(() -> log().lines().anyMatch(l -> p.matcher(l).find()));
        } catch (ConditionTimeoutException | TerminalFailureException e) {
            throw new AssertionError("no line /" + regex + "/ in the postfix log within " + atMost.toSeconds()
                    + " s (" + e.getMessage() + ")\n" + diagnostics(), e);
        }
        return log().lines().filter(l -> p.matcher(l).find()).findFirst().orElseThrow();
    }

    /** The log and the output of the start command, for assertion messages. */
    String diagnostics() {
        String startOutput;
        try {
            Path out = dir.resolve("start-fg.out");
            startOutput = Files.exists(out) ? Files.readString(out, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            startOutput = e.toString();
        }
        return "--- " + maillog + "\n" + log() + "--- postfix start-fg output\n" + startOutput;
    }

    private void configure(Settings s) throws IOException {
        Files.createDirectories(etc);
        Files.createDirectories(dir.resolve("spool"));
        Path vmail = Files.createDirectories(dir.resolve("vmail"));
        // Postfix's daemons run as the postfix user, the virtual agent as nobody: they must reach into the temp dir.
        Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
        for (Path d = dir.toAbsolutePath(); d != null && d.startsWith(tmp) && !d.equals(tmp); d = d.getParent()) {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.setPosixFilePermissions(vmail, PosixFilePermissions.fromString("rwxrwxrwx"));

        Map<String, String> main = new LinkedHashMap<>();
        main.put("compatibility_level", "3.6");
        main.put("config_directory", etc.toString());
        main.put("queue_directory", dir.resolve("spool").toString());
        main.put("data_directory", dir.resolve("data").toString());
        main.put("maillog_file_prefixes", dir.toString());
        main.put("maillog_file", maillog.toString());
        main.put("myhostname", s.hostname);
        main.put("mydomain", s.hostname);
        main.put("myorigin", "$myhostname");
        main.put("mydestination", "");
        main.put("mynetworks", "127.0.0.0/8");
        main.put("inet_interfaces", "127.0.0.1");
        main.put("inet_protocols", "ipv4");
        main.put("alias_maps", "");
        main.put("alias_database", "");
        main.put("biff", "no");
        // Never DNS: literal next hops from the transport map; everything else is refused rather than looked up.
        main.put("smtp_dns_support_level", "disabled");
        main.put("smtp_host_lookup", "native");
        main.put("smtpd_peername_lookup", "no");
        main.put("transport_maps", "texthash:" + etc.resolve("transport"));
        main.put("default_transport", "error:this test instance sends only to its transport map");
        main.put("relay_transport", "error:this test instance sends only to its transport map");
        main.put("virtual_mailbox_domains", "");
        main.put("virtual_mailbox_base", vmail.toString());
        main.put("virtual_mailbox_maps", "texthash:" + etc.resolve("vmailbox"));
        main.put("virtual_uid_maps", "static:65534");
        main.put("virtual_gid_maps", "static:65534");
        // Short queue times: a test that fails should not leave Postfix retrying for long.
        main.put("queue_run_delay", "5s");
        main.put("minimal_backoff_time", "5s");
        main.put("maximal_backoff_time", "10s");
        main.put("smtp_connect_timeout", "10s");
        main.put("smtp_tls_loglevel", "1");
        main.put("smtpd_tls_loglevel", "1");
        main.putAll(s.main);
        if (!s.virtualMailboxes.isEmpty() && main.get("virtual_mailbox_domains").isEmpty()) {
            main.put("virtual_mailbox_domains", String.join(" ", s.virtualMailboxes.keySet().stream()
                    .map(a -> a.substring(a.indexOf('@') + 1)).distinct().toList()));
        }

        StringBuilder cf = new StringBuilder("# private Postfix instance for a Postern interop test\n");
        main.forEach((k, v) -> cf.append(k).append(" = ").append(v).append('\n'));
        Files.writeString(etc.resolve("main.cf"), cf);
        Files.writeString(etc.resolve("master.cf"), masterCf(port) + String.join("\n", s.services) + "\n");
        write(etc.resolve("transport"), s.transports);
        write(etc.resolve("vmailbox"), s.virtualMailboxes);
    }

    private static void write(Path file, Map<String, String> table) throws IOException {
        StringBuilder b = new StringBuilder();
        table.forEach((k, v) -> b.append(k).append(' ').append(v).append('\n'));
        Files.writeString(file, b);
    }

    /** The services a relay with local virtual delivery needs, none chrooted; smtpd only on 127.0.0.1:port. */
    private static String masterCf(int port) {
        return String.join("\n", List.of(
                "# service type  private unpriv  chroot  wakeup  maxproc command",
                "127.0.0.1:" + port + " inet n - n - - smtpd",
                "cleanup   unix  n       -       n       -       0       cleanup",
                "qmgr      unix  n       -       n       300     1       qmgr",
                "tlsmgr    unix  -       -       n       1000?   1       tlsmgr",
                "rewrite   unix  -       -       n       -       -       trivial-rewrite",
                "bounce    unix  -       -       n       -       0       bounce",
                "defer     unix  -       -       n       -       0       bounce",
                "trace     unix  -       -       n       -       0       bounce",
                "verify    unix  -       -       n       -       1       verify",
                "flush     unix  n       -       n       1000?   0       flush",
                "proxymap  unix  -       -       n       -       -       proxymap",
                "smtp      unix  -       -       n       -       -       smtp",
                "relay     unix  -       -       n       -       -       smtp",
                "showq     unix  n       -       n       -       -       showq",
                "error     unix  -       -       n       -       -       error",
                "retry     unix  -       -       n       -       -       error",
                "discard   unix  -       -       n       -       -       discard",
                "virtual   unix  -       n       n       -       -       virtual",
                "anvil     unix  -       -       n       -       1       anvil",
                "scache    unix  -       -       n       -       1       scache",
                "postlog   unix-dgram n  -       n       -       1       postlogd",
                ""));
    }

    private void launch() throws IOException {
        master = new ProcessBuilder(postfix.toString(), "-c", etc.toString(), "start-fg")
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(dir.resolve("start-fg.out").toFile())
                .start();
        // If the JVM goes away without close() (a killed test run), take Postfix with it.
        ProcessHandle handle = master.toHandle();
        reaper = new Thread(() -> Run.kill(handle), "postfix-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
        awaitLog("postfix/master\\[\\d+\\]: daemon started", Duration.ofSeconds(20));
    }

    /** {@code postfix stop}, waiting for the master to end; if it will not, {@code abort} and then SIGKILL. */
    @Override public void close() {
        if (master == null) return;
        try {
            if (master.isAlive()) {
                Run.Result stop = Run.run(Duration.ofSeconds(15), List.of(postfix.toString(), "-c", etc.toString(),
                        "stop"));
                if (!master.waitFor(10, TimeUnit.SECONDS)) {
                    System.err.println("postfix did not stop in 10 s; aborting\n" + stop);
                    Run.run(Duration.ofSeconds(10), List.of(postfix.toString(), "-c", etc.toString(), "abort"));
                }
            }
        } catch (IOException | InterruptedException e) {
            System.err.println("while stopping postfix: " + e);
        } finally {
            if (master.isAlive() || master.toHandle().descendants().findAny().isPresent()) Run.kill(master.toHandle());
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
            master = null;
        }
    }
}
