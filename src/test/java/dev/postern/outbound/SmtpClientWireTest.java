package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.awaitMailbox;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.ScriptedSmtpServer.ConnectionRecord;
import dev.postern.testkit.ScriptedSmtpServer.StartTlsFailure;
import dev.postern.testkit.ScriptedSmtpServer.Transaction;
import dev.postern.testkit.ScriptedSmtpServer.Verb;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What Postern's SMTP client puts on the wire, seen by a {@link ScriptedSmtpServer}. */
class SmtpClientWireTest {
    @TempDir Path data;

    static final String FROM = "alice@a.example";
    static KeyMaterial material;

    @BeforeAll static void certificate() {
        material = Certificates.selfSigned(List.of("mx.b.example"), Certificates.KeyType.EC_P256, Duration.ofDays(2));
    }

    private Gateway gateway(ScriptedSmtpServer server) throws Exception {
        return Gateway.start(Outbound.relayingTo(data, server.port(), "b.example"));
    }

    @Test void startTlsWhenOfferedWithTls13() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(material).start();
             Gateway gw = gateway(server)) {
            submit(gw, FROM, List.of("bob@b.example"), body("tls", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            Transaction t = server.delivered().getFirst();
            assertThat(t.usedTls()).isTrue();
            assertThat(t.tls().protocol()).isEqualTo("TLSv1.3");
            assertThat(t.tls().cipherSuite()).isIn("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                    "TLS_AES_128_GCM_SHA256");
            assertThat(t.tls().sni()).isNull(); // the route names an IP literal: no SNI (RFC 6066)
            // EHLO again after the handshake, and the transaction inside TLS only
            assertThat(t.commands()).startsWith("EHLO " + Outbound.HOSTNAME, "STARTTLS", "EHLO " + Outbound.HOSTNAME);
            awaitEmptySpool(gw);
        }
    }

    @Test void connectionsAreReusedWithTlsKeptUpThenClosedWhenIdle() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(material).start();
             Gateway gw = gateway(server)) {
            sendTwo(gw, server);
            // One connection, one TLS handshake, two transactions; no RSET round trip before the second: the server
            // pipelines, so the second MAIL's reply tells whether the connection is still there.
            assertThat(server.connectionCount()).isEqualTo(1);
            List<Transaction> both = server.delivered();
            assertThat(both.get(1).connection()).isEqualTo(both.get(0).connection());
            assertThat(both.get(1).usedTls()).isTrue();
            assertThat(both.get(1).commands()).containsSubsequence("STARTTLS", "MAIL FROM:<" + FROM + ">"
                    + both.get(1).mailParameters()).doesNotContain("RSET");
            // Idle for longer than the cache time: Postern says QUIT and the connection ends.
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !server.connections().isEmpty()
                    && server.connections().getFirst().commands().contains("QUIT"));
            awaitEmptySpool(gw);
        }
    }

    /** Two messages, one after the other (the second may reuse the first's connection). */
    private static void sendTwo(Gateway gw, ScriptedSmtpServer server) throws Exception {
        submit(gw, FROM, List.of("bob@b.example"), body("first", "Hello"));
        eventually().until(() -> server.delivered().size() == 1);
        submit(gw, FROM, List.of("carol@b.example"), body("second", "Hello again"));
        eventually().until(() -> server.delivered().size() == 2);
    }

    @Test void withoutPipeliningACachedConnectionIsProbedWithRset() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().starttls(material).start();
             Gateway gw = gateway(server)) {
            sendTwo(gw, server);
            assertThat(server.connectionCount()).isEqualTo(1);
            assertThat(server.delivered().get(1).commands()).containsSubsequence("STARTTLS", "RSET",
                    "MAIL FROM:<" + FROM + ">" + server.delivered().get(1).mailParameters());
            awaitEmptySpool(gw);
        }
    }

    /**
     * A cached connection that the server timed out (421, RFC 5321 §4.2.2) or dropped while it sat in the cache is
     * not a failed delivery: the message goes at once over a new connection, not after a retry interval.
     */
    @ParameterizedTest
    @ValueSource(strings = {"421 4.4.2 idle too long, closing", "DISCONNECT"})
    void aCachedConnectionFoundGoneIsReplacedAtOnce(String second) throws Exception {
        var mails = new java.util.concurrent.atomic.AtomicInteger();
        String reply = second.equals("DISCONNECT") ? ScriptedSmtpServer.DISCONNECT : second;
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(material)
                .on(Verb.MAIL, argument -> mails.incrementAndGet() == 2 ? reply : null).start();
             Gateway gw = Gateway.start(longFirstRetry(Outbound.relayingTo(data, server.port(), "b.example")))) {
            submit(gw, FROM, List.of("bob@b.example"), body("first", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            long sent = System.nanoTime();
            submit(gw, FROM, List.of("carol@b.example"), body("second", "Hello again"));
            eventually().until(() -> server.delivered().size() == 2);
            assertThat(Duration.ofNanos(System.nanoTime() - sent)).isLessThan(Duration.ofSeconds(20));
            List<Transaction> both = server.delivered();
            assertThat(both.get(1).connection()).isNotEqualTo(both.get(0).connection());
            assertThat(both.get(1).recipients()).containsExactly("carol@b.example");
            assertThat(server.connectionCount()).isEqualTo(2);
            awaitEmptySpool(gw);
        }
    }

    /** A failed attempt would wait ten minutes: whatever arrives sooner was not deferred. */
    private static dev.postern.config.Config longFirstRetry(dev.postern.config.Config c) {
        var q = c.queue();
        return dev.postern.testkit.TestConfigs.withQueue(c, new dev.postern.config.Config.Queue(Duration.ofMinutes(10),
                Duration.ofMinutes(30), q.lifetime(), q.delayWarning()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"CLOSE_AFTER_READY", "GARBAGE_AFTER_READY", "TLS_1_0_ONLY", "REFUSE"})
    void failedStartTlsIsRetriedOnceInClearText(String how) throws Exception {
        // A failed handshake is first retried with the broad suite set (RFC 7435), which fails here as well; a
        // refused STARTTLS goes straight to clear text.
        boolean handshake = !how.equals("REFUSE");
        ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(material);
        if (how.equals("TLS_1_0_ONLY")) server.tlsProtocols("TLSv1");
        else server.startTlsFailure(StartTlsFailure.valueOf(how));
        try (server; Gateway gw = gateway(server.start())) {
            submit(gw, FROM, List.of("bob@b.example"), body("tls fallback", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            awaitEmptySpool(gw);
            List<ConnectionRecord> connections = server.connections();
            assertThat(connections).hasSize(handshake ? 3 : 2);
            for (ConnectionRecord failed : connections.subList(0, connections.size() - 1)) {
                assertThat(failed.commands()).contains("STARTTLS").noneMatch(c -> c.startsWith("MAIL"));
                assertThat(failed.tls()).isNull();
                if (handshake) assertThat(failed.tlsFailure()).isNotNull();
            }
            ConnectionRecord clear = connections.getLast();
            assertThat(clear.commands()).doesNotContain("STARTTLS");
            Transaction t = server.delivered().getFirst();
            assertThat(t.connection()).isEqualTo(clear.number());
            assertThat(t.usedTls()).isFalse();
            assertThat(t.recipients()).containsExactly("bob@b.example");
        }
    }

    @Test void messageLargerThanTheAdvertisedSizeBouncesWithoutMailOrData() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().size(1000).start();
             Gateway gw = gateway(server)) {
            submit(gw, FROM, List.of("bob@b.example"), body("too big", "x".repeat(2000)));
            String dsn = awaitMailbox(data, FROM, 1).getFirst();
            assertThat(dsn).contains("Action: failed", "Final-Recipient: rfc822; bob@b.example", "Status: 5.3.4",
                    "limit 1000 bytes", "Subject: too big");
            awaitEmptySpool(gw);
            eventually().until(() -> server.connections().size() == 1);
            assertThat(server.connections().getFirst().commands())
                    .noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT") || c.equals("DATA"));
            assertThat(server.transactions()).isEmpty();
        }
    }

    @Test void sizeIsDeclaredWhenOffered() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().size(100_000).start();
             Gateway gw = gateway(server)) {
            String id = submit(gw, FROM, List.of("bob@b.example"), body("size", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            Transaction t = server.delivered().getFirst();
            assertThat(t.mailParameters()).isEqualTo("SIZE=" + t.data().length);
            assertThat(id).isNotBlank();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void pipeliningIsUsedExactlyWhenOffered(boolean offered) throws Exception {
        ScriptedSmtpServer server = ScriptedSmtpServer.create();
        if (offered) server.pipelining();
        try (server; Gateway gw = gateway(server.start())) {
            submit(gw, FROM, List.of("bob@b.example", "carol@b.example"), body("pipelining", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            Transaction t = server.delivered().getFirst();
            assertThat(t.pipelined()).isEqualTo(offered);
            assertThat(t.acceptedRecipients()).containsExactly("bob@b.example", "carol@b.example");
            assertThat(t.commands()).endsWith("MAIL FROM:<alice@a.example>", "RCPT TO:<bob@b.example>",
                    "RCPT TO:<carol@b.example>", "DATA");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void refusedMailFromWhilePipeliningDefersTheMessage(boolean pipelining) throws Exception {
        ScriptedSmtpServer server = ScriptedSmtpServer.create().on(Verb.MAIL, "452 4.3.1 insufficient storage");
        if (pipelining) server.pipelining();
        try (server; Gateway gw = gateway(server.start())) {
            String id = submit(gw, FROM, List.of("bob@b.example"), body("mail refused", "Hello"));
            var env = Outbound.awaitEnvelope(gw, id, e -> e.recipients().getFirst().attempts() == 1);
            assertThat(env.recipients().getFirst().lastResult()).contains("452 4.3.1 insufficient storage");
            assertThat(server.transactions().getFirst().wireData()).isNull();
            server.clear(Verb.MAIL);
            eventually().until(() -> server.delivered().size() == 1);
            awaitEmptySpool(gw);
            assertThat(Outbound.mailbox(data, FROM)).isEmpty();
        }
    }

    @Test void heloWhenEhloIsNotUnderstood() throws Exception {
        // STARTTLS would be offered to EHLO, but after HELO the client knows of no extension and stays in clear text.
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().eightBitMime().size(100_000)
                .starttls(material).on(Verb.EHLO, "502 5.5.2 EHLO not implemented").start();
             Gateway gw = gateway(server)) {
            submit(gw, FROM, List.of("bob@b.example"), body("helo", "Hello"));
            eventually().until(() -> server.delivered().size() == 1);
            Transaction t = server.delivered().getFirst();
            assertThat(t.commands()).containsExactly("EHLO " + Outbound.HOSTNAME, "HELO " + Outbound.HOSTNAME,
                    "MAIL FROM:<alice@a.example>", "RCPT TO:<bob@b.example>", "DATA");
            assertThat(t.helo()).isEqualTo("HELO " + Outbound.HOSTNAME);
            assertThat(t.usedTls()).isFalse();
            assertThat(t.pipelined()).isFalse();
        }
    }

    @Test void dotsAreStuffedOnTheWireAndTheMessageArrivesUnchanged() throws Exception {
        String text = ".leading dot\r\n..two dots\r\n.\r\n...\r\nmiddle . dot\r\n. space after dot\r\n.";
        String original = body("dots", text);
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().start();
             Gateway gw = gateway(server)) {
            submit(gw, FROM, List.of("bob@b.example"), original);
            eventually().until(() -> server.delivered().size() == 1);
            Transaction t = server.delivered().getFirst();
            String received = t.text();
            String wire = new String(t.wireData(), StandardCharsets.UTF_8);
            // Postern's copy is its Received header, then the message byte for byte.
            assertThat(received).startsWith("Received: from client.test").endsWith(original);
            assertThat(received.substring(0, received.length() - original.length()).split("\r\n(?![ \t])"))
                    .hasSize(1);
            assertThat(wire).isEqualTo(Outbound.stuff(received));
            assertThat(wire).contains("\r\n..leading dot\r\n", "\r\n...two dots\r\n", "\r\n..\r\n", "\r\n....\r\n",
                    "\r\nmiddle . dot\r\n", "\r\n.. space after dot\r\n");
            assertThat(wire).endsWith("\r\n..\r\n");
        }
    }

    @Test void eightBitMimeDeclaredForEightBitMessagesWhenOffered() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().eightBitMime().start();
             Gateway gw = gateway(server)) {
            String eightBit = body("8bit", "caf\u00e9 cr\u00e8me");
            submit(gw, FROM, List.of("bob@b.example"), eightBit, "BODY=8BITMIME");
            submit(gw, FROM, List.of("carol@b.example"), body("7bit", "plain"), "BODY=7BIT");
            eventually().until(() -> server.delivered().size() == 2);
            Transaction eight = server.delivered().stream()
                    .filter(t -> t.recipients().contains("bob@b.example")).findFirst().orElseThrow();
            Transaction seven = server.delivered().stream()
                    .filter(t -> t.recipients().contains("carol@b.example")).findFirst().orElseThrow();
            assertThat(eight.mailParameters()).isEqualTo("BODY=8BITMIME");
            assertThat(eight.text()).endsWith(eightBit);
            assertThat(seven.mailParameters()).isEmpty();
        }
    }

    @Test void noBodyParameterWhenTheServerDoesNotOfferEightBitMime() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().start();
             Gateway gw = gateway(server)) {
            submit(gw, FROM, List.of("bob@b.example"), body("8bit", "caf\u00e9"), "BODY=8BITMIME");
            eventually().until(() -> server.delivered().size() == 1);
            assertThat(server.delivered().getFirst().mailParameters()).doesNotContain("BODY");
        }
    }

    @Test void dsnToAnAsciiSenderNeedsNoSmtputf8() throws Exception {
        // The original needed SMTPUTF8 (a UTF-8 recipient) and failed for it; the sender's address is ASCII, so the
        // DSN must not demand SMTPUTF8 from the sender's server (which lacks it too).
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().eightBitMime().start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example", "c.example"))) {
            submit(gw, "carol@c.example", List.of("j\u00f6rg@b.example"), body("utf8", "Hello"), "SMTPUTF8");
            eventually().until(() -> server.delivered().size() == 1);
            awaitEmptySpool(gw);
            Transaction dsn = server.delivered().getFirst();
            assertThat(dsn.mailFrom()).isEmpty();
            assertThat(dsn.recipients()).containsExactly("carol@c.example");
            assertThat(dsn.mailParameters()).doesNotContain("SMTPUTF8");
            assertThat(dsn.text()).contains("Status: 5.6.7", "Action: failed");
        }
    }
}
