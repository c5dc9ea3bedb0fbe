package dev.postern.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, downgrade memory inbound, with swaks as the client: a message from partner.example over STARTTLS teaches
 * the gateway; swaks claiming the same sender without STARTTLS is refused at MAIL FROM ({@code inbound = "refuse"}).
 */
class SwaksPeerMemoryTest {
    @TempDir Path data;

    static Run.Result swaks(InetSocketAddress server, String from, String... more) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Peers.swaks().toString(), "--server",
                "127.0.0.1:" + server.getPort(), "--helo", "mx.partner.example", "--from", from, "--to",
                "bob@postern.test", "--timeout", "15"));
        cmd.addAll(List.of(more));
        return Run.run(Run.TIMEOUT, cmd);
    }

    @Test void aPlainSessionAfterATlsOneIsRefused() throws Exception {
        Peers.swaks();
        Config c = TestConfigs.gateway(data, "gw.postern.test", Set.of("postern.test"));
        try (Gateway gw = Gateway.start(c.withPeerMemory(c.peerMemory().withModes(Config.MemoryMode.REFUSE,
                Config.MemoryMode.REFUSE)))) {
            InetSocketAddress mx = gw.boundAddresses().getFirst();
            Run.Result tls = swaks(mx, "alice@partner.example", "--tls");
            assertThat(tls.exit()).as(tls.toString()).isZero();
            Run.Result plain = swaks(mx, "mallory@partner.example");
            assertThat(plain.output()).as(plain.toString()).contains("<** 530 5.7.0 Must issue a STARTTLS command "
                    + "first: mail from partner.example has come over TLS before");
            assertThat(plain.exit()).as(plain.toString()).isNotZero();
            Run.Result other = swaks(mx, "someone@elsewhere.example");
            assertThat(other.exit()).as(other.toString()).isZero();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15))
                    .until(() -> gw.spool().list().isEmpty());
        }
    }
}
