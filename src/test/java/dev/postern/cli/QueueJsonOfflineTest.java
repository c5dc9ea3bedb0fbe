package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.config.Config;
import dev.postern.queue.QueueState;
import dev.postern.testkit.TestConfigs;
import dev.postern.trace.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code queue list/show --json}, {@code queue summary} and selectors on a stopped gateway's spool. */
class QueueJsonOfflineTest {
    @TempDir Path data;

    @Test void jsonSummaryAndSelectorsOnAStoppedGateway() throws Exception {
        String a, b, n;
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.json.test", Set.of("json.test")),
                Set.of("a.example", "b.example"), Map.of(
                        "a.example", new Config.Route("127.0.0.1", QueueSelectorsTest.closedPort(), false),
                        "b.example", new Config.Route("127.0.0.1", QueueSelectorsTest.closedPort(), false)));
        c = TestConfigs.withQueue(c, new Config.Queue(Duration.ofHours(1), Duration.ofHours(1), Duration.ofDays(5), null));
        try (Gateway gw = Gateway.start(c)) {
            var mx = gw.boundAddresses().getFirst();
            a = QueueSelectorsTest.send(mx, "alice@json.test", "x@a.example", "y@a.example");
            b = QueueSelectorsTest.send(mx, "alice@json.test", "z@b.example");
            n = QueueSelectorsTest.send(mx, "", "x@a.example");
            await().atMost(Duration.ofSeconds(20)).until(() -> gw.spool().list().stream()
                    .allMatch(e -> e.state() == QueueState.DEFERRED) && gw.spool().list().size() == 3);
        }
        String d = data.toString();

        Cli.Result list = Cli.run("queue", "list", "--json", "--data", d);
        assertThat(list.exit()).as("%s", list).isZero();
        JsonNode l = Json.mapper().readTree(list.out());
        assertThat(l.get("dataDir").asText()).isEqualTo(d);
        assertThat(l.get("count").asInt()).isEqualTo(3);
        JsonNode first = l.get("messages").get(0);
        assertThat(first.get("id").asText()).isEqualTo(a);
        assertThat(first.get("state").asText()).isEqualTo("deferred");
        assertThat(first.get("sender").asText()).isEqualTo("alice@json.test");
        assertThat(first.get("arrived").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d.*Z");
        assertThat(first.get("recipients").get(1).get("address").asText()).isEqualTo("y@a.example");
        assertThat(first.get("recipients").get(1).get("status").asText()).isEqualTo("pending");
        assertThat(first.get("recipients").get(1).get("attempts").asInt()).isEqualTo(1);
        assertThat(first.get("recipients").get(1).get("lastResult").asText()).startsWith("451 4.4.1 ");
        assertThat(first.get("headers").isNull()).as("list has no headers").isTrue();
        assertThat(l.get("messages").get(2).get("sender").asText()).as("the null sender").isEmpty();
        JsonNode filtered = Json.mapper().readTree(Cli.run("queue", "list", "--json", "--sender", "<>", "--data", d)
                .out());
        assertThat(filtered.get("count").asInt()).isEqualTo(1);
        assertThat(filtered.get("messages").get(0).get("id").asText()).isEqualTo(n);

        Cli.Result show = Cli.run("queue", "show", b, "--json", "--data", d);
        assertThat(show.exit()).as("%s", show).isZero();
        JsonNode s = Json.mapper().readTree(show.out());
        assertThat(s.get("id").asText()).isEqualTo(b);
        assertThat(s.get("smtputf8").asBoolean()).isFalse();
        assertThat(s.get("headers")).extracting(JsonNode::asText).contains("Subject: to z@b.example");
        assertThat(Cli.run("queue", "show", "nonsense", "--json", "--data", d).exit()).isEqualTo(2);

        Cli.Result summary = Cli.run("queue", "summary", "--data", d);
        assertThat(summary.exit()).as("%s", summary).isZero();
        assertThat(summary.outLines()).hasSize(4);
        assertThat(summary.outLines().get(1)).matches(" *TOTAL +3 +3( +0){9}");
        assertThat(summary.outLines().get(2)).matches(" *a\\.example +2 +2( +0){9}");
        assertThat(summary.outLines().get(3)).matches(" *b\\.example +1 +1( +0){9}");
        assertThat(Cli.run("queue", "summary", "--by", "sender", "--data", d).outLines())
                .anySatisfy(line -> assertThat(line).matches(" *json\\.test +2 +2( +0){9}"))
                .anySatisfy(line -> assertThat(line).matches(" *<> +1 +1( +0){9}"));
        JsonNode held = Json.mapper().readTree(Cli.run("queue", "summary", "--state", "hold", "--json", "--data", d)
                .out());
        assertThat(held.get("total").get("total").asInt()).isZero();
        assertThat(held.get("rows")).isEmpty();
        Cli.Result bad = Cli.run("queue", "summary", "--by", "size", "--data", d);
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.errLines()).containsExactly("postern: --by: expected recipient or sender, got \"size\"");

        // Offline, the command itself appends to the admin log: no socket peer.
        Cli.Result delete = Cli.run("queue", "delete", "--domain", "A.EXAMPLE", "--sender", "alice@JSON.test",
                "--by", "frank", "--data", d);
        assertThat(delete.exit()).as("%s", delete).isZero();
        assertThat(delete.outLines()).containsExactly(
                "1 message matched --domain a.example --sender alice@json.test: 1 deleted");
        List<String> lines = Files.readAllLines(data.resolve("admin.log"));
        assertThat(lines).singleElement().asString().startsWith("{\"at\":\"").contains("\"by\":\"frank\"",
                "\"action\":\"QUEUE_DELETE\"", "\"target\":\"" + a + "\"", "\"detail\":\"deleted " + a + "\"")
                .doesNotContain("peer");
        assertThat(Json.mapper().readTree(Cli.run("queue", "list", "--json", "--data", d).out()).get("messages"))
                .extracting(m -> m.get("id").asText()).containsExactly(b, n);
    }
}
