package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Security;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A client forced to TLS 1.0 or 1.1 must fail against Postern's server. The JDK already bans both by default, which
 * would make this test pass whatever Postern does, so it runs in a child JVM with the ban lifted, next to a control
 * server on JSSE defaults that shows the old protocol really can be negotiated there.
 */
class LegacyProtocolTest {
    @TempDir Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1", "TLSv1.1"})
    void clientForcedToLegacyProtocolFailsHandshake(String protocol) throws Exception {
        Path security = dir.resolve("java.security");
        Files.writeString(security, "jdk.tls.disabledAlgorithms=" + withoutLegacyBan() + "\n");

        String control = probe(security, protocol, "jdk-defaults");
        assumeThat(control).as("control handshake with the ban lifted").isEqualTo("HANDSHAKE OK " + protocol);

        assertThat(probe(security, protocol, "postern")).startsWith("HANDSHAKE FAILED")
                .contains("SSLHandshakeException");
        assertThat(probe(security, protocol, "conscrypt")).as("[tls] provider = \"conscrypt\"")
                .startsWith("HANDSHAKE FAILED").contains("SSLHandshakeException");
    }

    private static String withoutLegacyBan() {
        return Arrays.stream(Security.getProperty("jdk.tls.disabledAlgorithms").split(","))
                .map(String::strip)
                .filter(entry -> !List.of("TLSv1", "TLSv1.1").contains(entry))
                .collect(Collectors.joining(", "));
    }

    private static String probe(Path security, String protocol, String server) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(java.toString(), "-Djava.security.properties=" + security,
                "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), LegacyProtocolProbe.class.getName(), protocol, server)
                .redirectErrorStream(true)
                .start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("probe finished").isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return output.lines().filter(line -> line.startsWith("HANDSHAKE")).findFirst().orElse(output);
    }
}
