package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.config.Config;
import dev.postern.queue.QueueState;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A queue command on a message that is being delivered at that moment: it waits for the attempt (up to {@link
 * QueueAdmin#BUSY_WAIT}) and then acts, reports the message gone when the attempt delivered it, or leaves it as it is
 * when the attempt takes longer. Never a lost message, never a second delivery. The next hop is a real SMTP server on
 * loopback that answers RCPT slowly.
 */
class QueueBusyTest {
    @TempDir Path data;

    @Test @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aMessageInDeliveryIsWaitedForThenActedOnReportedGoneOrLeftAlone() throws Exception {
        CountDownLatch deferring = new CountDownLatch(1), delivering = new CountDownLatch(1),
                dawdling = new CountDownLatch(1);
        try (ScriptedSmtpServer nextHop = ScriptedSmtpServer.create().on(ScriptedSmtpServer.Verb.RCPT, arg -> {
            if (arg.contains("defer@")) return slowly(deferring, 1500, "451 4.3.0 try again later");
            if (arg.contains("accept@")) return slowly(delivering, 1500, null);
            if (arg.contains("dawdle@")) return slowly(dawdling, 7000, "451 4.3.0 try again later");
            return "451 4.3.0 try again later";
        }).start()) {
            Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.busy.test", Set.of("busy.test")),
                    Set.of("a.example"), Map.of("a.example", new Config.Route("127.0.0.1", nextHop.port(), false)));
            c = TestConfigs.withQueue(c, new Config.Queue(Duration.ofHours(1), Duration.ofHours(1), Duration.ofDays(5),
                    null));
            try (Gateway gw = Gateway.start(c)) {
                String d = data.toString();
                var mx = gw.boundAddresses().getFirst();

                // Deferred by the attempt in progress: the delete waits for it, then deletes.
                String defer = QueueSelectorsTest.send(mx, "alice@busy.test", "defer@a.example");
                assertThat(deferring.await(10, TimeUnit.SECONDS)).isTrue();
                Cli.Result deleted = Cli.run("queue", "delete", defer, "--data", d);
                assertThat(deleted.exit()).as("%s", deleted).isZero();
                assertThat(own(deleted)).containsExactly("deleted " + defer);
                assertThat(gw.spool().find(defer)).isEmpty();

                // Delivered by the attempt in progress: reported gone, delivered once.
                Run gone = duringAttempt(mx, delivering, "accept@a.example", "queue", "delete", "--recipient",
                        "accept@a.example", "--data", d);
                assertNotDone(gone.result(), "postern: message " + gone.id() + " left the queue during its delivery "
                        + "attempt (delivered or bounced); nothing deleted",
                        "1 message matched --recipient accept@a.example: 0 deleted, 1 left as they were");
                assertThat(nextHop.transactions().stream().filter(t -> t.delivered()
                        && t.recipients().contains("accept@a.example"))).hasSize(1);

                // An attempt longer than the wait: left as it is, and after the attempt it is still queued, not held.
                Run busy = duringAttempt(mx, dawdling, "dawdle@a.example", "queue", "hold", "--domain", "a.example",
                        "--data", d);
                String dawdle = busy.id();
                assertNotDone(busy.result(), "postern: message " + dawdle + " is being delivered right now; left as it "
                        + "is (try again in a moment)", "1 message matched --domain a.example: 0 held, 1 left as they were");
                await().atMost(Duration.ofSeconds(15)).until(() -> gw.spool().find(dawdle)
                        .map(e -> e.state() == QueueState.DEFERRED).orElse(false));
                Cli.Result hold = Cli.run("queue", "hold", "--domain", "a.example", "--data", d);
                assertThat(own(hold)).containsExactly("1 message matched --domain a.example: 1 held");
                assertThat(gw.spool().find(dawdle).orElseThrow().state()).isEqualTo(QueueState.HOLD);
            }
        }
    }

    /** A message sent, and a command run while its delivery attempt waits at the next hop's RCPT. */
    private record Run(String id, Cli.Result result) {}

    private static Run duringAttempt(java.net.InetSocketAddress mx, CountDownLatch atRcpt, String rcpt,
                                     String... command) throws Exception {
        String id = QueueSelectorsTest.send(mx, "alice@busy.test", rcpt);
        assertThat(atRcpt.await(10, TimeUnit.SECONDS)).isTrue();
        return new Run(id, Cli.run(command));
    }

    /** The command matched one message and could not act on it: exit 1, why on stderr, the count on stdout. */
    private static void assertNotDone(Cli.Result r, String why, String count) {
        assertThat(r.exit()).as("%s", r).isEqualTo(1);
        assertThat(r.errLines()).containsExactly(why);
        assertThat(own(r)).containsExactly(count);
    }

    /** What the command printed, without the log lines of the gateway running in this JVM. */
    private static java.util.List<String> own(Cli.Result r) {
        return r.outLines().stream().filter(l -> !l.startsWith("time=")).toList(); // logfmt lines: the log
    }

    private static String slowly(CountDownLatch started, long millis, String reply) {
        started.countDown();
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return reply;
    }
}
