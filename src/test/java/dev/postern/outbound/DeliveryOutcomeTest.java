package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.awaitMailbox;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.entry;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.mailbox;
import static dev.postern.outbound.Outbound.recipient;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.queue.Envelope;
import dev.postern.queue.Envelope.Recipient;
import dev.postern.queue.QueueState;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.ScriptedSmtpServer.Transaction;
import dev.postern.testkit.ScriptedSmtpServer.Verb;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the scheduler makes of each recipient's outcome: delivered, bounced, deferred and retried with backoff,
 * expired, delay-warned; and that a bounce never bounces. The next hop is a {@link ScriptedSmtpServer}.
 */
class DeliveryOutcomeTest {
    @TempDir Path data;

    static final String FROM = "alice@a.example";

    @Test void eachRecipientGetsItsOwnOutcomeAndTheDeferredOneIsRetried() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().enhancedStatusCodes()
                .onRcpt("bad@b.example", "550 5.1.1 no such user")
                .onRcpt("later@b.example", "451 4.2.0 try later").start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example"))) {
            String id = submit(gw, FROM, List.of("good@b.example", "bad@b.example", "later@b.example"),
                    body("three outcomes", "Hello"));

            Envelope env = awaitEnvelope(gw, id, e -> recipient(e, "later@b.example").attempts() == 1);
            assertThat(entry(gw, id).orElseThrow().state()).isEqualTo(QueueState.DEFERRED);
            assertThat(recipient(env, "good@b.example").status()).isEqualTo(Recipient.Status.DELIVERED);
            assertThat(recipient(env, "bad@b.example").status()).isEqualTo(Recipient.Status.FAILED);
            Recipient later = recipient(env, "later@b.example");
            assertThat(later.status()).isEqualTo(Recipient.Status.PENDING);
            assertThat(later.lastResult()).contains("451 4.2.0 try later");
            assertThat(env.nextAttempt()).isEqualTo(later.lastAttempt().plusSeconds(1));

            Transaction first = server.transactions().getFirst();
            assertThat(first.recipients()).containsExactly("good@b.example", "bad@b.example", "later@b.example");
            assertThat(first.acceptedRecipients()).containsExactly("good@b.example");
            assertThat(first.delivered()).isTrue();

            // The DSN names the failed recipient only, with the remote reply.
            String dsn = awaitMailbox(data, FROM, 1).getFirst();
            assertThat(dsn).contains("Subject: Undelivered Mail Returned to Sender", "Action: failed",
                    "Final-Recipient: rfc822; bad@b.example", "Status: 5.1.1", "550 5.1.1 no such user",
                    "Remote-MTA: dns; 127.0.0.1", "Subject: three outcomes");
            assertThat(dsn).doesNotContain("good@b.example>", "later@b.example");

