package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 9 (junk-command floods end with 421 4.7.0 past limits.junk_commands) and item 8, inbound part
 * (a message with more than limits.max_hops Received headers is refused with 554 5.4.6 at the end of its data).
 * Both limits at their defaults: 100 and 50.
 */
class InboundJunkAndLoopTest {
    @TempDir static java.nio.file.Path data;
    static Gateway gateway;
    static InetSocketAddress mx;

    @BeforeAll static void start() throws Exception {
        gateway = Gateway.start(TestConfigs.gateway(data, "gw.test", Set.of("postern.test")));
        mx = gateway.boundAddresses().getFirst();
    }

    @AfterAll static void stop() {
        // the accepted messages are being delivered to Maildirs in the temporary directory: let that finish first
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                .until(() -> gateway.spool().list().isEmpty());
        gateway.close();
    }

    private static SmtpTestClient hello() throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(mx);
        assertThat(c.read().code()).isEqualTo(220);
        return c;
    }

    // ---- item 9: junk commands

    @Test void aPipelinedFloodOfJunkCommandsIsCutOffAfterTheLimit() throws Exception {
        try (SmtpTestClient c = hello()) {
            // 10,000 commands in one go, as the review sent them; the server must not answer them all.
            String flood = "NOOP\r\nRSET\r\nVRFY someone\r\nHELP\r\n".repeat(2500);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    c.send(flood);
                } catch (IOException e) {
                    // the server closed the connection with most of the flood unread
                }
            });
            List<SmtpTestClient.Response> answers = new ArrayList<>();
            SmtpTestClient.Response r;
            do {
                r = c.read();
                answers.add(r);
            } while (r.code() != 421 && answers.size() < 10_000);
            assertThat(answers).hasSize(101);
            assertThat(answers.subList(0, 100)).allSatisfy(a -> assertThat(a.code()).isIn(250, 252, 214));
            assertThat(r.last()).isEqualTo("421 4.7.0 gw.test Error: too many junk commands");
            assertThat(c.isClosedByServer()).isTrue();
            writer.join();
        }
    }

    @Test void theCountStartsOverWithEachAcceptedMessage() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250); // junk 1
            for (int i = 0; i < 90; i++) assertThat(c.command("NOOP").code()).isEqualTo(250);
            send(c, "Subject: one\r\n\r\nbody\r\n", "250 2.0.0");
            for (int i = 0; i < 100; i++) assertThat(c.command("NOOP").code()).isEqualTo(250);
            assertThat(c.command("NOOP").last()).startsWith("421 4.7.0");
        }
    }

    @Test void endlessRecipientsOverTheLimitAreJunkToo() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            for (int i = 0; i < 100; i++) {
                assertThat(c.command("RCPT TO:<u" + i + "@postern.test>").code()).isEqualTo(250); // max_recipients
            }
            for (int i = 0; i < 99; i++) assertThat(c.command("RCPT TO:<more@postern.test>").code()).isEqualTo(452);
            assertThat(c.command("RCPT TO:<more@postern.test>").last()).startsWith("421 4.7.0");
        }
    }

    /** Reads replies until a 421 or {@code max} of them; returns how many came before the 421 (or -1 if none). */
    private static int repliesBefore421(SmtpTestClient c, String flood, int max) throws Exception {
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                c.send(flood);
            } catch (IOException e) {
                // the server closed the connection with most of the flood unread
            }
        });
        for (int n = 0; n < max; n++) {
            SmtpTestClient.Response r = c.read();
            if (r.code() == 421) {
                assertThat(r.last()).isEqualTo("421 4.7.0 gw.test Error: too many junk commands");
                writer.join();
                return n;
            }
        }
        writer.join();
        return -1;
    }

    /** STARTTLS forgets the session's state (RFC 3207) but not its junk count: a new handshake does not buy 100 more. */
    @Test void theJunkCountSurvivesStarttls() throws Exception {
        try (SmtpTestClient c = hello()) {
            for (int i = 0; i < 60; i++) assertThat(c.command("NOOP").code()).isEqualTo(250);
            c.command("EHLO client.test"); // 61
            c.startTls();
            for (int i = 0; i < 39; i++) assertThat(c.command("RSET").code()).isEqualTo(250); // 100
            assertThat(c.command("NOOP").last()).isEqualTo("421 4.7.0 gw.test Error: too many junk commands");
        }
    }

    /** Empty BDAT chunks move no message forward: 10,000 of them are not 10,000 x 250. */
    @Test void aFloodOfEmptyBdatChunksIsJunk() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250); // junk 1
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
            assertThat(repliesBefore421(c, "BDAT 0\r\n".repeat(10_000), 10_000)).isEqualTo(99);
        }
    }

    /** After a failed chunk the rest of the message is read and refused with 554; endlessly many are junk too. */
    @Test void chunksAfterAFailedOneAreJunk() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250); // junk 1
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
            c.send("BDAT 3\r\na\nb");
            assertThat(c.read().code()).isEqualTo(554); // a bare LF: the transaction has failed
            // the chunk that goes over the limit still gets its 554 (it has been read), then the 421
            assertThat(repliesBefore421(c, "BDAT 1\r\nx".repeat(10_000), 10_000)).isEqualTo(100);
        }
    }

    // ---- item 8: Received headers

    /** One message through MAIL, RCPT, DATA; returns the last line of the reply to the data. */
    private static String send(SmtpTestClient c, String message, String expectedPrefix) throws IOException {
        assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
        assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
        assertThat(c.command("DATA").code()).isEqualTo(354);
        String last = c.command(message + ".").last();
        assertThat(last).startsWith(expectedPrefix);
        return last;
    }

    private static String received(int n, boolean folded) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(folded ? "Received: from hop" + i + ".example\r\n\tby next.example;\r\n Tue, 1 Dec 2026 10:00:00 +0000\r\n"
                    : "Received: from hop" + i + ".example by next.example; Tue, 1 Dec 2026 10:00:00 +0000\r\n");
        }
        return b.toString();
    }

    @Test void fiftyOneReceivedHeadersAreAMailLoop() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(send(c, received(51, false) + "Subject: loop\r\n\r\nbody\r\n", "554"))
                    .isEqualTo("554 5.4.6 mail loop: too many hops (51)");
            // The session goes on: the next message is judged on its own.
            send(c, received(50, false) + "Subject: fifty\r\n\r\nbody\r\n", "250 2.0.0");
        }
    }

    @Test void foldedHeadersCountOnceAndCaseAndSpaceBeforeTheColonDoNotHide() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            send(c, received(50, true) + "Subject: folded\r\n\r\nbody\r\n", "250 2.0.0");
            assertThat(send(c, received(49, true) + "RECEIVED : from x\r\nreceived:\tfrom y\r\n\r\nbody\r\n", "554"))
                    .isEqualTo("554 5.4.6 mail loop: too many hops (51)");
            // Look-alikes are no hops: Received-SPF, X-Received, a folded continuation that says "Received:".
            send(c, received(50, false) + "Received-SPF: pass\r\nX-Received: by x\r\nSubject: a\r\n Received: no\r\n"
                    + "\r\nbody\r\n", "250 2.0.0");
        }
    }

    @Test void receivedInTheBodyIsNotCounted() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            send(c, received(50, false) + "Subject: quoted\r\n\r\n" + received(200, false), "250 2.0.0");
        }
    }

    @Test void bdatIsCountedAcrossChunks() throws Exception {
        try (SmtpTestClient c = hello()) {
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
            String first = received(50, false) + "Rece"; // the 51st header's name is split between two chunks
            String second = "ived: from last.example\r\nSubject: bdat\r\n\r\nbody\r\n";
            c.send("BDAT " + first.length() + "\r\n" + first);
            assertThat(c.read().code()).isEqualTo(250);
            c.send("BDAT " + second.length() + " LAST\r\n" + second);
            assertThat(c.read().last()).isEqualTo("554 5.4.6 mail loop: too many hops (51)");
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
            String ok = received(50, false) + "Subject: bdat\r\n\r\nbody\r\n";
            c.send("BDAT " + ok.length() + " LAST\r\n" + ok);
            assertThat(c.read().last()).startsWith("250 2.0.0");
        }
    }
}
