package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.audit.MessageRecord;
import dev.postern.config.Config;
import dev.postern.queue.QueueState;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message held or deleted in the moment between its commit to the spool and its hand-over to the scheduler (the
 * session writes its log line and audit record in between; a slow log or audit sink widens it): the hold or delete
 * must win, the message never goes out. Here the audit sink stalls the session there, as a stalled stdout would.
 */
class QueueHoldRaceTest {
    @TempDir Path data;

    @Test @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aMessageHeldOrDeletedBeforeTheSchedulerHasItIsNeverDelivered() throws Exception {
        try (ScriptedSmtpServer nextHop = ScriptedSmtpServer.create().start()) {
            Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.race.test", Set.of("race.test")),
                    Set.of("a.example"), Map.of("a.example", new Config.Route("127.0.0.1", nextHop.port(), false)));
            // one pair per message: [0] the session committed it, [1] the session may go on
            var latches = new java.util.concurrent.atomic.AtomicReference<CountDownLatch[]>(
                    new CountDownLatch[] {new CountDownLatch(1), new CountDownLatch(1)});
            dev.postern.audit.Audit stalling = r -> {
                if (r instanceof MessageRecord) {
                    CountDownLatch[] l = latches.get();
                    l[0].countDown();
                    try {
                        l[1].await(20, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            };
            try (Gateway gw = Gateway.start(c, stalling)) {
                var mx = gw.boundAddresses().getFirst();
                for (String op : new String[] {"hold", "delete"}) {
                    CompletableFuture<String> sent = CompletableFuture.supplyAsync(() -> {
                        try {
                            return QueueSelectorsTest.send(mx, "alice@race.test", op + "@a.example");
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    CountDownLatch[] l = latches.get();
                    assertThat(l[0].await(10, TimeUnit.SECONDS)).isTrue();
                    String id = gw.spool().list().getFirst().envelope().id();
                    Cli.Result r = Cli.run("queue", op, id, "--data", data.toString());
                    assertThat(r.exit()).as("%s", r).isZero();
                    l[1].countDown();
                    assertThat(sent.get(10, TimeUnit.SECONDS)).isEqualTo(id);
                    Thread.sleep(1500); // time for an attempt that should not happen
                    assertThat(nextHop.transactions()).as(op).isEmpty();
                    if (op.equals("hold")) {
                        assertThat(gw.spool().find(id).orElseThrow().state()).isEqualTo(QueueState.HOLD);
                        assertThat(gw.scheduler().size()).isZero();
                        assertThat(Cli.run("queue", "delete", id, "--data", data.toString()).exit()).isZero();
                        latches.set(new CountDownLatch[] {new CountDownLatch(1), new CountDownLatch(1)});
                    } else {
                        assertThat(gw.spool().find(id)).isEmpty();
                        await().atMost(Duration.ofSeconds(2)).until(() -> gw.scheduler().size() == 0);
                    }
                }
            }
        }
    }
}
