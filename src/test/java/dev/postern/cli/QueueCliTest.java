package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.config.Config;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueState;
import dev.postern.queue.Spool;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern queue ...} on a stopped gateway's spool (directly, under the data directory's lock) and on a running
 * gateway (through its control socket). Messages stay queued because their next hop, a static route to
 * partner.test, is a closed port; the running-gateway tests later open it by starting a second gateway there.
 */
class QueueCliTest {
    private static final Pattern QUEUED = Pattern.compile("^250 2\\.0\\.0 Ok: queued as (\\S+)$");

    @TempDir Path data;
    @TempDir Path partnerData;

    // ---- a stopped gateway

    @Test void listShowHoldReleaseDeleteOnAStoppedGateway() throws Exception {
        String a;
        String b;
        try (Gateway gw = Gateway.start(relaying(freePort(), Duration.ofSeconds(30), Duration.ofHours(1)))) {
            a = send(gw, "a@partner.test", "A");
            b = send(gw, "b@partner.test", "B");
            awaitDeferred(gw.spool(), a, b);
        }
        String d = data.toString();

        Cli.Result list = Cli.run("queue", "list", "--data", d);
        assertThat(list.exit()).as("%s", list).isZero();
        assertThat(list.err()).isEmpty();
        assertThat(list.out()).containsPattern(a + " +deferred +\\d+ +\\S+Z +<alice@client\\.test>")
                .containsPattern("-> <a@partner\\.test> attempts=1 last: 451 4\\.4\\.1 ")
                .contains(b, "-> <b@partner.test> attempts=1").endsWith("-- 2 message(s) (data dir " + d + ")\n");

        Cli.Result show = Cli.run("queue", "show", a, "--data", d);
        assertThat(show.exit()).as("%s", show).isZero();
        assertThat(show.outLines()).contains("id:        " + a, "state:     deferred",
                "sender:    <alice@client.test>", "Subject: message A", "Message-ID: <A@client.test>",
                "\tby gw.client.test (Postern) with ESMTP id " + a);
        assertThat(show.out()).containsPattern("recipient: <a@partner\\.test> pending, attempts 1, last: 451 4\\.4\\.1 ")
                .contains("Received: from client.test ([127.0.0.1])")
                .doesNotContain("body of A"); // headers only

        Cli.Result hold = Cli.run("queue", "hold", a, "--data", d);
        assertThat(hold.exit()).as("%s", hold).isZero();
        assertThat(hold.outLines()).containsExactly("held " + a);
        assertThat(Cli.run("queue", "list", "--data", d).out()).containsPattern(a + " +hold ")
                .containsPattern(b + " +deferred ");
        assertThat(Files.exists(data.resolve("queue/hold/" + a + ".env"))).isTrue();
        assertThat(Cli.run("queue", "hold", a, "--data", d).outLines()).containsExactly(a + " is already on hold");

        Cli.Result flushHeld = Cli.run("queue", "flush", a, "--data", d);
        assertThat(flushHeld.exit()).isEqualTo(1);
        assertThat(flushHeld.errLines()).containsExactly("postern: message " + a + " is on hold; release it first");

        Cli.Result release = Cli.run("queue", "release", a, "--data", d);
        assertThat(release.exit()).as("%s", release).isZero();
        assertThat(release.outLines()).containsExactly("released " + a);
        assertThat(Cli.run("queue", "list", "--data", d).out()).containsPattern(a + " +active ");
        assertThat(Cli.run("queue", "release", a, "--data", d).errLines())
                .containsExactly("postern: message " + a + " is not on hold");

        Cli.Result delete = Cli.run("queue", "delete", b, "--data", d);
        assertThat(delete.exit()).as("%s", delete).isZero();
        assertThat(delete.outLines()).containsExactly("deleted " + b);
        Cli.Result after = Cli.run("queue", "list", "--data", d);
        assertThat(after.out()).contains(a).doesNotContain(b).endsWith("-- 1 message(s) (data dir " + d + ")\n");
        assertThat(Files.exists(data.resolve("queue/messages/" + b + ".eml"))).isFalse();

        Cli.Result flushAll = Cli.run("queue", "flush", "--data", d);
        assertThat(flushAll.outLines()).containsExactly("1 message(s) will be tried as soon as the gateway starts");
    }

