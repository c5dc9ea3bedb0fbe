package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code relay_networks}: where "wide" begins, what the override allows and what it never does. */
class RelayNetworksConfigTest {
    @TempDir Path dir;

    private static final String OPEN = ": every host in it may relay mail to any domain, an open relay if it reaches "
            + "beyond your own hosts (set allow_wide_relay_networks = true if it does not)";

    @Test void aSlash16AndASlash48AreNarrowEnoughOneBitMoreIsNot() throws Exception {
        ConfigFiles f = new ConfigFiles(dir);
        assertThat(f.load("relay_networks = [\"192.168.0.0/16\", \"2001:db8:1::/48\", \"192.0.2.7\", \"::1\"]\n")
                .relayNetworks()).hasSize(4);
        assertThat(f.problems("relay_networks = [\"172.16.0.0/15\", \"2001:db8::/47\"]\n")).containsExactly(
                "postern.toml: relay_networks[0]: expected a network no wider than /16, got \"172.16.0.0/15\"" + OPEN,
                "postern.toml: relay_networks[1]: expected a network no wider than /48, got \"2001:db8::/47\"" + OPEN);
    }

    @Test void loopbackIsThisMachineWhateverItsWidth() throws Exception {
        assertThat(new ConfigFiles(dir).load("relay_networks = [\"127.0.0.0/8\"]\n").relayNetworks()).hasSize(1);
    }

    @Test void theOverrideAllowsWideNetworksButNeverTheWholeInternet() throws Exception {
        ConfigFiles f = new ConfigFiles(dir);
        assertThat(f.load("relay_networks = [\"10.0.0.0/8\", \"fd00::/8\"]\nallow_wide_relay_networks = true\n")
                .relayNetworks()).hasSize(2);
        assertThat(f.problems("relay_networks = [\"0.0.0.0/0\"]\nallow_wide_relay_networks = true\n"))
                .containsExactly("postern.toml: relay_networks[0]: expected your own networks, got \"0.0.0.0/0\": the "
                        + "whole IPv4 Internet could relay mail through this gateway (an open relay); remote clients "
                        + "should authenticate on a submission listener instead");
        assertThat(f.problems("allow_wide_relay_networks = \"yes\"\n")).containsExactly(
                "postern.toml: allow_wide_relay_networks: expected true or false, got \"yes\"");
    }
}