            server.clearRcpt("later@b.example");
            eventually().until(() -> server.delivered().size() == 2);
            Transaction second = server.delivered().get(1);
            assertThat(second.recipients()).containsExactly("later@b.example"); // nobody gets it twice
            assertThat(second.text()).isEqualTo(first.text());
            awaitEmptySpool(gw);
            assertThat(entry(gw, id)).isEmpty();
            assertThat(mailbox(data, FROM)).hasSize(1);
        }
    }

    @Test void unreachableNextHopIsRetriedWithBackoffUntilItComesUp() throws Exception {
        int port = Outbound.closedPort();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, port, "b.example"))) {
            String id = submit(gw, FROM, List.of("bob@b.example"), body("backoff", "Hello"));

            Envelope one = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 1);
            Recipient r1 = one.recipients().getFirst();
            assertThat(r1.status()).isEqualTo(Recipient.Status.PENDING);
            assertThat(r1.lastResult()).startsWith("451 4.4.1 connect to 127.0.0.1[127.0.0.1]:" + port + " failed");
            assertThat(one.nextAttempt()).isEqualTo(r1.lastAttempt().plus(Duration.ofSeconds(1)));

            Envelope two = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 2);
            Recipient r2 = two.recipients().getFirst();
            assertThat(r2.lastAttempt()).isAfterOrEqualTo(one.nextAttempt());
            assertThat(two.nextAttempt()).isEqualTo(r2.lastAttempt().plus(Duration.ofSeconds(2)));
            assertThat(entry(gw, id).orElseThrow().state()).isEqualTo(QueueState.DEFERRED);
            assertThat(mailbox(data, FROM)).isEmpty(); // no delay warning configured, no bounce

            server.start(new InetSocketAddress("127.0.0.1", port));
            eventually().until(() -> server.delivered().size() == 1);
            assertThat(server.delivered().getFirst().recipients()).containsExactly("bob@b.example");
            awaitEmptySpool(gw);
            // Delivered on the third attempt, at the time the schedule said.
            assertThat(server.connections()).hasSize(1);
            assertThat(server.connections().getFirst().acceptedAt()).isAfterOrEqualTo(two.nextAttempt());
        }
    }

    @Test void messageOlderThanItsLifetimeBouncesWithTheLastError() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().enhancedStatusCodes()
                .onRcpt("busy@b.example", "452 4.2.2 mailbox full").start()) {
            Config config = Outbound.withQueue(Outbound.relayingTo(data, server.port(), "b.example"),
                    Duration.ofMillis(2500), null);
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("busy@b.example"), body("expiry", "Hello"));
                String dsn = awaitMailbox(data, FROM, 1).getFirst();
                // The partner's own last status and name, its reply verbatim (issue 11 item 18), not only 4.4.7.
                assertThat(dsn).contains("Action: failed", "Final-Recipient: rfc822; busy@b.example",
                        "Status: 4.2.2\r\nRemote-MTA: dns; 127.0.0.1\r\nDiagnostic-Code: smtp; 452 4.2.2 mailbox full\r\n",
                        "delivery time expired", "Subject: expiry");
                awaitEmptySpool(gw);
                assertThat(entry(gw, id)).isEmpty();
                // attempts at about 0 s, 1 s and 3 s; the third finds the message expired
                assertThat(server.transactions()).hasSize(3).allSatisfy(t -> assertThat(t.acceptedRecipients()).isEmpty());
            }
        }
    }

    @Test void aBounceThatFailsIsDroppedNeverBounced() throws Exception {
        // The sender is remote too: its DSN goes to the same scripted server, which refuses it as well.
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().eightBitMime()
                .onRcpt("bad@b.example", "550 5.1.1 no such user")
                .onRcpt("carol@c.example", "550 5.1.1 carol is gone too").start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example", "c.example"));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            String id = submit(gw, "carol@c.example", List.of("bad@b.example"), body("double bounce", "Hello"));
            awaitEmptySpool(gw);
            List<Transaction> seen = server.transactions();
            assertThat(seen).hasSize(2);
            assertThat(seen.get(0).mailFrom()).isEqualTo("carol@c.example");
            Transaction dsn = seen.get(1);
            assertThat(dsn.mailFrom()).isEmpty();
            assertThat(dsn.recipients()).containsExactly("carol@c.example");
            assertThat(dsn.acceptedRecipients()).isEmpty();
            assertThat(dsn.mailParameters()).isEmpty(); // a 7-bit DSN, declared as such
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).startsWith("bounce ").contains("original=" + id));
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("no bounce", "null sender",
                    "carol@c.example"));
            assertThat(data.resolve("mail")).doesNotExist();
        }
    }

    @Test void nullSenderMessageThatFailsIsDroppedWithoutDsn() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create()
                .onRcpt("bad@b.example", "550 5.1.1 no such user").start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example"));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            String id = submit(gw, "", List.of("bad@b.example"), body("null sender", "Hello"));
            awaitEmptySpool(gw);
            assertThat(server.transactions()).hasSize(1);
            assertThat(log.lines()).noneMatch(l -> l.startsWith("bounce "));
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("no bounce", "id=" + id, "null sender",
                    "bad@b.example"));
            assertThat(data.resolve("mail")).doesNotExist();
        }
    }

    @Test void delayWarningIsSentOnce() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().enhancedStatusCodes()
                .onRcpt("slow@b.example", "451 4.2.0 try later").start()) {
            Config config = Outbound.withQueue(Outbound.relayingTo(data, server.port(), "b.example"),
                    Duration.ofDays(5), Duration.ofMillis(500));
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("slow@b.example"), body("delayed", "Hello"));
                // attempt 1 at ~0 s: too early to warn; attempt 2 at ~1 s: warns
                Envelope warned = awaitEnvelope(gw, id, Envelope::delayWarned);
                assertThat(warned.recipients().getFirst().attempts()).isEqualTo(2);
                String dsn = awaitMailbox(data, FROM, 1).getFirst();
                assertThat(dsn).contains("Subject: Delayed Mail", "Action: delayed",
                        "Status: 4.2.0\r\nRemote-MTA: dns; 127.0.0.1\r\nDiagnostic-Code: smtp; 451 4.2.0 try later\r\n",
                        "Final-Recipient: rfc822; slow@b.example", "Subject: delayed");

                for (int attempts = 3; attempts <= 4; attempts++) {
                    int expected = attempts;
                    eventually().until(() -> !gw.scheduler().isRunning(id));
                    assertThat(gw.scheduler().flush(id)).isTrue();
                    awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == expected);
                }
                server.clearRcpt("slow@b.example");
                eventually().until(() -> !gw.scheduler().isRunning(id));
                gw.scheduler().flush(id);
                eventually().until(() -> server.delivered().size() == 1);
                awaitEmptySpool(gw);
                assertThat(mailbox(data, FROM)).hasSize(1);
            }
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            554 5.6.0 content rejected | FAILED
            451 4.3.0 try again later  | PENDING
            """)
    void theEndOfDataReplyDecidesForEveryAcceptedRecipient(String reply, Recipient.Status expected) throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining()
                .onRcpt("gone@b.example", "550 5.1.1 no such user").on(Verb.DATA_END, reply).start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example"))) {
            String id = submit(gw, FROM, List.of("bob@b.example", "gone@b.example", "carol@b.example"),
                    body("data end", "Hello"));
            String dsn = awaitMailbox(data, FROM, 1).getFirst();
            assertThat(dsn).contains("Final-Recipient: rfc822; gone@b.example");
            if (expected == Recipient.Status.FAILED) {
                assertThat(dsn).contains("Final-Recipient: rfc822; bob@b.example",
                        "Final-Recipient: rfc822; carol@b.example", "Status: 5.6.0", reply);
                awaitEmptySpool(gw);
            } else {
                Envelope env = awaitEnvelope(gw, id, e -> e.pending().size() == 2);
                assertThat(env.pending()).extracting(Recipient::address).containsExactly("bob@b.example", "carol@b.example");
                assertThat(env.pending()).allSatisfy(r -> assertThat(r.lastResult()).contains(reply));
                server.clear(Verb.DATA_END);
                eventually().until(() -> server.delivered().size() == 1);
                assertThat(server.delivered().getFirst().recipients()).containsExactly("bob@b.example", "carol@b.example");
                awaitEmptySpool(gw);
                assertThat(mailbox(data, FROM)).hasSize(1);
            }
        }
    }

    @Test void connectionLostBeforeTheEndOfDataReplyIsRetried() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining()
                .on(Verb.DATA_END, ScriptedSmtpServer.DISCONNECT).start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example"))) {
            String id = submit(gw, FROM, List.of("bob@b.example"), body("lost", "Hello"));
            Envelope env = awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 1);
            assertThat(env.recipients().getFirst().lastResult())
                    .contains("lost connection with 127.0.0.1[127.0.0.1]:" + server.port(), "end-of-data reply");
            server.clear(Verb.DATA_END);
            eventually().until(() -> server.delivered().size() == 1);
            awaitEmptySpool(gw);
            assertThat(mailbox(data, FROM)).isEmpty();
        }
    }

    @Test void flushDuringARunningAttemptIsNotLost() throws Exception {
        CountDownLatch inRcpt = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().start()) {
            server.on(Verb.RCPT, argument -> {
                inRcpt.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return "451 4.2.0 try later";
            });
            // A retry delay far beyond the test's patience: only the flush can bring the second attempt.
            Config base = Outbound.relayingTo(data, server.port(), "b.example");
            Config config = TestConfigs.withQueue(base, new Config.Queue(Duration.ofMinutes(10),
                    Duration.ofMinutes(10), Duration.ofDays(5), null));
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("bob@b.example"), body("flush", "Hello"));
                assertThat(inRcpt.await(10, TimeUnit.SECONDS)).isTrue();
                assertThat(gw.scheduler().isRunning(id)).isTrue();
                assertThat(gw.scheduler().flush(id)).isTrue(); // the administrator's "queue flush" now
                server.clear(Verb.RCPT);
                release.countDown();
                eventually().until(() -> server.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
        }
    }

    // ---- issue 11 item 18: the partner's own words in DSNs, and the reason for a bounce in the log ----

    @Test void theDelayDsnCarriesThePartnersLastStatusAndName() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().enhancedStatusCodes()
                .on(Verb.MAIL, "451 4.3.2 system not accepting network messages").start()) {
            Config config = Outbound.withQueue(Outbound.relayingTo(data, server.port(), "b.example"),
                    Duration.ofDays(5), Duration.ofMillis(500));
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("slow@b.example"), body("busy partner", "Hello"));
                awaitEnvelope(gw, id, Envelope::delayWarned);
                String dsn = awaitMailbox(data, FROM, 1).getFirst();
                // before: "Status: 4.4.1" and no Remote-MTA, as if the partner had been unreachable
                assertThat(dsn).contains("Action: delayed\r\nStatus: 4.3.2\r\nRemote-MTA: dns; 127.0.0.1\r\n"
                        + "Diagnostic-Code: smtp; 451 4.3.2 system not accepting network messages\r\n");
                Envelope env = entry(gw, id).orElseThrow().envelope();
                assertThat(env.recipients().getFirst().lastResult()).startsWith("451 4.3.2 127.0.0.1[127.0.0.1]:"
                        + server.port() + " refused MAIL FROM: 451 4.3.2 system not accepting network messages");
            }
        }
    }

    @Test void aMultiLineRefusalIsQuotedVerbatimAndTheBounceIsLoggedWithItsReason() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().enhancedStatusCodes()
                .onRcpt("bad@b.example", "550-5.1.1 no such user here\n550 5.1.1 see https://help.b.example/550")
                .start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example"));
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            String id = submit(gw, FROM, List.of("bad@b.example"), body("multi-line", "Hello"));
            String dsn = awaitMailbox(data, FROM, 1).getFirst();
            assertThat(dsn).contains("Status: 5.1.1\r\nRemote-MTA: dns; 127.0.0.1\r\n"
                    + "Diagnostic-Code: smtp; 550-5.1.1 no such user here\r\n"
                    + " 550 5.1.1 see https://help.b.example/550\r\n");
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).startsWith("bounce ")
                    .contains("original=" + id, "rcpts=<bad@b.example> status=5.1.1",
                            "reason=\"<bad@b.example> 127.0.0.1[127.0.0.1]:" + server.port()
                                    + " said: 550 5.1.1 no such user here"));
        }
    }
}
