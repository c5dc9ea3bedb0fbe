package dev.postern.queue;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILLs a JVM that is committing messages, and removing every other one as delivery does, and checks that recovery
 * keeps every acknowledged message never removed, intact, brings back none whose removal was durable, and never an
 * envelope without its content.
 */
class CrashTest {
    @TempDir Path dir;

    static byte[] content(int n) {
        return ("Subject: message " + n + "\r\n\r\n" + ("line " + n + " of the body\r\n").repeat(n % 3000))
                .getBytes(UTF_8);
    }

    /**
     * The child: commits from 8 threads forever, printing "ACK id n" after each commit returns (= 250 sent); every
     * even n is then removed as a delivered message is (not waited for), printing "GONE id" once that is durable.
     */
    public static void main(String[] args) throws Exception {
        Spool spool = Spool.open(Path.of(args[0]));
        spool.recover();
        PrintStream out = new PrintStream(System.out, true, UTF_8);
        AtomicInteger counter = new AtomicInteger();
        for (int t = 0; t < 8; t++) {
            Thread.ofPlatform().start(() -> {
                while (true) {
                    int n = counter.incrementAndGet();
                    try (Spool.Incoming in = spool.receive()) {
                        byte[] body = content(n);
                        in.body().write(body);
                        in.commit(new Envelope(in.id(), "a@example.org",
                                List.of(Envelope.Recipient.pending("b@example.com")), Instant.now(), "n" + n,
                                "7BIT", false, body.length, Instant.now(), false, 1));
                        synchronized (out) {
                            out.println("ACK " + in.id() + " " + n);
                        }
                        if (n % 2 == 0) {
                            String id = in.id();
                            spool.remove(id).thenRun(() -> {
                                synchronized (out) {
                                    out.println("GONE " + id);
                                }
                            });
                        }
                    } catch (Exception e) {
                        e.printStackTrace();
                        return;
                    }
                }
            });
        }
    }

    /** Records a complete "ACK id n" line; log lines and a line cut by the kill are ignored. */
    private static void ack(String line, Map<String, Integer> acknowledged, Set<String> gone) {
        String[] f = line.split(" ");
        if (f.length == 3 && f[0].equals("ACK") && QueueIds.isValid(f[1]) && f[2].matches("\\d+")) {
            acknowledged.put(f[1], Integer.parseInt(f[2]));
        } else if (f.length == 2 && f[0].equals("GONE") && QueueIds.isValid(f[1])) {
            gone.add(f[1]);
        }
    }

    @Test void sigkillLosesNoAcknowledgedMessageAndDeliversNoHalfWrittenOne() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                CrashTest.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Map<String, Integer> acknowledged = new HashMap<>();
        Set<String> gone = new HashSet<>();
        try (var reader = new BufferedReader(new InputStreamReader(child.getInputStream(), UTF_8))) {
            String line;
            while (acknowledged.size() < 300 && (line = reader.readLine()) != null) {
                ack(line, acknowledged, gone);
            }
            child.toHandle().destroyForcibly(); // SIGKILL mid-write; unlike Process.destroy* keeps our pipe open
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            while ((line = reader.readLine()) != null) { // acknowledged before the kill landed
                ack(line, acknowledged, gone);
            }
        }
        assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(300);

        try (Spool spool = Spool.open(dir)) {
            List<Spool.Entry> recovered = spool.recover();
            // an even message may be gone before its GONE line was out, so only odd ones must all be there
            Set<String> kept = new HashSet<>();
            acknowledged.forEach((id, n) -> {
                if (n % 2 == 1) kept.add(id);
            });
            assertThat(gone).as("removals done before the kill").isNotEmpty();
            assertThat(recovered).extracting(e -> e.envelope().id()).containsAll(kept).doesNotContainAnyElementsOf(gone);
            for (Spool.Entry e : recovered) { // acknowledged or not, whatever survived is whole
                int n = Integer.parseInt(e.envelope().client().substring(1));
                try (InputStream in = spool.openContent(e.envelope().id())) {
                    assertThat(in.readAllBytes()).as("content of %s", n).isEqualTo(content(n));
                }
            }
            try (var s = Files.list(dir.resolve("incoming"))) {
                assertThat(s).isEmpty();
            }
            try (var s = Files.list(dir.resolve("corrupt"))) {
                assertThat(s).as("envelopes without content").isEmpty();
            }
        }
    }
}
