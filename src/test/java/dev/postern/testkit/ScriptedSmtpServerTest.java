package dev.postern.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.ScriptedSmtpServer.Transaction;
import dev.postern.testkit.ScriptedSmtpServer.Verb;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The scripted server itself, driven by the plain test client (so Postern's client is not needed to trust it). */
class ScriptedSmtpServerTest {
    static KeyMaterial material;

    @BeforeAll static void certificate() {
        material = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256, Duration.ofDays(2));
    }

    @Test void recordsAPipelinedTransactionWithStuffedAndUnstuffedData() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().size(5000)
                .onRcpt("no@b.example", "550 5.1.1 no such user").start();
             SmtpTestClient c = SmtpTestClient.connect(server.address())) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").lines()).contains("250-PIPELINING", "250 SIZE 5000");
            c.send("MAIL FROM:<a@a.example> SIZE=20\r\nRCPT TO:<no@b.example>\r\nRCPT TO:<yes@b.example>\r\nDATA\r\n");
            assertThat(c.read().code()).isEqualTo(250);
            assertThat(c.read().last()).isEqualTo("550 5.1.1 no such user");
            assertThat(c.read().code()).isEqualTo(250);
            assertThat(c.read().code()).isEqualTo(354);
            c.send("..dot\r\nplain\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<a@a.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<yes@b.example>").code()).isEqualTo(250);
            assertThat(c.command("RSET").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<a@a.example> SIZE=6000").last()).startsWith("552 5.3.4");
            assertThat(c.command("QUIT").code()).isEqualTo(221);
        }
    }

    @Test void transactionsAreRecorded() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining()
                .onRcpt("no@b.example", "550 5.1.1 no such user").start()) {
            try (SmtpTestClient c = SmtpTestClient.connect(server.address())) {
                c.read();
                c.command("EHLO client.test");
                c.send("MAIL FROM:<a@a.example> BODY=8BITMIME\r\nRCPT TO:<no@b.example>\r\nRCPT TO:<yes@b.example>\r\n"
                        + "DATA\r\n");
                for (int i = 0; i < 4; i++) c.read();
                c.send("..dot\r\nplain\r\n.\r\n");
                c.read();
                c.command("MAIL FROM:<>");
                c.command("RCPT TO:<yes@b.example>");
                c.command("QUIT");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> server.connections().size() == 1);
            List<Transaction> ts = server.transactions();
            assertThat(ts).hasSize(2);
            Transaction first = ts.getFirst();
            assertThat(first.mailFrom()).isEqualTo("a@a.example");
            assertThat(first.mailParameters()).isEqualTo("BODY=8BITMIME");
            assertThat(first.recipients()).containsExactly("no@b.example", "yes@b.example");
            assertThat(first.acceptedRecipients()).containsExactly("yes@b.example");
            assertThat(first.pipelined()).isTrue();
            assertThat(new String(first.wireData(), StandardCharsets.US_ASCII)).isEqualTo("..dot\r\nplain\r\n");
            assertThat(first.text()).isEqualTo(".dot\r\nplain\r\n");
            assertThat(first.delivered()).isTrue();
            assertThat(first.usedTls()).isFalse();
            Transaction second = ts.get(1);
            assertThat(second.mailFrom()).isEmpty();
            assertThat(second.pipelined()).isFalse();
            assertThat(second.data()).isNull();
            assertThat(second.delivered()).isFalse();
            assertThat(server.connections().getFirst().transactions()).isEqualTo(2);
        }
    }

    @Test void greeting554RefusesEverythingButQuit() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().greeting("554 5.3.2 no service").start();
             SmtpTestClient c = SmtpTestClient.connect(server.address())) {
            assertThat(c.read().last()).isEqualTo("554 5.3.2 no service");
            assertThat(c.command("EHLO client.test").code()).isEqualTo(503);
            assertThat(c.command("QUIT").code()).isEqualTo(221);
        }
    }

    @Test void greeting421Closes() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().greeting("421 4.3.2 busy").start();
             SmtpTestClient c = SmtpTestClient.connect(server.address())) {
            assertThat(c.read().code()).isEqualTo(421);
            assertThat(c.isClosedByServer()).isTrue();
        }
    }

    @Test void startTlsWithRestrictedProtocolAndSuiteIsRecorded() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().starttls(material).tlsProtocols("TLSv1.2")
                .tlsCipherSuites("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256").on(Verb.DATA_END, "554 5.7.1 no thanks")
                .start()) {
            try (SmtpTestClient c = SmtpTestClient.connect(server.address())) {
                c.read();
                assertThat(c.command("EHLO client.test").lines()).contains("250 STARTTLS");
                assertThat(c.startTls()).isEqualTo("TLSv1.2");
                assertThat(c.command("EHLO client.test").lines()).noneMatch(l -> l.contains("STARTTLS"));
                c.command("MAIL FROM:<a@a.example>");
                c.command("RCPT TO:<b@b.example>");
                c.command("DATA");
                c.send("hi\r\n.\r\n");
                assertThat(c.read().last()).isEqualTo("554 5.7.1 no thanks");
                c.command("QUIT");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> server.connections().size() == 1);
            Transaction t = server.transactions().getFirst();
            // JSSE sends no SNI for a dotless name such as "localhost"
            assertThat(t.tls()).isEqualTo(new ScriptedSmtpServer.TlsInfo("TLSv1.2",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", null));
            assertThat(t.delivered()).isFalse();
            assertThat(t.dataEndReply()).isEqualTo("554 5.7.1 no thanks");
        }
    }

    @Test void startTlsClosedAfterReadyIsRecordedAsAFailure() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().starttls(material)
                .startTlsFailure(ScriptedSmtpServer.StartTlsFailure.CLOSE_AFTER_READY).start();
             SmtpTestClient c = SmtpTestClient.connect(server.address())) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.command("STARTTLS").code()).isEqualTo(220);
            assertThat(c.isClosedByServer()).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> server.connections().size() == 1);
            assertThat(server.connections().getFirst().tlsFailure()).isNotNull();
            assertThat(server.connections().getFirst().tls()).isNull();
        }
    }
}
