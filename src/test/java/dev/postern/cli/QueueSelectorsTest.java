package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.AdminLog;
import dev.postern.audit.AdminRecord.Action;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15: {@code postern queue flush|hold|release|delete} with selectors, against a real gateway process whose next
 * hop (a real SMTP server on loopback) answers every RCPT with 451, so the queue holds deferred mail for several
 * domains; then offline on the stopped gateway's spool, and again after a restart. Every action is in data/admin.log
 * with the operator, appended, never rewritten.
 */
class QueueSelectorsTest {
    private static final Pattern QUEUED = Pattern.compile("^250 2\\.0\\.0 Ok: queued as (\\S+)$");
    private static final String LOGIN = PolicyCommand.who();
    private static final String PEER = System.getProperty("user.name");

    @TempDir Path dir;

    @Test @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void selectorsPickExactlyTheirMessagesOnARunningGatewayOfflineAndAfterARestart() throws Exception {
        try (ScriptedSmtpServer nextHop = ScriptedSmtpServer.create()
                .on(ScriptedSmtpServer.Verb.RCPT, "451 4.3.0 try again later").start()) {
            Path config = config(nextHop.port());
            String cfg = config.toString();
            Path data = dir.resolve("data");
            Map<String, String> ids = new HashMap<>();
            try (GatewayProcess gw = GatewayProcess.start(dir, dir.resolve("logs"), "first", "serve", "--config", cfg)) {
                InetSocketAddress mx = gw.awaitListening(Duration.ofSeconds(30)).get("mx");
                ids.put("m1", send(mx, "alice@client.test", "u1@a.example"));
                ids.put("m2", send(mx, "alice@client.test", "u2@a.example", "v@b.example"));
                ids.put("m3", send(mx, "", "u3@a.example"));
                ids.put("m4", send(mx, "bob@client.test", "w@xn--bcher-kva.example"));
                ids.put("m5", send(mx, "alice@client.test", "x@sub.c.example"));
                ids.put("m6", send(mx, "alice@client.test", "y@c.example"));
                awaitStates(cfg, Map.of(ids.get("m1"), "deferred", ids.get("m2"), "deferred", ids.get("m3"), "deferred",
                        ids.get("m4"), "deferred", ids.get("m5"), "deferred", ids.get("m6"), "deferred"));

                Cli.Result bare = Cli.run("queue", "delete", "--config", cfg);
                assertThat(bare.exit()).as("%s", bare).isEqualTo(2);
                assertThat(bare.out()).isEmpty();
                assertThat(bare.errLines()).containsExactly("postern: queue delete: name queue ids or a selector "
                        + "(--domain, --recipient, --sender, --state, or --all for every message)");

                // A Unicode domain spelt another way (case, U-label, trailing dot) selects the same messages.
                Cli.Result hold = Cli.run("queue", "hold", "--domain", "BÜCHER.Example.", "--config", cfg);
                assertThat(hold.exit()).as("%s", hold).isZero();
                assertThat(hold.outLines()).containsExactly("1 message matched --domain xn--bcher-kva.example: 1 held");
                assertThat(states(cfg)).containsEntry(ids.get("m4"), "hold");
                Cli.Result again = Cli.run("queue", "hold", "--domain", "xn--BCHER-kva.example", "--config", cfg);
                assertThat(again.outLines()).as("hold looks at messages not yet held")
                        .containsExactly("0 messages matched --domain xn--bcher-kva.example: 0 held");
                assertThat(again.exit()).isZero();

                Cli.Result held = Cli.run("queue", "list", "--state", "hold", "--json", "--config", cfg);
                JsonNode list = dev.postern.trace.Json.mapper().readTree(held.out());
                assertThat(list.get("count").asInt()).isEqualTo(1);
                assertThat(list.get("messages").get(0).get("id").asText()).isEqualTo(ids.get("m4"));
                assertThat(list.get("messages").get(0).get("sender").asText()).isEqualTo("bob@client.test");

                // The null sender, combined with a domain: only the bounce-like m3, not m1 or m2.
                Cli.Result nullSender = Cli.run("queue", "delete", "--domain", "a.example", "--sender", "<>", "--by",
                        "alice", "--config", cfg);
                assertThat(nullSender.exit()).as("%s", nullSender).isZero();
                assertThat(nullSender.outLines())
                        .containsExactly("1 message matched --domain a.example --sender <>: 1 deleted");
                assertThat(states(cfg)).doesNotContainKey(ids.get("m3")).containsKeys(ids.get("m1"), ids.get("m2"));

                Cli.Result none = Cli.run("queue", "delete", "--domain", "spam.example", "--state", "deferred",
                        "--config", cfg);
                assertThat(none.exit()).as("no match is not an error").isZero();
                assertThat(none.outLines())
                        .containsExactly("0 messages matched --domain spam.example --state deferred: 0 deleted");

                // ".c.example" is its subdomains only: sub.c.example, not c.example.
                Cli.Result sub = Cli.run("queue", "hold", "--domain", ".c.example", "--config", cfg);
                assertThat(sub.outLines()).containsExactly("1 message matched --domain .c.example: 1 held");
                assertThat(states(cfg)).containsEntry(ids.get("m5"), "hold").containsEntry(ids.get("m6"), "deferred");
                Cli.Result release = Cli.run("queue", "release", "--domain", ".c.example", "--by", "carol",
                        "--config", cfg);
                assertThat(release.outLines()).containsExactly("1 message matched --domain .c.example: 1 released");
                awaitStates(cfg, Map.of(ids.get("m5"), "deferred")); // released, tried, 451 again

                int before = rcpts(nextHop, "u2@a.example");
                Cli.Result flush = Cli.run("queue", "flush", "--recipient", "U2@A.Example", "--state", "deferred",
                        "--config", cfg);
                assertThat(flush.outLines())
                        .containsExactly("1 message matched --recipient u2@a.example --state deferred: 1 flushed");
                await().atMost(Duration.ofSeconds(15)).until(() -> rcpts(nextHop, "u2@a.example") == before + 1);
                assertThat(rcpts(nextHop, "u1@a.example")).as("only the selected message was tried").isEqualTo(1);
                awaitStates(cfg, Map.of(ids.get("m2"), "deferred"));

                // A message with recipients in two domains is deleted whole when one of them is selected.
                Cli.Result delete = Cli.run("queue", "delete", "--domain", "a.example", "--state", "deferred",
                        "--config", cfg);
                assertThat(delete.outLines())
                        .containsExactly("2 messages matched --domain a.example --state deferred: 2 deleted");
                assertThat(states(cfg)).containsOnlyKeys(ids.get("m4"), ids.get("m5"), ids.get("m6"));

                List<AdminLog.Entry> log = AdminLog.in(data).read();
                assertThat(log).extracting(e -> e.action() + " " + e.target() + " by " + e.by() + " via " + e.peer())
                        .containsExactly(
                                "QUEUE_HOLD " + ids.get("m4") + " by " + LOGIN + " via " + PEER,
                                "QUEUE_DELETE " + ids.get("m3") + " by alice via " + PEER,
                                "QUEUE_HOLD " + ids.get("m5") + " by " + LOGIN + " via " + PEER,
                                "QUEUE_RELEASE " + ids.get("m5") + " by carol via " + PEER,
                                "QUEUE_FLUSH " + ids.get("m2") + " by " + LOGIN + " via " + PEER,
                                "QUEUE_DELETE " + ids.get("m1") + " by " + LOGIN + " via " + PEER,
                                "QUEUE_DELETE " + ids.get("m2") + " by " + LOGIN + " via " + PEER);
                assertThat(gw.stop()).isIn(0, 143);
            }

            // Offline: the same commands act on the spool under the data directory's lock, and append.
            byte[] logBefore = Files.readAllBytes(data.resolve("admin.log"));
            Cli.Result all = Cli.run("queue", "hold", "--all", "--by", "dave", "--config", cfg);
            assertThat(all.exit()).as("%s", all).isZero();
            assertThat(all.outLines()).containsExactly("2 messages matched --all: 2 held");
            byte[] logOffline = Files.readAllBytes(data.resolve("admin.log"));
            assertThat(new String(logOffline, 0, logBefore.length)).as("appended, not rewritten")
                    .isEqualTo(new String(logBefore));
            List<AdminLog.Entry> offline = AdminLog.in(data).read();
            assertThat(offline.subList(7, offline.size())).extracting(e -> e.action() + " " + e.target() + " by "
                    + e.by() + " via " + e.peer()).containsExactlyInAnyOrder(
                    "QUEUE_HOLD " + ids.get("m5") + " by dave via null",
                    "QUEUE_HOLD " + ids.get("m6") + " by dave via null");

            // After a restart, the gateway appends to the same log.
            try (GatewayProcess gw = GatewayProcess.start(dir, dir.resolve("logs"), "second", "serve", "--config", cfg)) {
                gw.awaitListening(Duration.ofSeconds(30));
                Cli.Result delete = Cli.run("queue", "delete", ids.get("m4"), "--by", "erin", "--config", cfg);
                assertThat(delete.exit()).as("%s", delete).isZero();
                assertThat(delete.outLines()).containsExactly("deleted " + ids.get("m4"));
                byte[] logAfter = Files.readAllBytes(data.resolve("admin.log"));
                assertThat(new String(logAfter, 0, logOffline.length)).isEqualTo(new String(logOffline));
                assertThat(AdminLog.in(data).read().getLast()).satisfies(e -> {
                    assertThat(e.action()).isEqualTo(Action.QUEUE_DELETE);
                    assertThat(e.by()).isEqualTo("erin");
                    assertThat(e.peer()).isEqualTo(PEER);
                });
                assertThat(gw.stop()).isIn(0, 143);
            }
        }
    }

