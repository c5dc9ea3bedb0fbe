package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.stuff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.audit.AuditWriter;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.MessageTrace;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestPostgres;
import dev.postern.trace.TraceText;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a hostile client and a hostile next hop put on the wire reaches the audit as they sent it: a Message-ID with a
 * NUL (which PostgreSQL refuses in TEXT) and terminal escape sequences, a reply that moves the cursor up and erases
 * a line. The records must still reach the store (a refused batch would block the writer for ever) and
 * {@code postern trace} must print them inert, one line each.
 */
class HostileValuesEndToEndTest {
    @TempDir Path data;

    @Test void aNulInAMessageIdAndEscapesInARemoteReplyNeitherBlockTheStoreNorReachTheTerminal() throws Exception {
        String url = TestPostgres.get().newDatabase();
        String reply = "250 2.0.0 Ok \u001b[1A\u001b[2K  to <bob@b.example>: delivered over TLS 1.3, verified";
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining()
                .on(ScriptedSmtpServer.Verb.DATA_END, reply).start()) {
            Config config = Outbound.relayingTo(data, server.port(), "b.example").withAudit(new Config.Audit(url,
                    null, null, "gw-hostile", Duration.ofDays(400), 10_000, 1L << 30));
            String id;
            try (Gateway gw = Gateway.start(config)) {
                try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
                    assertThat(c.read().code()).isEqualTo(220);
                    assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
                    assertThat(c.command("MAIL FROM:<alice@a.example>").code()).isEqualTo(250);
                    assertThat(c.command("RCPT TO:<bob@b.example>").code()).isEqualTo(250);
                    assertThat(c.command("DATA").code()).isEqualTo(354);
                    c.send(stuff("Message-ID: <m\u0000\u001b]0;owned\u0007\u001b[31m@a.example>\r\n"
                            + body("hostile", "Hello")) + ".\r\n");
                    SmtpTestClient.Response done = c.read();
                    assertThat(done.code()).isEqualTo(250);
                    c.command("QUIT");
                    id = done.last().substring(done.last().lastIndexOf(' ') + 1);
                }
                awaitEmptySpool(gw);
                AuditWriter.Stats s = await().atMost(Duration.ofSeconds(30)).until(gw::auditStats,
                        st -> st.queued() == 0 && st.written() + st.replayed() >= 4);
                assertThat(s.storeUp()).as(s.toString()).isTrue();
                assertThat(s.spillBytes()).as(s.toString()).isZero();
                assertThat(s.dropped()).isZero();
            }
            try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw-hostile")) {
                MessageTrace t = store.message(id).orElseThrow();
                assertThat(t.message().messageId()).isEqualTo("m\uFFFD\u001b]0;owned\u0007\u001b[31m@a.example");
                assertThat(t.deliveries()).hasSize(1);
                String text = TraceText.render(List.of(t));
                // heading, arrival, the delivery, "now": no more lines, and nothing a terminal would act on
                assertThat(text.lines()).hasSize(4);
                assertThat(text.chars().filter(ch -> ch != '\n' && (ch < 0x20 || ch == 0x7f))).isEmpty();
                assertThat(text).contains("<m\uFFFD\\x1b]0;owned\\x07\\x1b[31m@a.example>",
                        "Ok \\x1b[1A\\x1b[2K  to <bob@b.example>");
            }
        }
    }
}
