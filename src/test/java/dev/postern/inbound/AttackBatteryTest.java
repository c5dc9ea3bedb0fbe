package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.Leaks;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 17: the known attacks on an SMTP server, each against a real gateway on loopback with the exact reply it must
 * give, and a real next hop ({@link ScriptedSmtpServer}, the route of the relay domain relay.example) that shows
 * nothing was relayed. The client is unauthorised everywhere: loopback is not in this gateway's relay networks.
 *
 * <p>Covered elsewhere, not repeated here: STARTTLS injection on the MX listener and five DATA smuggling endings
 * ({@link InboundSessionTest}), junk and pipelining floods ({@link InboundJunkAndLoopTest}), a text line over 1,000
 * octets accepted and broken for the next hop ({@code outbound.LongLinesTest}).
 */
class AttackBatteryTest {
    @TempDir static java.nio.file.Path data;
    static ScriptedSmtpServer nextHop;
    static Gateway gateway;
    static InetSocketAddress mx;
    static InetSocketAddress submission;

    static final String RELAY_DENIED = "554 5.7.1 Relay access denied";
    static final String ROUTING_TRICK = "554 5.7.1 Source routes, %-hacks and quoted @ are not relayed";
    static final String SMUGGLING = "554 5.6.0 Message refused: bare CR or LF in message data (lines must end with CRLF)";
    static final String BARE_IN_COMMAND = "500 5.5.2 Bare CR or LF in command; lines must end with CRLF";
    static final String NEEDS_SMTPUTF8 = "553 5.6.7 Non-ASCII address requires SMTPUTF8";