    @Test void badSelectorsAreOneLineAndExit2() throws Exception {
        Path config = config(closedPort());
        String cfg = config.toString();
        Map<List<String>, String> cases = Map.of(
                List.of("--state", "held"), "postern: --state: expected active, deferred or hold, got \"held\"",
                List.of("--domain", "-x-.example"), "postern: expected a domain like partner.example, got \"-x-.example\"",
                List.of("--sender", "nobody"),
                "postern: --sender: expected an address like alice@example.com, or <> for the null sender, got \"nobody\"",
                List.of("--recipient", "<>"),
                "postern: --recipient: expected an address like bob@example.com, got \"<>\"",
                List.of("--by", "a\nb", "--all"),
                "postern: --by: expected a name of 1 to 100 characters without control characters, got \"a?b\"");
        for (var c : cases.entrySet()) {
            List<String> args = new java.util.ArrayList<>(List.of("queue", "delete"));
            args.addAll(c.getKey());
            args.addAll(List.of("--config", cfg));
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            assertThat(r.exit()).as("%s: %s", c.getKey(), r).isEqualTo(2);
            assertThat(r.errLines()).as("%s", c.getKey()).singleElement().asString().startsWith(c.getValue());
        }
    }

    // ---- helpers

    private Path config(int nextHopPort) throws IOException {
        Path f = dir.resolve("postern.toml");
        String route = "\"[127.0.0.1]:" + nextHopPort + "\"";
        Files.writeString(f, """
                hostname = "gw.queue.test"
                data_dir = "data"
                local_domains = ["queue.test"]
                relay_domains = ["a.example", "b.example", "bücher.example", "c.example", "sub.c.example"]

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [queue]
                retry_first = "1h"
                retry_max = "2h"

                [routes]
                "a.example" = %s
                "b.example" = %s
                "bücher.example" = %s
                "c.example" = %s
                "sub.c.example" = %s
                """.formatted(closedPort(), route, route, route, route, route));
        return f;
    }

