package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to a real {@code postern serve} with every kind of work under way: an idle session, a DATA that finishes
 * within the grace, one that dawdles past it, a delivery that ends within the grace and one that does not. Then a
 * restart on the same data directory delivers what was left queued, and nothing twice.
 */
class ServeStopTest {
    private static final Pattern QUEUED = Pattern.compile("^250 2\\.0\\.0 Ok: queued as (\\S+)$");
    private static final String SHUTTING_DOWN = "421 4.3.2 gw.stop.test shutting down";

    @TempDir Path dir;

    @Test @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void sigtermAnswersIdleSessionsLetsWorkFinishWithinTheGraceAndExitsZero() throws Exception {
        CountDownLatch bothAtTheSink = new CountDownLatch(2);
        CountDownLatch releaseFast = new CountDownLatch(1);
        CountDownLatch releaseSlow = new CountDownLatch(1);
        AtomicBoolean prompt = new AtomicBoolean(); // after the stop: the sink answers at once
        try (ScriptedSmtpServer sink = ScriptedSmtpServer.create().hostname("sink.test")
                .on(ScriptedSmtpServer.Verb.DATA_END, data -> {
                    if (prompt.get()) return null;
                    bothAtTheSink.countDown();
                    boolean slow = data.contains("slow-token");
                    try {
                        // the slow one outlasts the grace: the gateway is gone before it is answered
                        (slow ? releaseSlow : releaseFast).await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return slow ? ScriptedSmtpServer.DISCONNECT : null;
                }).start()) {
            int port = GatewayProcess.freePort();
            Path config = dir.resolve("postern.toml");
            Files.writeString(config, """
                    hostname = "gw.stop.test"
                    data_dir = "data"
                    local_domains = ["stop.test"]
                    relay_domains = ["far.test", "slow.test"]
                    relay_networks = ["127.0.0.0/8"]

                    [[listeners]]
                    address = "127.0.0.1:%d"
                    role = "mx"

                    [limits]
                    shutdown_grace = "4s"

                    [routes]
                    "far.test" = "[127.0.0.1]:%d"
                    "slow.test" = "[127.0.0.1]:%d"

                    [outbound_tls.default]
                    level = "none"

                    [dns]
                    dnssec = "off"

                    [mta_sts]
                    enabled = false
                    """.formatted(port, sink.address().getPort(), sink.address().getPort()));
            Path data = dir.resolve("data");
            Path queue = data.resolve("queue");
            Path logs = dir.resolve("logs");
            String slowId;
            String finishedId;
            try (GatewayProcess gw = GatewayProcess.start(dir, logs, "first", "serve", "--config", config.toString())) {
                InetSocketAddress mx = gw.awaitListening(Duration.ofSeconds(60)).get("mx");
                assertThat(mx).as("listening\n%s", gw.output()).isNotNull();
                String fastId = send(mx, "user@far.test", "fast-token");
                slowId = send(mx, "user@slow.test", "slow-token");
                assertThat(bothAtTheSink.await(30, TimeUnit.SECONDS)).as("deliveries under way\n%s", gw.output())
                        .isTrue();

                SmtpTestClient idle = SmtpTestClient.connect(mx);
                SmtpTestClient finishing = SmtpTestClient.connect(mx);
                SmtpTestClient dawdling = SmtpTestClient.connect(mx);
                try (idle; finishing; dawdling) {
                    assertThat(idle.read().code()).isEqualTo(220);
                    assertThat(idle.command("EHLO idle.test").code()).isEqualTo(250);
                    startData(finishing, "finishing-token");
                    startData(dawdling, "dawdling-token");

                    long stoppedAt = System.nanoTime();
                    gw.signal("TERM");
                    // the idle session hears at once; the one in DATA does not
                    assertThat(idle.read().last()).isEqualTo(SHUTTING_DOWN);
                    assertThat(millisSince(stoppedAt)).as("421 to the idle session at once").isLessThan(3000);
                    assertThat(idle.isClosedByServer()).isTrue();

                    releaseFast.countDown(); // the delivery under way ends within the grace
                    finishing.send("second half\r\n.\r\n");
                    Matcher m = QUEUED.matcher(finishing.read().last());
                    assertThat(m.matches()).as("a DATA finished within the grace is taken\n%s", gw.output()).isTrue();
                    finishedId = m.group(1);
                    assertThat(finishing.command("QUIT").last()).as("then 421, not 221").isEqualTo(SHUTTING_DOWN);

                    // the dawdler sends nothing more: at the end of the grace it is told 421, its message not taken
                    assertThat(dawdling.read().last()).isEqualTo(SHUTTING_DOWN);
                    assertThat(millisSince(stoppedAt)).as("cut at the end of the 4 s grace").isBetween(3500L, 9000L);
                    assertThat(dawdling.isClosedByServer()).isTrue();
                    assertThat(gw.awaitExit(Duration.ofSeconds(20))).as("exit status\n%s", gw.output()).isZero();
                }
                String out = gw.stdout();
                assertThat(out).contains("shutting down: listeners closed").contains("shut down in ")
                        .contains("sessions 1 closed idle").contains("2 waited for in DATA")
                        .contains("1 cut at the end of the grace")
                        .contains("deliveries 1 finished, 1 unfinished left queued");
                assertThat(out.lines().filter(l -> l.contains("Exception")).toList()).as("no stack trace").isEmpty();
                assertThat(sink.delivered()).as("the fast delivery, once").hasSize(1);
                assertThat(sink.delivered().getFirst().text()).contains("fast-token");
                assertThat(envelopes(queue)).as("left queued: the slow delivery and the finished DATA; the fast "
                        + "one is gone, the dawdler never came").containsExactlyInAnyOrder(slowId, finishedId)
                        .doesNotContain(fastId);
                assertThat(files(queue.resolve("incoming"))).as("nothing half-written").isEmpty();
                assertThat(Files.readString(queue.resolve("messages").resolve(finishedId + ".eml")))
                        .contains("finishing-token").endsWith("second half\r\n");
            }

            releaseSlow.countDown();
            prompt.set(true);
            try (GatewayProcess again = GatewayProcess.start(dir, logs, "second", "serve", "--config",
                    config.toString())) {
                again.awaitListening(Duration.ofSeconds(60));
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                        .until(() -> envelopes(queue).isEmpty());
                assertThat(sink.delivered().stream().map(ScriptedSmtpServer.Transaction::text)
                        .filter(t -> t.contains("fast-token")).count()).as("never twice").isEqualTo(1);
                assertThat(sink.delivered().stream().filter(t -> t.text().contains("slow-token")).count())
                        .as("the one left queued, after the restart").isEqualTo(1);
                List<String> mail = maildir(data);
                assertThat(mail).as("the finished DATA, delivered locally").hasSize(1);
                assertThat(mail.getFirst()).contains("finishing-token").doesNotContain("dawdling-token");
                assertThat(again.stop()).isZero();
            }
        }
    }

    private static String send(InetSocketAddress mx, String rcpt, String token) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO client.test");
            c.command("MAIL FROM:<sender@client.test>");
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            Matcher m = QUEUED.matcher(c.command("Subject: " + token + "\r\n\r\n" + token + "\r\n.").last());
            assertThat(m.matches()).isTrue();
            c.command("QUIT");
            return m.group(1);
        }
    }

    private static void startData(SmtpTestClient c, String token) throws IOException {
        assertThat(c.read().code()).isEqualTo(220);
        c.command("EHLO client.test");
        assertThat(c.command("MAIL FROM:<sender@client.test>").code()).isEqualTo(250);
        assertThat(c.command("RCPT TO:<user@stop.test>").code()).isEqualTo(250);
        assertThat(c.command("DATA").code()).isEqualTo(354);
        c.send("Subject: " + token + "\r\n\r\n" + token + "\r\nfirst half\r\n");
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    /** Queue ids with an envelope in active/ or deferred/. */
    private static List<String> envelopes(Path queue) throws IOException {
        return Stream.concat(files(queue.resolve("active")).stream(), files(queue.resolve("deferred")).stream())
                .map(f -> f.replaceFirst("\\.env$", "")).toList();
    }

    private static List<String> files(Path d) throws IOException {
        if (!Files.isDirectory(d)) return List.of();
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
        }
    }

    private static List<String> maildir(Path data) throws IOException {
        Path mail = data.resolve("mail");
        if (!Files.isDirectory(mail)) return List.of();
        try (Stream<Path> s = Files.walk(mail)) {
            return s.filter(Files::isRegularFile).filter(p -> p.getParent().getFileName().toString().equals("new"))
                    .map(p -> {
                        try {
                            return Files.readString(p, StandardCharsets.UTF_8);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).toList();
        }
    }

}
