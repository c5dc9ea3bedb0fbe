package dev.postern.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.Maildirs;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.ScriptedSmtpServer.Verb;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.testkit.Tmpfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17, disk full, on a real file system that fills: the gateway's whole data directory (spool, audit store and
 * spill, Maildirs) on a small tmpfs the test mounts, a filler file to take the space away and give it back, real
 * sessions over loopback. Proves: 452 4.3.1 before anything that cannot be stored is accepted (at MAIL, at DATA, and at
 * the end of a transfer that filled the disk), no half-written message anywhere in the spool, recovery without a
 * restart as soon as space returns, and queued messages neither lost nor corrupted while the disk is full.
 */
class DiskFullTest {
    /** The spool refuses below max_message_size + 64 MiB (Session.SPOOL_RESERVE). */
    static final long MAX_MESSAGE = 1L << 20;
    static final long THRESHOLD = MAX_MESSAGE + (64L << 20);
    static final int DISK_MB = 80;

    @TempDir Path base;
    Tmpfs disk;
    Path data;
    ScriptedSmtpServer sink;

    @BeforeEach void mount() throws Exception {
        disk = Tmpfs.mount(base.resolve("data"), DISK_MB);
        data = disk.dir().resolve("gw");
        sink = ScriptedSmtpServer.create().pipelining().start();
    }

    @AfterEach void unmount() throws Exception {
        try {
            if (sink != null) sink.close();
        } finally {
            if (disk != null) disk.close(); // a mount must not outlive the test, whatever failed first
        }
    }

