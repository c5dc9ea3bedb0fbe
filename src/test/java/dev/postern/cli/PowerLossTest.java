package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.queue.CrashReplay;
import dev.postern.queue.Spool;
import dev.postern.queue.SyscallTrace;
import dev.postern.queue.WriteAheadCheck;
import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power-loss safety of the spool, from a real {@code postern serve} run under strace (see docs/reliability.md,
 * "Power loss"). Two clients send 8 messages of 300 bytes to 150 KB, delivered to Maildirs and
 * removed from the spool; the gateway stops; then the trace is read twice:
 * <ul>
 * <li>{@link WriteAheadCheck}: each 250 after DATA follows the fsync/fdatasync of the message's content and envelope,
 *     their renames, the fsync of messages/ and of active/ after the renames, in the kernel's order; each removal
 *     follows the Maildir copy's fsyncs and unlinks the content only after the envelope's unlink is durable;
 * <li>{@link CrashReplay}: the spool as a power cut could leave it at every fsync and rename boundary, recovered by
 *     Postern's own {@link Spool#recover}: every acknowledged message intact, nothing half-written listed.
 * </ul>
 */
class PowerLossTest {
    /** The CI size; {@code -Dpostern.powerloss.clients=C -Dpostern.powerloss.messages=M} for a longer run. */
    private static final int CLIENTS = Integer.getInteger("postern.powerloss.clients", 2);
    private static final int PER_CLIENT = Integer.getInteger("postern.powerloss.messages", 8) / CLIENTS;
    static final int MESSAGES = CLIENTS * PER_CLIENT;
    /** Every fourth message goes to defer.test, routed to a port nobody listens on: deferred, not removed. */
    static final int DEFERRED = CLIENTS * (PER_CLIENT / 4);
    private static final Pattern QUEUED = Pattern.compile("^250 2\\.0\\.0 Ok: queued as (\\S+)$");

    @TempDir static Path dir;

    private static final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private static List<SyscallTrace.Op> ops;
    private static String spool;
    private static String data;

