package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.AdminRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 12: queue operations through the running gateway's control socket are recorded with who asked. */
class AdminAuditTest {
    @TempDir Path data;

    /** One request line to the control socket; the answer line. */
    static String ask(Path socket, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(StandardCharsets.UTF_8.encode(request + "\n"));
            ByteBuffer b = ByteBuffer.allocate(4096);
            while (ch.read(b) >= 0) { }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        }
    }

    static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test void holdAndDeleteAreRecordedWithTheSocketPeersUser() throws Exception {
        RecordingAudit audit = new RecordingAudit();
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.admin.test", Set.of("admin.test")),
                Set.of("b.example"), Map.of("b.example", new Config.Route("127.0.0.1", closedPort(), false)));
        try (Gateway gw = Gateway.start(c, audit)) {
            String id;
            try (SmtpTestClient client = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
                client.read();
                client.command("EHLO client.test");
                client.command("MAIL FROM:<alice@admin.test>");
                client.command("RCPT TO:<bob@b.example>");
                client.command("DATA");
                client.send("Subject: x\r\n\r\nHello.\r\n.\r\n");
                String last = client.read().last();
                id = last.substring(last.lastIndexOf(' ') + 1);
            }
            Path socket = data.resolve("control.sock");
            String[] answer = new String[1];
            // a first attempt may be running at this moment ("try again in a moment")
            Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                    .until(() -> (answer[0] = ask(socket, "hold " + id)).startsWith("ok "));
            assertThat(ask(socket, "delete nosuchid")).startsWith("error ");
            assertThat(ask(socket, "delete " + id)).isEqualTo("ok deleted " + id);

            String user = System.getProperty("user.name");
            AdminRecord hold = audit.await(AdminRecord.class, a -> a.action() == AdminRecord.Action.QUEUE_HOLD);
            assertThat(hold.actor()).isEqualTo(user);
            assertThat(hold.target()).isEqualTo(id);
            assertThat(hold.detail()).isEqualTo("held " + id);
            AdminRecord delete = audit.await(AdminRecord.class, a -> a.action() == AdminRecord.Action.QUEUE_DELETE);
            assertThat(delete.actor()).isEqualTo(user);
            assertThat(delete.target()).isEqualTo(id);
            assertThat(audit.of(AdminRecord.class)).as("a refused request is not an action").hasSize(2);
        }
    }
}
