package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP and {@code postern reload} on a real {@code postern serve}: a listener added and one removed, a route, a
 * TLS policy and a local domain changed, while a session opened before keeps working; an invalid file refused
 * with the old configuration kept; every reload in the audit as CONFIG_RELOAD.
 */
class ServeReloadTest {
    @TempDir Path dir;

    @Test @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void sighupAndPosternReloadApplyANewConfigWithoutDroppingSessionsAndRefuseABadOne() throws Exception {
        try (ScriptedSmtpServer oldHop = ScriptedSmtpServer.create().hostname("old.sink.test").start();
             ScriptedSmtpServer newHop = ScriptedSmtpServer.create().hostname("new.sink.test").start()) {
            int kept = GatewayProcess.freePort(), removed = GatewayProcess.freePort(), added = GatewayProcess.freePort();
            Path config = dir.resolve("postern.toml");
            // far.test: enforced TLS towards a next hop without STARTTLS, so its mail waits in the queue
            Files.writeString(config, config(kept, removed, "\"one.test\"", oldHop, """
                    [outbound_tls."far.test"]
                    level = "encrypt"
                    """, ""));
            Path logs = dir.resolve("logs");
            try (GatewayProcess gw = GatewayProcess.start(dir, logs, "gw", "serve", "--config", config.toString())) {
                Map<String, InetSocketAddress> at = gw.awaitListening(Duration.ofSeconds(60));
                assertThat(at).as("listening\n%s", gw.output()).isNotEmpty();
                InetSocketAddress keptAt = new InetSocketAddress("127.0.0.1", kept);
                send(keptAt, "user@far.test", 250);
                Path deferred = dir.resolve("data/queue/deferred");
                await().atMost(Duration.ofSeconds(30)).until(() -> GatewayProcess.count(deferred) == 1);
                assertThat(oldHop.delivered()).as("not sent in clear text").isEmpty();

                try (SmtpTestClient open = SmtpTestClient.connect(keptAt)) {
                    assertThat(open.read().code()).isEqualTo(220);
                    assertThat(open.command("EHLO open.test").code()).isEqualTo(250);
                    assertThat(open.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);

                    Files.writeString(config, config(kept, added, "\"one.test\", \"two.test\"", newHop, "", """
                            [limits]
                            max_active_sessions = 7
                            """));
                    gw.signal("HUP");
                    await().atMost(Duration.ofSeconds(20)).until(() -> gw.stdout().contains("config reload (SIGHUP)"));
                    assertThat(gw.stdout()).contains("listener added: mx 127.0.0.1:" + added)
                            .contains("listener removed: mx 127.0.0.1:" + removed)
                            .contains("[limits] max_active_sessions changed: needs a restart");

                    // the session opened before the reload goes on, with the configuration it started with
                    assertThat(open.command("RCPT TO:<x@one.test>").code()).isEqualTo(250);
                    assertThat(open.command("RCPT TO:<x@two.test>").code()).as("its own snapshot").isEqualTo(554);
                    assertThat(open.command("DATA").code()).isEqualTo(354);
                    assertThat(open.command("Subject: kept\r\n\r\nkept\r\n.").code()).isEqualTo(250);
                }
                send(new InetSocketAddress("127.0.0.1", added), "x@two.test", 250); // new listener, new domain
                assertThatThrownBy(() -> SmtpTestClient.connect(new InetSocketAddress("127.0.0.1", removed)))
                        .isInstanceOf(ConnectException.class);
                // the new route and policy: the waiting message goes to the new next hop at its retry
                await().atMost(Duration.ofSeconds(30)).until(() -> newHop.delivered().size() == 1);
                assertThat(oldHop.delivered()).isEmpty();

                // a file that does not validate: refused, the running configuration stays
                String good = Files.readString(config);
                Files.writeString(config, good.replace("local_domains = [", "local_domain = ["));
                gw.signal("HUP");
                await().atMost(Duration.ofSeconds(20)).until(() -> gw.stdout().contains("refused; the running"));
                assertThat(gw.stdout()).contains(config + ": local_domain: unknown key");
                send(new InetSocketAddress("127.0.0.1", added), "y@two.test", 250);

                Cli.Result refused = GatewayProcess.runCommand(dir, "reload", "--data", "data");
                assertThat(refused.exit()).as("%s", refused).isEqualTo(2);
                assertThat(refused.err()).contains("reload refused").contains("local_domain: unknown key");

                Files.writeString(config, good.replace("\"two.test\"", "\"two.test\", \"three.test\""));
                Cli.Result applied = GatewayProcess.runCommand(dir, "reload", "--data", "data");
                assertThat(applied.exit()).as("%s", applied).isZero();
                assertThat(applied.out()).startsWith("applied: local_domains");
                send(new InetSocketAddress("127.0.0.1", added), "z@three.test", 250);

                Cli.Result same = GatewayProcess.runCommand(dir, "reload", "--data", "data");
                assertThat(same.out()).startsWith("no change applied");
                assertThat(gw.stop()).isZero();
            }
            Cli.Result actions = Cli.run("audit", "actions", "--config", config.toString());
            assertThat(actions.out().lines().filter(l -> l.contains("config-reload")).toList())
                    .as("%s", actions).hasSize(5)
                    .anySatisfy(l -> assertThat(l).contains(" SIGHUP config-reload " + config
                            + ": applied: [[listeners]], local_domains, [routes], [outbound_tls]"))
                    .anySatisfy(l -> assertThat(l).contains(" SIGHUP config-reload").contains("refused: "))
                    .anySatisfy(l -> assertThat(l).contains(System.getProperty("user.name") + " config-reload")
                            .contains("applied: local_domains"));
        }
    }

    @Test
    void reloadWithoutARunningGatewaySaysSoInOneLine() {
        Cli.Result r = Cli.run("reload", "--data", dir.resolve("nothing-here").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.errLines()).containsExactly("postern: no gateway is running with data directory "
                + dir.resolve("nothing-here"));
    }

    private static String config(int first, int second, String localDomains, ScriptedSmtpServer hop, String policy,
                                 String limits) {
        return """
                hostname = "gw.reload.test"
                data_dir = "data"
                local_domains = [%s]
                relay_domains = ["far.test"]

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [routes]
                "far.test" = "[127.0.0.1]:%d"

                [queue]
                retry_first = "1s"
                retry_max = "1s"

                [dns]
                dnssec = "off"

                [mta_sts]
                enabled = false
                %s
                %s
                """.formatted(localDomains, first, second, hop.address().getPort(), policy, limits);
    }

    private static void send(InetSocketAddress to, String rcpt, int expected) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(to)) {
            c.read();
            c.command("EHLO client.test");
            c.command("MAIL FROM:<sender@client.test>");
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).as("RCPT %s", rcpt).isEqualTo(expected);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            assertThat(c.command("Subject: t\r\n\r\nt\r\n.").code()).isEqualTo(250);
            c.command("QUIT");
        }
    }
}