    @Test void badAndUnknownIdsOnAStoppedGateway() throws Exception {
        try (Gateway gw = Gateway.start(relaying(freePort(), Duration.ofSeconds(30), Duration.ofHours(1)))) {
            awaitDeferred(gw.spool(), send(gw, "a@partner.test", "A"));
        }
        String d = data.toString();
        for (String command : List.of("show", "hold", "release", "delete", "flush")) {
            Cli.Result r = Cli.run("queue", command, "not-an-id", "--data", d);
            assertThat(r.exit()).as("%s: %s", command, r).isEqualTo(2);
            assertThat(r.errLines()).as(command).containsExactly("postern: not a queue id: not-an-id");
            assertThat(r.out()).isEmpty();
        }
        String unknown = QueueIds.next();
        for (String command : List.of("show", "hold", "release", "delete", "flush")) {
            Cli.Result r = Cli.run("queue", command, unknown, "--data", d);
            assertThat(r.exit()).as("%s: %s", command, r).isEqualTo(1);
            assertThat(r.errLines()).as(command).containsExactly("postern: no message " + unknown + " in the queue");
        }
        Cli.Result missingId = Cli.run("queue", "hold", "--data", d);
        assertThat(missingId.exit()).isEqualTo(2);
        assertThat(missingId.errLines()).containsExactly("postern: queue hold: name queue ids or a selector (--domain, "
                + "--recipient, --sender, --state, or --all for every message)");
    }

    @Test void aDirectoryWithoutAQueueIsOneLine() {
        Path empty = data.resolve("nothing-here");
        Cli.Result r = Cli.run("queue", "list", "--data", empty.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.errLines()).containsExactly(
                "postern: no queue in " + empty + " (wrong --data or --config?)");
    }

    @Test void anEmptyQueue() throws Exception {
        Gateway.start(TestConfigs.gateway(data, "gw.client.test", Set.of("client.test"))).close();
        Cli.Result r = Cli.run("queue", "list", "--data", data.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.outLines()).containsExactly("Queue is empty (data dir " + data + ").");
    }

    // ---- a running gateway, through the control socket