    /** Above the sum of its waits (60 + 30 + 30 s): a JVM under strace -f starts slowly on a loaded 2-core machine. */
    @BeforeAll @Timeout(240)
    static void relayUnderStrace() throws Exception {
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, """
                hostname = "gw.power.test"
                data_dir = "data"
                local_domains = ["power.test"]
                relay_domains = ["defer.test"]

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [routes]
                "defer.test" = "[127.0.0.1]:%d"
                """.formatted(GatewayProcess.freePort(), GatewayProcess.freePort())); // nothing listens there
        try {
            new ProcessBuilder("strace", "-V").redirectErrorStream(true).start().waitFor();
        } catch (IOException e) {
            throw new AssertionError("PowerLossTest needs strace (apt-get install strace; .ci/run installs it)", e);
        }
        Path trace = dir.resolve("strace.txt");
        // -yy: paths of fds and the TCP endpoints of sockets; -xx: every string in hex, so bytes compare exactly;
        // --seccomp-bpf: only the traced calls stop the JVM
        List<String> strace = List.of("strace", "-f", "-tt", "-yy", "-xx", "-s", "4194304", "--seccomp-bpf",
                "-e", "trace=openat,open,creat,write,pwrite64,writev,sendto,sendmsg,copy_file_range,sendfile,fsync,fdatasync,rename,renameat,"
                        + "renameat2,unlink,unlinkat,mkdir,mkdirat",
                "-o", trace.toString());
        Path queue = dir.resolve("data").resolve("queue");
        try (GatewayProcess gw = GatewayProcess.startUnder(strace, dir, dir.resolve("logs"), "traced", "serve",
                "--config", config.toString())) {
            try {
                InetSocketAddress mx = gw.awaitListening(Duration.ofSeconds(60)).get("mx");
                assertThat(mx).as("mx listener\n%s", gw.output()).isNotNull();
                ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
                List<Future<?>> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    clients.add(pool.submit(() -> send(mx, client)));
                }
                for (Future<?> f : clients) f.get();
                pool.shutdown();
                // every local message delivered and removed, every relayed one deferred (its envelope moved to
                // deferred/ by Spool.update): the removals and the updates are in the trace too
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() ->
                        count(queue.resolve("messages")) == DEFERRED && count(queue.resolve("active")) == 0
                                && count(queue.resolve("deferred")) == DEFERRED);
                gw.descendants().forEach(ProcessHandle::destroy); // SIGTERM to the JVM; strace ends with it
                gw.awaitExit(Duration.ofSeconds(30));
            } finally {
                gw.descendants().forEach(ProcessHandle::destroyForcibly);
            }
        }
        ops = SyscallTrace.parse(Files.readAllLines(trace, java.nio.charset.StandardCharsets.ISO_8859_1));
        spool = queue.toAbsolutePath().toString();
        data = dir.resolve("data").toAbsolutePath().toString();
    }

    private static Void send(InetSocketAddress mx, int client) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            expect(c.read(), 220);
            expect(c.command("EHLO client" + client + ".test"), 250);
            for (int i = 0; i < PER_CLIENT; i++) {
                int n = client * 100_000 + i;
                expect(c.command("MAIL FROM:<sender@client.test>"), 250);
                String rcpt = n % 4 == 3 ? "someone@defer.test" : "box" + n % 3 + "@power.test";
                expect(c.command("RCPT TO:<" + rcpt + ">"), 250);
                expect(c.command("DATA"), 354);
                c.send(message(n) + ".\r\n");
                SmtpTestClient.Response r = c.read();
                Matcher m = QUEUED.matcher(r.last());
                if (!m.matches()) throw new IOException("not queued: " + r);
                acknowledged.add(m.group(1));
            }
            c.command("QUIT");
        }
        return null;
    }

    /** 300 bytes to about 150 KB: the larger ones reach the spool in several writes (its buffer is 64 KiB). */
    private static String message(int n) {
        int[] sizes = {300, 5_000, 70_000, 150_000};
        StringBuilder b = new StringBuilder("From: sender@client.test\r\nSubject: power " + n + "\r\n\r\n");
        for (int i = 0; b.length() < sizes[n % sizes.length]; i++) {
            b.append("line ").append(i).append(" of message ").append(n).append(": nothing lost, nothing torn\r\n");
        }
        return b.toString();
    }

    @Test
    void each250FollowsTheFsyncsOfItsMessage() {
        WriteAheadCheck.Result r = WriteAheadCheck.check(ops, spool, dir.toAbsolutePath().toString(), data + "/mail");
        System.out.printf("power-loss syscall order: %d messages acknowledged, %d removals (%d with their Maildir copy"
                        + " checked), %d envelope updates; fsync/fdatasync of files %d, of directories %d, renames %d, directories made %d;"
                        + " %d violations%n", r.acks().size(), r.removals(), r.deliveriesChecked(), r.updates(), r.fileSyncs(),
                r.dirSyncs(), r.renames(), r.directoriesMade(), r.violations().size());
        assertThat(r.acks().keySet()).as("every 250 the clients saw is in the trace")
                .containsExactlyInAnyOrderElementsOf(acknowledged);
        assertThat(r.violations()).isEmpty();
        assertThat(r.removals()).as("delivered messages removed").isEqualTo(MESSAGES - DEFERRED);
        assertThat(r.deliveriesChecked()).isEqualTo(MESSAGES - DEFERRED);
        assertThat(r.updates()).as("deferrals: envelopes moved to deferred/").isEqualTo(DEFERRED);
        assertThat(r.directoriesMade()).as("the spool's and the Maildirs' directories").isGreaterThan(10);
    }

    @Test
    void everyCrashStateRecoversEveryAcknowledgedMessageAndNothingTorn() throws IOException {
        Path scratch = CrashReplay.scratch(dir.resolve("states"));
        long t0 = System.nanoTime();
        CrashReplay.Result r;
        try {
            r = CrashReplay.run(ops, spool, scratch, 17);
        } finally {
            Files.deleteIfExists(scratch);
        }
        System.out.printf("power-loss crash replay: %d crash points, %d states built, %d distinct states recovered"
                        + " and checked, %d acknowledged-message checks, at most %d unsynced directory operations at"
                        + " a point; %d violations; %d ms%n", r.crashPoints(), r.statesBuilt(), r.distinctStates(),
                r.acknowledgedChecks(), r.maxUnsynced(), r.violations().size(), (System.nanoTime() - t0) / 1_000_000);
        assertThat(r.violations()).isEmpty();
        assertThat(r.crashPoints()).as("fsync and rename boundaries").isGreaterThan(MESSAGES * 8);
        assertThat(r.acknowledgedChecks()).isPositive();
    }

    private static void expect(SmtpTestClient.Response r, int code) throws IOException {
        if (r.code() != code) throw new IOException("expected " + code + ", got " + r);
    }

    private static long count(Path d) throws IOException {
        if (!Files.isDirectory(d)) return 0;
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }

}