    private Config config() {
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.test", Set.of("postern.test")),
                Set.of("relay.example"), Map.of("relay.example", new Config.Route("127.0.0.1", sink.port(), false)));
        Config.Limits l = TestConfigs.limits();
        return TestConfigs.withLimits(c, new Config.Limits(l.maxLineLength(), MAX_MESSAGE, l.maxRecipients(),
                l.maxErrors(), l.commandTimeout(), l.dataTimeout(), l.sessionTimeout(), l.maxConnections(),
                l.maxConnectionsPerIp()));
    }

    private static SmtpTestClient session(Gateway g) throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(g.boundAddresses().getFirst());
        assertThat(c.read().code()).isEqualTo(220);
        assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        return c;
    }

    private static void envelope(SmtpTestClient c, String rcpt) throws IOException {
        assertThat(c.command("MAIL FROM:<a@client.test>").last()).startsWith("250");
        assertThat(c.command("RCPT TO:<" + rcpt + ">").last()).startsWith("250");
    }

    /** A message of about {@code bytes}, its lines numbered so that a truncated copy cannot pass for it. */
    static String message(String subject, int bytes) {
        StringBuilder b = new StringBuilder("Subject: " + subject + "\r\n\r\n");
        for (int i = 0; b.length() < bytes; i++) b.append(String.format("%08d ", i)).append("y".repeat(69)).append("\r\n");
        return b.toString();
    }

    /** Sends a whole message in one session; returns the reply to its end of data (or to the first refusal). */
    private static String send(Gateway g, String rcpt, String content) throws IOException {
        try (SmtpTestClient c = session(g)) {
            String mail = c.command("MAIL FROM:<a@client.test>").last();
            if (!mail.startsWith("250")) return mail;
            assertThat(c.command("RCPT TO:<" + rcpt + ">").last()).startsWith("250");
            SmtpTestClient.Response data = c.command("DATA");
            if (data.code() != 354) return data.last();
            return c.command(content + ".").last();
        }
    }

    /** Files of the spool where a message is being written or its content kept: none may be left half-written. */
    private List<String> spoolFiles(String... dirs) throws IOException {
        List<String> out = new ArrayList<>();
        for (String d : dirs) {
            Path p = data.resolve("queue").resolve(d);
            if (!Files.isDirectory(p)) continue;
            try (Stream<Path> s = Files.list(p)) {
                s.forEach(f -> out.add(d + "/" + f.getFileName()));
            }
        }
        return out;
    }

    @Test void belowTheReserveMailAndDataAre452AndSpaceComingBackIsEnoughToRecover() throws Exception {
        try (Gateway g = Gateway.start(config())) {
            assertThat(send(g, "bob@relay.example", message("before", 2000))).startsWith("250 2.0.0");
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.delivered().size() == 1);

            // A session that was given MAIL and RCPT while there was room, then the disk fills under it.
            try (SmtpTestClient early = session(g)) {
                envelope(early, "bob@relay.example");
                disk.leave(THRESHOLD / 2);
                assertThat(disk.free()).isLessThan(THRESHOLD);
                // Before issue 17 this was 354: the data was read, then refused with 452 at its end.
                assertThat(early.command("DATA").last()).startsWith("452 4.3.1");
                disk.leave(THRESHOLD + (4 << 20));
                envelope(early, "bob@relay.example");
                disk.leave(THRESHOLD / 2);
                early.send("BDAT 5 LAST\r\nhello");
                assertThat(early.read().last()).startsWith("452 4.3.1");
                assertThat(early.command("NOOP").code()).isEqualTo(250); // BDAT's chunk was read, the session is in step
                assertThat(early.command("MAIL FROM:<a@client.test>").last()).startsWith("452 4.3.1");
                assertThat(early.command("RCPT TO:<bob@relay.example>").last()).startsWith("503");
            }
            assertThat(send(g, "bob@relay.example", message("small", 300))).startsWith("452 4.3.1");
            assertThat(spoolFiles("incoming", "messages")).isEmpty();

            // Space returns: the next MAIL is taken, with no restart.
            disk.empty();
            long back = System.nanoTime();
            assertThat(send(g, "bob@relay.example", message("after", 900_000))).startsWith("250 2.0.0");
            long recoverMillis = (System.nanoTime() - back) / 1_000_000;
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.delivered().size() == 2);
            assertThat(sink.delivered().get(1).text()).contains(message("after", 900_000));
            System.out.printf("disk-full: refused below %d bytes free; accepted again %d ms after the filler went%n",
                    THRESHOLD, recoverMillis);
        }
    }

    @Test void aDiskThatFillsDuringTheDataIs452AtItsEndAndLeavesNothingHalfWritten() throws Exception {
        try (Gateway g = Gateway.start(config())) {
            String big = message("big", 900_000);
            try (SmtpTestClient c = session(g)) {
                disk.leave(THRESHOLD + (4 << 20));
                envelope(c, "bob@relay.example");
                assertThat(c.command("DATA").code()).isEqualTo(354);
                c.send(big.substring(0, 450_000)); // past the spool's 64 KiB buffer: on the disk already
                await().atMost(Duration.ofSeconds(10)).until(() -> !spoolFiles("incoming").isEmpty());
                disk.leave(0);
                long left = disk.free();
                c.send(big.substring(450_000));
                String end = c.command(".").last();
                System.out.printf("disk-full: mid-DATA fill with %d bytes left on the tmpfs: %s%n", left, end);
                assertThat(end).startsWith("452 4.3.1");
                assertThat(spoolFiles("incoming", "messages", "active", "deferred")).isEmpty();

                // BDAT: a chunk taken while there was room, the disk fills, the LAST chunk cannot be stored.
                disk.leave(THRESHOLD + (4 << 20));
                envelope(c, "bob@relay.example");
                String first = big.substring(0, 450_000);
                c.send("BDAT " + first.length() + "\r\n" + first);
                assertThat(c.read().last()).startsWith("250");
                disk.leave(0);
                String rest = big.substring(450_000);
                c.send("BDAT " + rest.length() + " LAST\r\n" + rest);
                assertThat(c.read().last()).startsWith("452 4.3.1");
                assertThat(spoolFiles("incoming", "messages", "active", "deferred")).isEmpty();
                assertThat(c.command("NOOP").code()).isEqualTo(250);
            }
            assertThat(g.spool().list()).isEmpty();

            disk.empty();
            assertThat(send(g, "bob@relay.example", big)).startsWith("250 2.0.0");
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.delivered().size() == 1);
            assertThat(sink.delivered().getFirst().text()).contains(big); // the refused ones never went out
            assertThat(sink.transactions()).hasSize(1);
        }
    }

    /** The queue ids in the spool and each one's state, read from the envelopes on disk. */
    private Map<String, QueueState> states(Gateway g) throws IOException {
        Map<String, QueueState> out = new java.util.TreeMap<>();
        for (Spool.Entry e : g.spool().list()) out.put(e.envelope().id(), e.state());
        return out;
    }

    @Test void queuedMessagesStayQueuedOnAFullDiskAndGoOutWhenTheNextHopIsBack() throws Exception {
        sink.on(Verb.MAIL, "421 4.3.2 next hop busy");
        try (Gateway g = Gateway.start(config())) {
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                bodies.add(message("queued " + i, 20_000 + i * 50_000));
                assertThat(send(g, "bob" + i + "@relay.example", bodies.get(i))).startsWith("250 2.0.0");
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> states(g).values().stream()
                    .filter(s -> s == QueueState.DEFERRED).count() == 5);
            Map<String, byte[]> contents = new java.util.TreeMap<>();
            for (String id : states(g).keySet()) {
                contents.put(id, Files.readAllBytes(data.resolve("queue/messages/" + id + ".eml")));
            }

            // The disk fills: each retry's deferral cannot write its envelope (ENOSPC); nothing may be lost for it.
            disk.leave(0);
            int before = sink.connectionCount();
            await().atMost(Duration.ofSeconds(30)).until(() -> sink.connectionCount() >= before + 10);
            assertThat(states(g)).hasSize(5);
            for (var e : contents.entrySet()) {
                assertThat(Files.readAllBytes(data.resolve("queue/messages/" + e.getKey() + ".eml"))).as(e.getKey())
                        .isEqualTo(e.getValue());
            }
            assertThat(spoolFiles("incoming")).isEmpty();
            assertThat(spoolFiles("active", "deferred")).allMatch(f -> f.endsWith(".env"));

            // The next hop comes back while the disk is still full: every message goes out once, and leaves.
            sink.clear(Verb.MAIL);
            await().atMost(Duration.ofSeconds(30)).until(() -> sink.delivered().size() == 5 && states(g).isEmpty());
            List<String> texts = sink.delivered().stream().map(ScriptedSmtpServer.Transaction::text).toList();
            for (String b : bodies) assertThat(texts).anySatisfy(t -> assertThat(t).contains(b));
            disk.empty();
            assertThat(send(g, "carol@relay.example", message("after", 1000))).startsWith("250 2.0.0");
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.delivered().size() == 6);
            // The audit store and its spill shared the full disk: nothing dropped, all written once space is back.
            await().atMost(Duration.ofSeconds(60)).until(() -> g.auditStats().storeUp() && g.auditStats().queued() == 0
                    && g.auditStats().spillBytes() == 0);
            assertThat(g.auditStats().dropped()).isZero();
        }
    }

    @Test void maildirDeliveryToAFullDiskDefersAndDeliversOnceWhenSpaceReturns() throws Exception {
        Path mail = data.resolve("mail");
        Files.createDirectories(mail);
        try (Tmpfs mailDisk = Tmpfs.mount(mail, 4); Gateway g = Gateway.start(config())) {
            mailDisk.leave(0);
            String body = message("local", 200_000);
            assertThat(send(g, "user@postern.test", body)).startsWith("250 2.0.0");
            await().atMost(Duration.ofSeconds(20)).until(() -> states(g).containsValue(QueueState.DEFERRED));
            Spool.Entry e = g.spool().list().getFirst();
            String reason = e.envelope().recipients().getFirst().lastResult();
            System.out.printf("disk-full: Maildir on a full disk: %s%n", reason);
            assertThat(reason).startsWith("452 4.3.1").contains("No space left on device");
            try (Stream<Path> s = Files.walk(mail)) {
                assertThat(s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("filler"))
                        .toList()).as("no partial file in the Maildir").isEmpty();
            }
            mailDisk.empty();
            await().atMost(Duration.ofSeconds(20)).until(() -> states(g).isEmpty());
            List<String> box = Maildirs.mailbox(data, "user@postern.test");
            assertThat(box).hasSize(1);
            assertThat(box.getFirst()).contains(body);
        }
    }
}