    @Test void holdDeleteFlushAndReleaseOnARunningGateway() throws Exception {
        int partnerPort = freePort();
        // Retries an hour apart: within this test only flush and release make the gateway try again.
        try (Gateway gw = Gateway.start(relaying(partnerPort, Duration.ofHours(1), Duration.ofHours(1)))) {
            String m1 = send(gw, "r1@partner.test", "M1");
            String m2 = send(gw, "r2@partner.test", "M2");
            String m3 = send(gw, "r3@partner.test", "M3");
            String m4 = send(gw, "r4@partner.test", "M4");
            awaitDeferred(gw.spool(), m1, m2, m3, m4);
            String d = data.toString();

            Cli.Result hold = Cli.run("queue", "hold", m1, "--data", d);
            assertThat(hold.exit()).as("%s", hold).isZero();
            assertThat(hold.out()).contains("held " + m1);
            assertThat(state(gw.spool(), m1)).isEqualTo(QueueState.HOLD);
            assertThat(Cli.run("queue", "list", "--data", d).out()).containsPattern(m1 + " +hold ");

            Cli.Result delete = Cli.run("queue", "delete", m2, "--data", d);
            assertThat(delete.exit()).as("%s", delete).isZero();
            assertThat(delete.out()).contains("deleted " + m2);
            assertThat(gw.spool().find(m2)).isEmpty();

            Cli.Result flushHeld = Cli.run("queue", "flush", m1, "--data", d);
            assertThat(flushHeld.exit()).isEqualTo(1);
            assertThat(flushHeld.errLines()).containsExactly("postern: message " + m1 + " is on hold; release it first");
            Cli.Result unknown = Cli.run("queue", "hold", m2, "--data", d);
            assertThat(unknown.exit()).isEqualTo(1);
            assertThat(unknown.errLines()).containsExactly("postern: no message " + m2 + " in the queue");
            Cli.Result bad = Cli.run("queue", "release", "x", "--data", d);
            assertThat(bad.exit()).isEqualTo(2);
            assertThat(bad.errLines()).containsExactly("postern: not a queue id: x");

            try (Gateway partner = Gateway.start(partner(partnerPort))) { // the next hop comes up
                assertThat(partner.boundAddresses().getFirst().getPort()).isEqualTo(partnerPort);
                Cli.Result flushOne = Cli.run("queue", "flush", m3, "--data", d);
                assertThat(flushOne.exit()).as("%s", flushOne).isZero();
                assertThat(flushOne.out()).contains("flushed " + m3);
                awaitMail("r3", "M3");
                await().atMost(Duration.ofSeconds(10)).until(() -> gw.spool().find(m3).isEmpty());
                assertThat(delivered("r4")).as("m4 waits for its retry").isEmpty();

                // From another process, as an administrator would: the gateway (still) holds the data directory's
                // lock, so the command goes through the control socket rather than to the spool directly.
                Cli.Result flushAll = GatewayProcess.runCommand(data.getParent(), "queue", "flush", "--data", d);
                assertThat(flushAll.exit()).as("%s", flushAll).isZero();
                assertThat(flushAll.outLines()).containsExactly("flushed all queued messages");
                awaitMail("r4", "M4");
                await().atMost(Duration.ofSeconds(10)).until(() -> gw.spool().find(m4).isEmpty());
                Thread.sleep(500);
                assertThat(delivered("r1")).as("held m1 is not flushed").isEmpty();
                assertThat(state(gw.spool(), m1)).isEqualTo(QueueState.HOLD);

                Cli.Result release = Cli.run("queue", "release", m1, "--data", d);
                assertThat(release.exit()).as("%s", release).isZero();
                assertThat(release.out()).contains("released " + m1);
                awaitMail("r1", "M1");
                await().atMost(Duration.ofSeconds(10)).until(() -> gw.spool().list().isEmpty());
                assertThat(delivered("r2")).as("deleted m2 is never delivered").isEmpty();
            }
        }
    }

    @Test void theSchedulerDoesNotRetryAHeldMessageWhenItsNextHopComesUp() throws Exception {
        int partnerPort = freePort();
        // Retries every second: once the next hop is up, every deferred message that is not held goes out.
        try (Gateway gw = Gateway.start(relaying(partnerPort, Duration.ofSeconds(1), Duration.ofSeconds(1)))) {
            String held = send(gw, "held@partner.test", "H");
            String free = send(gw, "free@partner.test", "F");
            awaitDeferred(gw.spool(), held, free);
            String d = data.toString();
            // An attempt may be running at that moment ("being delivered right now"): then ask again.
            await().atMost(Duration.ofSeconds(10)).until(() -> Cli.run("queue", "hold", held, "--data", d).exit() == 0);
            assertThat(state(gw.spool(), held)).isEqualTo(QueueState.HOLD);
            int attemptsWhenHeld = attempts(gw.spool(), held);

            try (Gateway partner = Gateway.start(partner(partnerPort))) {
                assertThat(partner.boundAddresses().getFirst().getPort()).isEqualTo(partnerPort);
                awaitMail("free", "F");
                Thread.sleep(3000); // three retry intervals
                assertThat(delivered("held")).as("a held message stays put").isEmpty();
                assertThat(state(gw.spool(), held)).isEqualTo(QueueState.HOLD);
                assertThat(attempts(gw.spool(), held)).as("no attempt while held").isEqualTo(attemptsWhenHeld);

                Cli.Result release = Cli.run("queue", "release", held, "--data", d);
                assertThat(release.exit()).as("%s", release).isZero();
                awaitMail("held", "H");
                await().atMost(Duration.ofSeconds(10)).until(() -> gw.spool().list().isEmpty());
            }
        }
    }