    /** Sends one message; "" as sender is the null sender. Returns its queue id. */
    static String send(InetSocketAddress mx, String sender, String... rcpts) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<" + sender + ">").code()).isEqualTo(250);
            for (String r : rcpts) assertThat(c.command("RCPT TO:<" + r + ">").code()).as(r).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("From: alice@client.test\r\nSubject: to " + rcpts[0] + "\r\n\r\nHello.\r\n.\r\n");
            SmtpTestClient.Response r = c.read();
            Matcher m = QUEUED.matcher(r.last());
            assertThat(m.matches()).as("%s", r).isTrue();
            return m.group(1);
        }
    }

    /** Id to state, as {@code queue list --json} tells them. */
    static Map<String, String> states(String cfg) throws IOException {
        Cli.Result r = Cli.run("queue", "list", "--json", "--config", cfg);
        assertThat(r.exit()).as("%s", r).isZero();
        Map<String, String> out = new HashMap<>();
        for (JsonNode m : dev.postern.trace.Json.mapper().readTree(r.out()).get("messages")) {
            out.put(m.get("id").asText(), m.get("state").asText());
        }
        return out;
    }

    private static void awaitStates(String cfg, Map<String, String> want) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            Map<String, String> now = states(cfg);
            return want.entrySet().stream().allMatch(e -> e.getValue().equals(now.get(e.getKey())));
        });
    }

    private static int rcpts(ScriptedSmtpServer server, String address) {
        return (int) server.transactions().stream().flatMap(t -> t.recipients().stream())
                .filter(address::equals).count();
    }

    static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