    @BeforeAll static void start() throws Exception {
        nextHop = ScriptedSmtpServer.create().pipelining().smtputf8().start();
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, "gw.test", Set.of("postern.test")),
                Set.of("relay.example"), Map.of("relay.example", new Config.Route("127.0.0.1", nextHop.port(), false)));
        // relay networks elsewhere (TEST-NET-1): the loopback client may relay only to relay.example
        c = new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                List.of(TestConfigs.network("192.0.2.0", 24)), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(),
                c.routes(), c.outboundTls(), c.inbound());
        gateway = Gateway.start(c);
        mx = gateway.boundAddresses().get(0);
        submission = gateway.boundAddresses().get(1);
    }

    @AfterAll static void stop() {
        await().atMost(Duration.ofSeconds(20)).until(() -> gateway.spool().list().isEmpty());
        gateway.close();
        nextHop.close();
    }

    /** Greeted, EHLO said; on the submission listener inside TLS (it refuses MAIL in clear text). */
    private static SmtpTestClient hello(InetSocketAddress where) throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(where);
        assertThat(c.read().code()).isEqualTo(220);
        assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        if (where.equals(submission)) {
            c.startTls();
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        }
        return c;
    }

    /** The recipients of this class's control messages, the only ones the next hop may ever be given. */
    static final Set<String> CONTROLS = Set.of("MX@relay.example", "SUBMISSION@relay.example",
            "helo-check@relay.example");

    /** Nothing but a control message reached the next hop (test methods run one after another). */
    private static void nothingRelayed() {
        List<String> given = nextHop.transactions().stream().flatMap(t -> t.recipients().stream()).toList();
        assertThat(given).isSubsetOf(CONTROLS);
    }

    // ---- STARTTLS command injection (RFC 3207 §6; CVE-2011-0411), on the submission listener

    @Test void commandsPipelinedAfterStarttlsOnTheSubmissionPortAreDiscarded() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(submission)) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            // In one packet: had they run inside TLS, the EHLO below would get MAIL's or RCPT's reply
            c.send("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<victim@elsewhere.example>\r\n");
            assertThat(c.read().last()).isEqualTo("220 2.0.0 Ready to start TLS");
            c.handshake();
            assertThat(c.command("EHLO client.test").lines().getFirst()).startsWith("250-gw.test greets client.test");
            assertThat(c.command("RCPT TO:<user@postern.test>").last()).isEqualTo("503 5.5.1 Send MAIL first");
        }
    }

    // ---- SMTP smuggling: every bogus end of data, by DATA and by BDAT, aimed at the relay domain

    static final List<String> BOGUS_ENDINGS = List.of("\n.\n", "\r.\r", "\n.\r\n", "\r.\n", "\r\n.\n", "\r\n.\r",
            "\n.\r", "\r.\r\n");

    /** A session on the MX listener with a transaction to carrier@relay.example open. */
    private static SmtpTestClient carrier() throws IOException {
        SmtpTestClient c = hello(mx);
        assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
        assertThat(c.command("RCPT TO:<carrier@relay.example>").code()).isEqualTo(250);
        return c;
    }

    @Test void smugglingByDataNeverMakesASecondMessage() throws Exception {
        for (String ending : BOGUS_ENDINGS) {
            String name = ending.replace("\r", "<CR>").replace("\n", "<LF>");
            try (SmtpTestClient c = carrier()) {
                assertThat(c.command("DATA").code()).isEqualTo(354);
                c.send("Subject: carrier\r\n\r\nhello" + ending + "MAIL FROM:<ceo@bank.example>\r\n"
                        + "RCPT TO:<smuggled@relay.example>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n.\r\n");
                assertThat(c.read().last()).as(name).isEqualTo(SMUGGLING);
                assertThat(c.command("NOOP").last()).as(name + ": in step").isEqualTo("250 2.0.0 Ok");
            }
        }
        nothingRelayed();
    }

    @Test void smugglingByBdatIsRefusedToo() throws Exception {
        for (String ending : BOGUS_ENDINGS) {
            String name = ending.replace("\r", "<CR>").replace("\n", "<LF>");
            try (SmtpTestClient c = carrier()) {
                String chunk = "Subject: carrier\r\n\r\nhello" + ending + "MAIL FROM:<ceo@bank.example>\r\n"
                        + "RCPT TO:<smuggled@relay.example>\r\nDATA\r\nforged\r\n.\r\n";
                c.send("BDAT " + chunk.getBytes(StandardCharsets.UTF_8).length + " LAST\r\n" + chunk);
                assertThat(c.read().last()).as(name).isEqualTo(SMUGGLING);
                assertThat(c.command("NOOP").last()).as(name + ": in step").isEqualTo("250 2.0.0 Ok");
            }
        }
        try (SmtpTestClient c = hello(mx)) { // a bare ending split across two chunks is seen too
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<carrier@relay.example>").code()).isEqualTo(250);
            c.send("BDAT 10\r\nSubject: x");
            assertThat(c.read().last()).isEqualTo("250 2.0.0 10 octets received");
            c.send("BDAT 7\r\n\r\n\r\nab\r"); // ends in a CR: bare or not, the next chunk tells
            assertThat(c.read().last()).isEqualTo("250 2.0.0 7 octets received");
            c.send("BDAT 2 LAST\r\n.\n");
            assertThat(c.read().last()).isEqualTo(SMUGGLING);
        }
        nothingRelayed();
    }

    // ---- open-relay tricks: none relays for an unauthorised client, on either listener

    /** Each recipient and the exact reply; the relay domain itself (the last ones) is the control. */
    static final List<List<String>> RELAY_TRICKS = List.of(
            List.of("RCPT TO:<victim@elsewhere.example>", RELAY_DENIED),
            List.of("RCPT TO:<victim%elsewhere.example@postern.test>", ROUTING_TRICK),
            List.of("RCPT TO:<victim%elsewhere.example@relay.example>", ROUTING_TRICK),
            List.of("RCPT TO:<@postern.test:victim@elsewhere.example>", RELAY_DENIED),
            List.of("RCPT TO:<@postern.test,@relay.example:victim@elsewhere.example>", RELAY_DENIED),
            List.of("RCPT TO:<@elsewhere.example:victim@relay.example>", ROUTING_TRICK),
            List.of("RCPT TO:<\"victim@elsewhere.example\"@postern.test>", ROUTING_TRICK),
            List.of("RCPT TO:<\"victim@elsewhere.example\"@relay.example>", ROUTING_TRICK),
            List.of("RCPT TO:<victim@[10.0.0.1]>", RELAY_DENIED),
            List.of("RCPT TO:<victim@[127.0.0.1]>", RELAY_DENIED),
            List.of("RCPT TO:<victim@[IPv6:::1]>", RELAY_DENIED),
            List.of("RCPT TO:<elsewhere.example!victim@postern.test>", ROUTING_TRICK),
            List.of("RCPT TO:<elsewhere.example!victim@relay.example>", ROUTING_TRICK),
            List.of("RCPT TO:<victim@elsewhere.example.>", RELAY_DENIED),
            List.of("RCPT TO:<victim@relay.example.elsewhere.example>", RELAY_DENIED),
            List.of("RCPT TO:<victim@elsewhere.example.relay.example>", RELAY_DENIED),
            List.of("RCPT TO:<victim@relay.example..>", "501 5.1.3 Bad recipient address syntax: bad domain: empty label"),
            List.of("RCPT TO:<victim@elsewhere.example@relay.example>",
                    "501 5.1.3 Bad recipient address syntax: bad domain: invalid character '@'"),
            List.of("RCPT TO:<victim@elsewhere.example>@relay.example",
                    "501 5.1.3 Bad recipient address syntax: unexpected text after path"),
            List.of("RCPT TO:<victim@relay\u0000.example>",
                    "501 5.1.3 Bad recipient address syntax: bad domain: invalid character U+0000"),
            List.of("RCPT TO:<Postmaster@elsewhere.example>", RELAY_DENIED),
            // confusables of relay.example: Cyrillic е, Latin capital I for l, a different dot
            List.of("RCPT TO:<victim@r\u0435lay.example>", NEEDS_SMTPUTF8),
            List.of("RCPT TO:<victim@relay.exampIe>", RELAY_DENIED));

    @ParameterizedTest @EnumSource(value = Config.Role.class, names = {"MX", "SUBMISSION"})
    void openRelayTricksAreRefused(Config.Role role) throws Exception {
        InetSocketAddress where = role == Config.Role.MX ? mx : submission;
        int done = 0;
        while (done < RELAY_TRICKS.size()) { // a new session before max_errors (10) ends one
            try (SmtpTestClient c = hello(where)) {
                assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
                for (int i = 0; i < 8 && done < RELAY_TRICKS.size(); i++, done++) {
                    List<String> trick = RELAY_TRICKS.get(done);
                    assertThat(c.command(trick.get(0)).last()).as(role + " " + trick.get(0)).isEqualTo(trick.get(1));
                }
            }
        }
        try (SmtpTestClient c = hello(where)) {
            assertThat(c.command("MAIL FROM:<a@client.test> SMTPUTF8").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<victim@r\u0435lay.example>").last()).isEqualTo(RELAY_DENIED);
            assertThat(c.command("RCPT TO:<victim@elsewhere\u3002example>").last()).isEqualTo(RELAY_DENIED);
            // the relay domain in any case and spelling is that domain, delivered to its next hop as relay.example
            assertThat(c.command("RCPT TO:<" + role + "@RELAY.Example.>").last()).isEqualTo("250 2.1.5 Recipient ok");
            assertThat(c.command("RCPT TO:<victim@elsewhere.example>").last()).isEqualTo(RELAY_DENIED);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            assertThat(c.command("Subject: control\r\n\r\nthe one message that may pass\r\n.").last())
                    .startsWith("250 2.0.0 Ok: queued as ");
        }
        String control = role + "@relay.example";
        await().atMost(Duration.ofSeconds(15)).until(() -> nextHop.delivered().stream()
                .anyMatch(t -> t.recipients().contains(control)));
        nothingRelayed();
    }

    // ---- header injection through envelope addresses; NUL bytes; 8-bit bytes; over-long lines

    @Test void crLfAndNulInEnvelopeAddressesNeverGetIn() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            c.send("MAIL FROM:<a@client.test>\rX-Injected: yes\r\n");
            assertThat(c.read().last()).isEqualTo(BARE_IN_COMMAND);
            // a bare LF ends the line it is in: what follows is a command of its own, and no known one
            c.send("MAIL FROM:<a@client.test>\nX-Injected: yes\r\n");
            assertThat(c.read().last()).isEqualTo(BARE_IN_COMMAND);
            assertThat(c.read().last()).isEqualTo("500 5.5.1 Unrecognized command");
            c.send("MAIL FROM:<\"a\rX-Injected: yes\"@client.test>\r\n");
            assertThat(c.read().last()).isEqualTo(BARE_IN_COMMAND);
            assertThat(c.command("MAIL FROM:<a\u0000b@client.test>").last())
                    .isEqualTo("501 5.1.7 Bad sender address syntax: bad local part");
            assertThat(c.command("MAIL FROM:<\"a\u0000b\"@client.test>").last())
                    .isEqualTo("501 5.1.7 Bad sender address syntax: bad quoted local part");
            assertThat(c.command("MAIL FROM:<\"a\\\u0000b\"@client.test>").last())
                    .isEqualTo("501 5.1.7 Bad sender address syntax: bad quoted local part");
            assertThat(c.command("MAIL FROM:<a@client.test> ENVID=x\u0000y").last())
                    .isEqualTo("501 5.1.7 Bad sender address syntax: malformed parameter");
            assertThat(c.command("MAIL FROM:<a@client.test>").last()).isEqualTo("250 2.1.0 Sender ok");
        }
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            c.send("RCPT TO:<user@relay.example>\r\nX-Injected: yes\r\n");
            assertThat(c.read().last()).isEqualTo("250 2.1.5 Recipient ok");
            assertThat(c.read().last()).isEqualTo("500 5.5.1 Unrecognized command");
            c.send("RCPT TO:<\"x\nX-Injected: yes\"@relay.example>\r\n");
            assertThat(c.read().last()).isEqualTo(BARE_IN_COMMAND);
            assertThat(c.read().last()).isEqualTo("500 5.5.1 Unrecognized command");
            assertThat(c.command("RCPT TO:<us\u0000er@relay.example>").last())
                    .isEqualTo("501 5.1.3 Bad recipient address syntax: bad local part");
        }
        nothingRelayed();
    }

    /** A HELO name with a NUL, controls and comment characters: the Received header the next hop gets is one field. */
    @Test void nulAndControlsInEhloStayOutOfTheReceivedHeader() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO evil\u0000(x);\u0007host").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<helo-check@relay.example>").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            assertThat(c.command("Subject: helo\r\n\r\nbody\r\n.").code()).isEqualTo(250);
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> nextHop.delivered().stream()
                .anyMatch(t -> t.recipients().contains("helo-check@relay.example")));
        String text = nextHop.delivered().stream().filter(t -> t.recipients().contains("helo-check@relay.example"))
                .findFirst().orElseThrow().text();
        String received = text.substring(0, text.indexOf("\r\nSubject: helo"));
        assertThat(received).startsWith("Received: from evil__x___host (")
                .doesNotContain("\u0000", "\u0007");
        assertThat(received.split("\r\n")).allMatch(l -> l.startsWith("Received: ") || l.startsWith("\t"));
    }

    @Test void nulBytesAnywhereInACommand() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("\u0000").last()).isEqualTo("500 5.5.1 Unrecognized command");
            assertThat(c.command("NO\u0000OP").last()).isEqualTo("500 5.5.1 Unrecognized command");
            assertThat(c.command("MAIL\u0000FROM:<a@client.test>").last()).isEqualTo("500 5.5.1 Unrecognized command");
            assertThat(c.command("STARTTLS\u0000").last()).isEqualTo("500 5.5.1 Unrecognized command");
            assertThat(c.command("NOOP \u0000").last()).isEqualTo("250 2.0.0 Ok");
            assertThat(c.command("MAIL FROM:<a@client.test>\u0000").last())
                    .isEqualTo("501 5.1.7 Bad sender address syntax: unexpected text after path");
            assertThat(c.command("MAIL FROM:<a@client.test>").last()).isEqualTo("250 2.1.0 Sender ok");
        }
    }

    @Test void eightBitWithoutSmtputf8() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            // Latin-1 ö: not UTF-8 at all
            c.sendBytes("MAIL FROM:<j\u00f6rg@client.test>\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(c.read().last()).isEqualTo("501 5.1.7 Bad sender address syntax: bad local part");
            // UTF-8, but SMTPUTF8 not asked for (RFC 6531 §3.2: 553 5.6.7)
            assertThat(c.command("MAIL FROM:<jörg@client.test>").last()).isEqualTo(NEEDS_SMTPUTF8);
            assertThat(c.command("MAIL FROM:<a@bücher.example>").last()).isEqualTo(NEEDS_SMTPUTF8);
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<jörg@relay.example>").last()).isEqualTo(NEEDS_SMTPUTF8);
            assertThat(c.command("RCPT TO:<\"j ö\"@relay.example>").last()).isEqualTo(NEEDS_SMTPUTF8);
            c.sendBytes("RCPT TO:<\u00ff@relay.example>\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(c.read().last()).isEqualTo("501 5.1.3 Bad recipient address syntax: bad local part");
            c.sendBytes("\u00ff\u00fe\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(c.read().last()).isEqualTo("500 5.5.1 Unrecognized command");
        }
        nothingRelayed();
    }

    /** max_line_length (2048, Postfix's line_length_limit; RFC 5321's 512 may be raised by extensions). */
    @Test void overLongCommandLines() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("NOOP " + "x".repeat(2048 - 5)).last()).isEqualTo("250 2.0.0 Ok");
            assertThat(c.command("NOOP " + "x".repeat(2048 - 4)).last()).isEqualTo("500 5.5.2 Line too long");
            assertThat(c.command("MAIL FROM:<a@client.test> " + "X".repeat(100_000)).last())
                    .isEqualTo("500 5.5.2 Line too long");
            assertThat(c.command("MAIL FROM:<a@client.test>").last()).isEqualTo("250 2.1.0 Sender ok");
        }
    }

    // ---- TLS renegotiation

    /**
     * A TLS 1.2 client asks for a renegotiation (the JDK's second startHandshake): the listener refuses it (the JDK
     * with jdk.tls.rejectClientInitiatedRenegotiation, which Main sets; BoringSSL in Conscrypt never renegotiates as
     * a server) and the session ends cleanly; five attempts leave no socket behind.
     */
    @ParameterizedTest @EnumSource(value = Config.TlsProvider.class, names = {"JDK", "CONSCRYPT"})
    void clientInitiatedRenegotiationIsRefused(Config.TlsProvider provider) throws Exception {
        // the class gateway's certificate: generating an RSA one takes seconds on a busy machine
        Config config = TestConfigs.withTls(TestConfigs.gateway(data.resolve(provider.name()), "gw.test",
                Set.of("postern.test")), data.resolve("tls/self-signed.crt"), data.resolve("tls/self-signed.key"));
        try (Gateway g = Gateway.start(TestConfigs.withTlsProvider(config, provider))) {
            InetSocketAddress where = g.boundAddresses().get(0);
            for (int i = 0; i < 5; i++) {
                try (SmtpTestClient c = SmtpTestClient.connect(where)) {
                    assertThat(c.read().code()).isEqualTo(220);
                    assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
                    assertThat(c.startTls(p -> p.setProtocols(new String[] {"TLSv1.2"}))).isEqualTo("TLSv1.2");
                    assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
                    SSLSocket ssl = (SSLSocket) c.socket();
                    byte[] first = ssl.getSession().getId();
                    boolean refused;
                    try {
                        ssl.startHandshake();
                        // some stacks answer only when data flows: the next command must then fail
                        c.command("NOOP");
                        refused = false;
                    } catch (IOException e) {
                        refused = true;
                    }
                    assertThat(refused).as("%s: renegotiation refused (session %s)", provider,
                            java.util.HexFormat.of().formatHex(first)).isTrue();
                    assertThat(c.isClosedByServer()).isTrue();
                }
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.socketsOnPort(where.getPort()) == 0);
        }
    }
}