    @Test void aSecondGatewayOnTheSameDataDirectoryIsRefused() throws Exception {
        try (Gateway gw = Gateway.start(TestConfigs.gateway(data, "gw.client.test", Set.of("client.test")))) {
            assertThat(gw.boundAddresses()).isNotEmpty();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Gateway.start(
                            TestConfigs.gateway(data, "gw.client.test", Set.of("client.test"))))
                    .isInstanceOf(Gateway.StartException.class)
                    .hasMessage("another Postern gateway is running with data directory " + data);
            // The refused start must not have released the running gateway's lock: another process still finds
            // the data directory taken and goes through the control socket.
            Cli.Result flush = GatewayProcess.runCommand(data.getParent(), "queue", "flush", "--data", data.toString());
            assertThat(flush.outLines()).as("%s", flush).containsExactly("flushed all queued messages");
        }
    }

    // ---- helpers

    /** Local domain client.test, relay domain partner.test routed to 127.0.0.1:partnerPort. */
    private Config relaying(int partnerPort, Duration retryFirst, Duration retryMax) {
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.client.test", Set.of("client.test")),
                Set.of("partner.test"), Map.of("partner.test", new Config.Route("127.0.0.1", partnerPort, false)));
        return TestConfigs.withQueue(c, new Config.Queue(retryFirst, retryMax, Duration.ofDays(5), null));
    }

    /** The next hop: a gateway for partner.test listening (mx) on exactly 127.0.0.1:port. */
    private Config partner(int port) {
        Config c = TestConfigs.gateway(partnerData, "mx.partner.test", Set.of("partner.test"));
        return new Config(c.source(), c.hostname(), c.dataDir(),
                List.of(new Config.Listener(new InetSocketAddress("127.0.0.1", port), Config.Role.MX)),
                c.localDomains(), c.relayDomains(), c.relayNetworks(), c.tls(), c.limits(), c.queue(), c.delivery(),
                c.dns(), c.routes());
    }

    /** Sends one message to the gateway's mx listener; returns its queue id. */
    private static String send(Gateway gw, String rcpt, String name) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<alice@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("From: alice@client.test\r\nTo: " + rcpt + "\r\nSubject: message " + name + "\r\nMessage-ID: <"
                    + name + "@client.test>\r\n\r\nbody of " + name + "\r\n.\r\n");
            SmtpTestClient.Response r = c.read();
            Matcher m = QUEUED.matcher(r.last());
            assertThat(m.matches()).as("%s", r).isTrue();
            return m.group(1);
        }
    }

    /** Waits until each message's first attempt has failed and it waits in deferred/. */
    private static void awaitDeferred(Spool spool, String... ids) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (String id : ids) {
                Optional<Spool.Entry> e = spool.find(id);
                if (e.isEmpty() || e.get().state() != QueueState.DEFERRED) return false;
            }
            return true;
        });
    }

    private static QueueState state(Spool spool, String id) throws IOException {
        return spool.find(id).orElseThrow().state();
    }

    private static int attempts(Spool spool, String id) throws IOException {
        return spool.find(id).orElseThrow().envelope().recipients().getFirst().attempts();
    }

    private void awaitMail(String user, String name) throws IOException {
        await().atMost(Duration.ofSeconds(15)).until(() -> !delivered(user).isEmpty());
        List<Path> files = delivered(user);
        assertThat(files).hasSize(1);
        assertThat(Files.readString(files.getFirst())).contains("Subject: message " + name);
    }

    /** Files in partner.test's Maildir of {@code user}. */
    private List<Path> delivered(String user) throws IOException {
        Path dir = partnerData.resolve("mail/partner.test").resolve(user).resolve("new");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
