package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.TestConfigs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern audit actions}: what administrators did to a running gateway, read back from its audit store. The
 * actions are real ones (the control socket, the overrides file), the store the gateway's own SQLite.
 */
class AuditActionsCliTest {
    @TempDir Path data;

    @Test void administratorsActionsAreOnRecordWithWhoAndWhy() throws Exception {
        try (Gateway gw = Gateway.start(TestConfigs.gateway(data, "gw.a.example", Set.of("a.example")))) {
            Cli.Result flush = Cli.run("queue", "flush", "--data", data.toString());
            assertThat(flush.exit()).as(flush.toString()).isZero();
            Cli.Result override = Cli.run("policy", "override", "bank.example", "--level", "may", "--until", "2h",
                    "--reason", "partner certificate expired, ticket 4711", "--data", data.toString());
            assertThat(override.exit()).as(override.toString()).isZero();
            // The gateway notices the overrides file within a second or so and records the change.
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() ->
                    Cli.run("audit", "actions", "--data", data.toString()).out().contains("policy-override-set"));
        }
        Cli.Result r = Cli.run("audit", "actions", "--since", "1h", "--data", data.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        String user = System.getProperty("user.name");
        assertThat(r.outLines()).anySatisfy(l -> assertThat(l).contains(" gw.a.example " + user + " queue-flush"));
        assertThat(r.outLines()).anySatisfy(l -> assertThat(l).contains("policy-override-set bank.example",
                "partner certificate expired, ticket 4711"));

        Cli.Result json = Cli.run("audit", "actions", "--json", "--data", data.toString());
        assertThat(json.out()).contains("\"action\" : \"POLICY_OVERRIDE_SET\"", "\"gateway\" : \"gw.a.example\"");

        Cli.Result none = Cli.run("audit", "actions", "--since", "2099-01-01T00:00Z", "--data", data.toString());
        assertThat(none.outLines()).containsExactly("no administrative action on record since 2099-01-01 00:00:00Z");

        Cli.Result bad = Cli.run("audit", "actions", "--since", "soon", "--data", data.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.errLines()).hasSize(1);
    }
}
