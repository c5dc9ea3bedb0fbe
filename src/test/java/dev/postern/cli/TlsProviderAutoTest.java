package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code [tls] provider = "auto"}, the config file's default: Conscrypt where it serves the configuration as the JDK
 * would (one configured certificate, no listener restricting its suites), the JDK otherwise; either way a real client
 * gets TLS over STARTTLS.
 */
class TlsProviderAutoTest {

    @TempDir Path dir;

    @Test void oneConfiguredCertificateGetsConscrypt() throws Exception {
        Config c = withCertificate(TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test")));
        assertProvider(c, Config.TlsProvider.CONSCRYPT);
    }

    @Test void theGeneratedPairGetsTheJdkToServeRsaClientsToo() throws Exception {
        Config c = TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test"));
        assertProvider(c, Config.TlsProvider.JDK);
        assertThat(Config.TlsProvider.autoChoice(c)).isEqualTo("the generated EC and RSA certificates are served "
                + "together");
    }

    @Test void aListenerThatRestrictsItsSuitesGetsTheJdk() throws Exception {
        Config c = withCertificate(TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test")));
        Config.ListenerTls bits256 = new Config.ListenerTls(false, Config.ClientCertificates.NONE, null, "TLSv1.2",
                List.of(), 256);
        c = c.withListeners(List.of(new Config.Listener(new InetSocketAddress("127.0.0.1", 0), Config.Role.MX,
                bits256)));
        assertProvider(c, Config.TlsProvider.JDK);
        assertThat(Config.TlsProvider.autoChoice(c)).contains("restricts its cipher suites");
    }

    private Config withCertificate(Config c) throws Exception {
        KeyMaterial m = Certificates.selfSigned(List.of("gw.test"), Certificates.KeyType.EC_P256, Duration.ofDays(10));
        Path cert = dir.resolve("gw.crt");
        Path key = dir.resolve("gw.key");
        Pem.write(m, cert, key);
        return TestConfigs.withTls(c, new Config.Tls(cert, key).withProvider(Config.TlsProvider.AUTO));
    }

    private static void assertProvider(Config c, Config.TlsProvider expected) throws Exception {
        c = TestConfigs.withTls(c, c.tls().withProvider(Config.TlsProvider.AUTO));
        try (Gateway g = Gateway.start(c)) {
            assertThat(g.listenersProvider()).isEqualTo(expected);
            try (SmtpTestClient client = SmtpTestClient.connect(g.boundAddresses().getFirst())) {
                assertThat(client.read().code()).isEqualTo(220);
                assertThat(client.command("EHLO client.test").code()).isEqualTo(250);
                assertThat(client.startTls()).isIn("TLSv1.3", "TLSv1.2");
            }
        }
    }
}
