package dev.postern.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RFC 7507 with an independent client: OpenSSL's s_client, offering at most TLS 1.2 with {@code -fallback_scsv},
 * gets "inappropriate fallback" from both kinds of listener of a gateway on the JDK's provider (whose best is TLS 1.3);
 * without the SCSV it connects. testssl.sh cannot show this: it only tries a fallback below TLS 1.2.
 */
class FallbackScsvOpenSslTest {
    @TempDir Path dir;

    @Test void openSslFallbackIsRefusedOnBothListeners() throws Exception {
        Path openssl = Peers.openssl();
        try (Gateway g = Gateway.start(TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test")))) {
            InetSocketAddress mx = g.boundAddresses().get(0);
            InetSocketAddress implicit = g.boundAddresses().get(2);
            for (List<String> target : List.of(List.of("-starttls", "smtp", "-connect", "127.0.0.1:" + mx.getPort()),
                    List.of("-connect", "127.0.0.1:" + implicit.getPort()))) {
                Run.Result fallback = sClient(openssl, target, "-fallback_scsv");
                // The server's alert: OpenSSL alone would also stop, with a local "inappropriate fallback" error, on
                // the TLS 1.3 server's downgrade sentinel in ServerHello.random (RFC 8446 §4.1.3).
                assertThat(fallback.output()).as(fallback.toString()).contains("alert inappropriate fallback")
                        .contains("SSL alert number 86");
                Run.Result plain = sClient(openssl, target);
                assertThat(plain.output()).as(plain.toString()).contains("Protocol version: TLSv1.2")
                        .doesNotContain("alert");
            }
        }
    }

    private static Run.Result sClient(Path openssl, List<String> target, String... extra) throws Exception {
        List<String> command = new ArrayList<>(List.of(openssl.toString(), "s_client", "-tls1_2", "-brief"));
        command.addAll(target);
        command.addAll(List.of(extra));
        return Run.run(Run.TIMEOUT, command);
    }
}
