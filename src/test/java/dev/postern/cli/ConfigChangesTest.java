package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a reload would apply and what it keeps for a restart, between two real files. */
class ConfigChangesTest {
    @TempDir Path dir;

    private static final String BASE = """
            hostname = "gw.test"
            data_dir = "data"
            local_domains = ["a.test"]
            relay_networks = ["192.0.2.0/24", "2001:db8::/48"]

            [[listeners]]
            address = "127.0.0.1:2525"
            role = "mx"

            [[partners]]
            name = "p"
            sender_domains = ["p.test"]
            networks = ["198.51.100.0/24"]
            require_tls = true
            """;

    private Config load(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return ConfigLoader.load(f);
    }

    @Test void theSameFileReadTwiceChangesNothing() throws Exception {
        // networks hold byte arrays, which a record's equals compares by identity: compared by content here
        ConfigChanges c = ConfigChanges.between(load("a.toml", BASE), load("b.toml", BASE));
        assertThat(c.live()).isEmpty();
        assertThat(c.restart()).isEmpty();
    }

    @Test void liveSectionsAreAppliedAndRestartOnlyOnesKeepTheirRunningValue() throws Exception {
        Config running = load("a.toml", BASE);
        Config next = load("b.toml", BASE.replace("gw.test", "other.test").replace("\"data\"", "\"elsewhere\"")
                .replace("[\"a.test\"]", "[\"a.test\", \"b.test\"]").replace("198.51.100.0/24", "203.0.113.0/24")
                + """

                [limits]
                max_active_sessions = 3
                max_errors = 4
                shutdown_grace = "2s"

                [dns]
                dnssec = "off"
                """);
        ConfigChanges c = ConfigChanges.between(running, next);
        assertThat(c.live()).containsExactly("local_domains", "[limits]", "[[partners]]");
        assertThat(c.restart()).containsExactly("hostname", "data_dir", "[limits] max_active_sessions", "[dns]");
        Config applied = c.applied();
        assertThat(applied.hostname()).isEqualTo("gw.test");
        assertThat(applied.dataDir()).isEqualTo(running.dataDir());
        assertThat(applied.dns()).isEqualTo(running.dns());
        assertThat(applied.limits().maxActiveSessions()).isEqualTo(running.limits().maxActiveSessions());
        assertThat(applied.limits().maxErrors()).isEqualTo(4);
        assertThat(applied.limits().shutdownGrace()).isEqualTo(Duration.ofSeconds(2));
        assertThat(applied.localDomains()).containsExactlyInAnyOrder("a.test", "b.test");
        assertThat(applied.inbound().partners().getFirst().networks().getFirst().toString())
                .isEqualTo(next.inbound().partners().getFirst().networks().getFirst().toString());
        assertThat(applied.source()).isEqualTo(next.source());
    }

    @Test void watchingAppliesAlertsProbesAndReportReceptionLiveAndKeepsTheAdminServerAndTheReportSender()
            throws Exception {
        Config running = load("a.toml", BASE);
        Config next = load("b.toml", BASE + """

                [admin]
                listen = "127.0.0.1:8026"
                [alerts]
                queue_size = 5
                [probes]
                interval = "10m"
                [tls_rpt]
                send = true
                organization = "Bank"
                receive_address = "tlsrpt@a.test"
                """);
        ConfigChanges c = ConfigChanges.between(running, next);
        assertThat(c.live()).containsExactly("[alerts]", "[probes]", "[tls_rpt] receive_address, max_report_size");
        assertThat(c.restart()).containsExactly("[tls_rpt] send, organization, contact, from", "[admin]");
        Config.Watch applied = c.applied().watch();
        assertThat(applied.admin()).isEqualTo(running.watch().admin());
        assertThat(applied.alerts().queueSize()).isEqualTo(5);
        assertThat(applied.probes().interval()).isEqualTo(Duration.ofMinutes(10));
        assertThat(applied.tlsRpt().send()).isFalse();
        assertThat(applied.tlsRpt().organization()).isNull();
        assertThat(applied.tlsRpt().receiveAddress()).isEqualTo("tlsrpt@a.test");
    }

    @Test void theShutdownGraceDefaultsToThirtySeconds() throws Exception {
        assertThat(load("a.toml", BASE).limits().shutdownGrace()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test void theHostnameWarningNamesWhatToSet() {
        assertThat(HostnameCheck.problem("mx.example.org")).isNull();
        assertThat(HostnameCheck.problem("localhost")).isNotNull();
        assertThat(HostnameCheck.problem("LOCALHOST.localdomain")).isNotNull();
        assertThat(HostnameCheck.problem("buildbox")).contains("not a fully-qualified domain name");
        assertThat(HostnameCheck.warning("localhost", "/etc/postern/postern.toml")).isEqualTo("no hostname in "
                + "/etc/postern/postern.toml and the machine's name is \"localhost\" or does not resolve: set hostname"
                + " = \"mx.example.org\" there (this gateway's public name, with an address record)");
        assertThat(HostnameCheck.warning("mx.example.org", "f")).isNull();
    }
}
