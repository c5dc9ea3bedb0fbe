package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.AlertRecord;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.RecordCodec;
import dev.postern.files.DurableFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern alerts} offline: the state file for what fires now, the audit store for the state changes. */
class AlertsCliTest {
    @TempDir Path data;

    @Test void listsFiringAndRecentStateChangesAsTextAndJson() throws Exception {
        Instant now = Instant.now();
        AlertRecord fired = new AlertRecord(now.minus(Duration.ofHours(2)), "enforced-delivery:bank.example",
                AlertRecord.Kind.ENFORCED_DELIVERY_FAILURE, "bank.example", AlertRecord.State.FIRING,
                "bank.example: delivery under a TLS requirement deferred (4.7.10)", "queue id Q1");
        AlertRecord old = new AlertRecord(now.minus(Duration.ofDays(3)), "queue-size", AlertRecord.Kind.QUEUE_SIZE,
                "queue", AlertRecord.State.RECOVERED, "queue holds 3 messages, at most 10 again", null);
        AlertRecord ancient = new AlertRecord(now.minus(Duration.ofDays(30)), "queue-size",
                AlertRecord.Kind.QUEUE_SIZE, "queue", AlertRecord.State.FIRING, "queue holds 11 messages", null);
        Files.createDirectories(data.resolve("audit"));
        try (JdbcAuditStore store = JdbcAuditStore.open("jdbc:sqlite:" + data.resolve("audit/audit.db"), null, null,
                "gw1")) {
            store.write(List.of(fired, old, ancient));
        }
        // the engine's state file, as it writes it
        DurableFiles.SYSTEM.createDirectories(data.resolve("alerts"));
        Files.writeString(data.resolve("alerts/state.json"), "{\"firing\":{\"enforced-delivery:bank.example\":"
                + "{\"record\":" + RecordCodec.mapper().writeValueAsString(fired) + ",\"lastSeen\":\""
                + fired.at() + "\",\"endpoints\":[]}}}", StandardCharsets.UTF_8);

        Cli.Result text = Cli.run("alerts", "--data", data.toString());
        assertThat(text.exit()).as(text.err()).isZero();
        assertThat(text.out()).contains("Firing (1):", "ENFORCED_DELIVERY_FAILURE  enforced-delivery:bank.example",
                "bank.example: delivery under a TLS requirement deferred (4.7.10)", "RECOVERED  queue-size")
                .doesNotContain("queue holds 11 messages");

        Cli.Result json = Cli.run("alerts", "--data", data.toString(), "--json", "--since", "60d");
        assertThat(json.exit()).as(json.err()).isZero();
        JsonNode root = RecordCodec.mapper().readTree(json.out());
        assertThat(root.get("active")).hasSize(1);
        assertThat(root.get("recent")).hasSize(3);
        assertThat(root.get("recent").get(0).get("key").asText()).isEqualTo("enforced-delivery:bank.example");

        Cli.Result bad = Cli.run("alerts", "--data", data.toString(), "--since", "soon");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--since").doesNotContain("Exception");

        Files.writeString(data.resolve("alerts/state.json"), "{not json", StandardCharsets.UTF_8);
        Cli.Result broken = Cli.run("alerts", "--data", data.toString());
        assertThat(broken.exit()).isEqualTo(1);
        assertThat(broken.err()).contains("state.json: not an alert state file").doesNotContain("at dev.");
    }
}
