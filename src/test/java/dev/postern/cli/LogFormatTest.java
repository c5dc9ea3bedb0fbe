package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.testkit.SmtpTestClient;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code [log] format}: {@code postern serve} in its own process writes every log line as one JSON object
 * (logstash-logback-encoder 8.1 under logback 1.6) once it has read {@code format = "json"}; a format it does not
 * know is one line naming the key, exit 2.
 */
class LogFormatTest {
    @TempDir Path dir;

    @Test void jsonFromTheConfigFileOneObjectPerLine() throws Exception {
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, """
                hostname = "gw.json.test"
                data_dir = "data"
                local_domains = ["json.test"]

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [log]
                format = "json"
                """.formatted(freePort()));
        try (GatewayProcess gw = GatewayProcess.start(dir, dir.resolve("logs"), "json", "serve", "--config",
                config.toString())) {
            InetSocketAddress mx = gw.awaitListening(Duration.ofSeconds(30)).get("mx");
            try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
                c.read();
                c.command("EHLO \"json\"\\client");
                c.command("QUIT");
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> gw.stdout().contains("\"disconnect\""));
            ObjectMapper mapper = new ObjectMapper();
            List<JsonNode> lines = new ArrayList<>();
            // the test classpath's logback-test.xml writes to standard output, beside serve's own banner lines
            for (String line : gw.stdout().split("\n")) {
                if (line.startsWith("{")) lines.add(mapper.readTree(line));
                else assertThat(line).as("a line neither banner nor JSON").matches(
                        "^(Postern .*|  .*|Local domains: .*|Configuration: .*)$");
            }
            assertThat(lines).anySatisfy(o -> assertThat(o.path("message").asText()).startsWith("started with"));
            assertThat(lines).anySatisfy(o -> {
                assertThat(o.path("message").asText()).isEqualTo("disconnect");
                assertThat(o.path("result").asText()).isEqualTo("quit");
                assertThat(o.path("helo").asText()).isEqualTo("\"json\"\\client");
                assertThat(o.path("session").asText()).isNotBlank();
                assertThat(o.path("@timestamp").asText()).isNotBlank();
                assertThat(o.path("level").asText()).isEqualTo("INFO");
            });
        }
    }

    @Test void anUnknownFormatIsOneLineAndExitTwo() throws Exception {
        Path config = dir.resolve("bad.toml");
        Files.writeString(config, """
                [log]
                format = "xml"
                """);
        Cli.Result r = Cli.run("config", "check", config.toString());
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(config + ": log.format: expected \"logfmt\" or \"json\", got \"xml\"");
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
