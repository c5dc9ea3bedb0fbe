package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.testkit.SmtpTestClient;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code postern serve} in a graceful stop that would wait a minute for a DATA under way: a second signal
 * (Ctrl-C twice) ends it at once, status 1, with one line saying so.
 */
class ServeSecondSignalTest {
    @TempDir Path dir;

    @Test @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aSecondSignalDuringTheGraceExitsAtOnce() throws Exception {
        int port = GatewayProcess.freePort();
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, """
                hostname = "gw.twice.test"
                data_dir = "data"
                local_domains = ["twice.test"]

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [limits]
                shutdown_grace = "60s"

                [dns]
                dnssec = "off"

                [mta_sts]
                enabled = false
                """.formatted(port));
        try (GatewayProcess gw = GatewayProcess.start(dir, dir.resolve("logs"), "twice", "serve", "--config",
                config.toString())) {
            InetSocketAddress mx = gw.awaitListening(Duration.ofSeconds(60)).get("mx");
            assertThat(mx).as("listening\n%s", gw.output()).isNotNull();
            SmtpTestClient idle = SmtpTestClient.connect(mx);
            SmtpTestClient dawdling = SmtpTestClient.connect(mx);
            try (idle; dawdling) {
                assertThat(idle.read().code()).isEqualTo(220);
                assertThat(dawdling.read().code()).isEqualTo(220);
                dawdling.command("EHLO client.test");
                assertThat(dawdling.command("MAIL FROM:<sender@client.test>").code()).isEqualTo(250);
                assertThat(dawdling.command("RCPT TO:<user@twice.test>").code()).isEqualTo(250);
                assertThat(dawdling.command("DATA").code()).isEqualTo(354);
                dawdling.send("Subject: half\r\n\r\nfirst half\r\n");

                gw.signal("TERM");
                // the graceful stop is under way (idle sessions are told at once); the DATA holds it for 60 s
                assertThat(idle.read().last()).isEqualTo("421 4.3.2 gw.twice.test shutting down");
                Thread.sleep(500);
                assertThat(gw.isAlive()).as("still waiting for the DATA\n%s", gw.output()).isTrue();

                long second = System.nanoTime();
                gw.signal("INT");
                assertThat(gw.awaitExit(Duration.ofSeconds(15))).as("exit status\n%s", gw.output()).isEqualTo(1);
                assertThat((System.nanoTime() - second) / 1_000_000).as("at once, not after the grace")
                        .isLessThan(10_000);
            }
            String out = gw.stdout() + gw.stderr();
            assertThat(out.lines().filter(l -> l.contains("second signal: exiting now")).count()).as(out)
                    .isEqualTo(1);
            assertThat(out.lines().filter(l -> l.contains("Exception")).toList()).as("no stack trace").isEmpty();
        }
    }
}
