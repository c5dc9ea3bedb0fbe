package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [peer_memory]} and {@code memory = "..."} in the per-domain policy tables: defaults, values, problems. */
class PeerMemoryConfigTest {
    @TempDir Path dir;

    private Path write(String toml) throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, toml);
        return f;
    }

    private List<String> problems(String toml) throws Exception {
        Path f = write(toml);
        try {
            ConfigLoader.load(f);
        } catch (ConfigException e) {
            return e.problems().stream().map(p -> p.substring(f.toString().length() + 2)).toList();
        }
        throw new AssertionError("expected problems");
    }

    @Test void onByDefaultOutboundFlagInbound() throws Exception {
        Config.PeerMemory m = ConfigLoader.load(write("")).peerMemory();
        assertThat(m.outbound()).isEqualTo(Config.MemoryMode.REFUSE);
        assertThat(m.inbound()).isEqualTo(Config.MemoryMode.FLAG);
        assertThat(m.maxDomains()).isEqualTo(100_000);
        assertThat(m.flushInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(m.outboundFor("any.example")).isEqualTo(Config.MemoryMode.REFUSE);
    }

    @Test void globalAndPerDomainModes() throws Exception {
        Config.PeerMemory m = ConfigLoader.load(write("""
                [peer_memory]
                outbound = "flag"
                inbound = "refuse"
                max_domains = 500
                flush_interval = "10s"

                [outbound_tls."Partner.Example"]
                level = "may"
                memory = "off"

                [outbound_tls.".groups.example"]
                level = "encrypt"
                memory = "refuse"
                """)).peerMemory();
        assertThat(m.outbound()).isEqualTo(Config.MemoryMode.FLAG);
        assertThat(m.inbound()).isEqualTo(Config.MemoryMode.REFUSE);
        assertThat(m.maxDomains()).isEqualTo(500);
        assertThat(m.flushInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(m.domains()).isEqualTo(Map.of("partner.example", Config.MemoryMode.OFF,
                ".groups.example", Config.MemoryMode.REFUSE));
        assertThat(m.outboundFor("partner.example")).isEqualTo(Config.MemoryMode.OFF);
        assertThat(m.outboundFor("mx.groups.example")).isEqualTo(Config.MemoryMode.REFUSE);
        assertThat(m.outboundFor("other.example")).isEqualTo(Config.MemoryMode.FLAG);
    }

    @Test void problemsAreOneLineEach() throws Exception {
        assertThat(problems("""
                [peer_memory]
                outbound = "maybe"
                inbound = 1
                max_domains = 0
                flush_interval = "1ms"
                forget = true

                [outbound_tls.default]
                level = "may"
                memory = "off"

                [outbound_tls."partner.example"]
                level = "may"
                memory = "sometimes"
                """)).containsExactly(
                "outbound_tls.default.memory: expected memory only in a domain's table ([peer_memory] outbound sets "
                        + "it for every domain), got \"off\"",
                "outbound_tls.\"partner.example\".memory: expected refuse, flag or off, got \"sometimes\"",
                "peer_memory.outbound: expected refuse, flag or off, got \"maybe\"",
                "peer_memory.inbound: expected refuse, flag or off, got 1",
                "peer_memory.max_domains: expected an integer from 1 to 10000000, got 0",
                "peer_memory.flush_interval: expected a duration from 1s to 1h, got \"1ms\"",
                "peer_memory.forget: unknown key (known keys: outbound, inbound, max_domains, flush_interval)");
    }
}
