package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server side of SMTP against real sockets and real TLS: every reply code that matters, and every attack. */
class InboundSessionTest {
    @TempDir static Path data;
    static Gateway gateway;
    static InetSocketAddress mx;
    static InetSocketAddress submission;
    static InetSocketAddress submissions;

    @BeforeAll static void start() throws Exception {
        // xn--bcher-kva.test: bücher.test in the lookup form the config loader gives
        Config c = TestConfigs.gateway(data, "gw.test", Set.of("postern.test", "localhost", "xn--bcher-kva.test"));
        c = TestConfigs.withLimits(c, new Config.Limits(1000, 64 * 1024, 5, 10, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofMinutes(5), 100, 100));
        gateway = Gateway.start(c);
        List<InetSocketAddress> bound = gateway.boundAddresses();
        mx = bound.get(0);
        submission = bound.get(1);
        submissions = bound.get(2);
    }

    @AfterAll static void stop() {
        gateway.close();
    }

    private static SmtpTestClient hello(InetSocketAddress where) throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(where);
        assertThat(c.read().last()).startsWith("220 gw.test ESMTP");
        assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        return c;
    }

    @Test void ehloAdvertisesTheExtensions() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            SmtpTestClient.Response r = c.command("EHLO client.test");
            assertThat(r.lines()).contains("250-PIPELINING", "250-SIZE 65536", "250-8BITMIME",
                    "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250-CHUNKING", "250 SMTPUTF8");
            c.startTls();
            assertThat(c.command("EHLO client.test").lines()).doesNotContain("250-STARTTLS")
                    .contains("250-PIPELINING");
        }
    }

    @Test void sequenceAndSyntaxErrorsGetPreciseCodes() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            c.read();
            assertThat(c.command("MAIL FROM:<a@b.example>").last()).startsWith("503 5.5.1");
            assertThat(c.command("FOO bar").last()).startsWith("500 5.5.1");
            assertThat(c.command("EHLO").last()).startsWith("501 5.5.4");
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<x@postern.test>").last()).startsWith("503 5.5.1");
            assertThat(c.command("DATA").last()).startsWith("503 5.5.1");
            assertThat(c.command("MAIL FROM:a@b.example").last()).startsWith("501 5.1.7");
            assertThat(c.command("MAIL FROM:<a@b.example> FOO=1").last()).startsWith("555 5.5.4");
            assertThat(c.command("MAIL FROM:<a@b.example> BODY=BINARYMIME").last()).startsWith("501 5.5.4");
        }
        try (SmtpTestClient c = hello(mx)) { // a second session: the first is near the error limit
            assertThat(c.command("MAIL FROM:<a@b.example>").last()).startsWith("250 2.1.0");
            assertThat(c.command("MAIL FROM:<a@b.example>").last()).startsWith("503 5.5.1");
            assertThat(c.command("RCPT TO:<bad address>").last()).startsWith("501 5.1.3");
            assertThat(c.command("DATA").last()).startsWith("554 5.5.1");
            assertThat(c.command("VRFY someone").last()).startsWith("252 2.5.0");
            assertThat(c.command("NOOP").last()).startsWith("250 2.0.0");
            assertThat(c.command("RSET").last()).startsWith("250 2.0.0");
            assertThat(c.command("QUIT").last()).startsWith("221 2.0.0");
            assertThat(c.isClosedByServer()).isTrue();
        }
    }

    @Test void mxRoleIsNoOpenRelay() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("MAIL FROM:<spammer@evil.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<victim@elsewhere.example>").last()).startsWith("554 5.7.1");
            assertThat(c.command("RCPT TO:<victim%elsewhere.example@postern.test>").last()).startsWith("554 5.7.1");
            assertThat(c.command("RCPT TO:<victim!elsewhere.example@postern.test>").last()).startsWith("554 5.7.1");
            assertThat(c.command("RCPT TO:<@postern.test:victim@elsewhere.example>").last()).startsWith("554 5.7.1");
            assertThat(c.command("RCPT TO:<\"victim@elsewhere.example\"@elsewhere.example>").last())
                    .startsWith("554 5.7.1");
            assertThat(c.command("RCPT TO:<user@postern.test>").last()).startsWith("250 2.1.5");
            assertThat(c.command("RCPT TO:<Postmaster>").last()).startsWith("250 2.1.5");
        }
    }

    @Test void submissionRequiresStartTlsAndThenRelaysForLoopback() throws Exception {
        try (SmtpTestClient c = hello(submission)) {
            assertThat(c.command("MAIL FROM:<me@postern.test>").last()).startsWith("530 5.7.0");
            assertThat(c.command("RCPT TO:<you@elsewhere.example>").last()).startsWith("530 5.7.0");
            assertThat(c.command("NOOP").code()).isEqualTo(250);
            assertThat(c.startTls()).isIn("TLSv1.3", "TLSv1.2");
            assertThat(c.command("MAIL FROM:<me@postern.test>").last()).startsWith("503 5.5.1"); // EHLO again first
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<me@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<you@elsewhere.example>").last()).startsWith("250 2.1.5");
        }
    }

    @Test void implicitTlsSubmissionGreetsInsideTls() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connectTls(submissions)) {
            assertThat(c.read().last()).startsWith("220 gw.test");
            SmtpTestClient.Response ehlo = c.command("EHLO client.test");
            assertThat(ehlo.lines()).doesNotContain("250-STARTTLS");
            assertThat(c.command("MAIL FROM:<me@postern.test>").code()).isEqualTo(250);
        }
    }

    @Test void plaintextPipelinedAfterStartTlsIsDiscarded() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            // CVE-2011-0411: commands sent in clear text together with STARTTLS must not run inside TLS.
            c.send("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n");
            assertThat(c.read().last()).startsWith("220 2.0.0");
            c.handshake();
            // Had the injected MAIL run, this would be its 503 reply instead of the EHLO reply.
            SmtpTestClient.Response r = c.command("EHLO client.test");
            assertThat(r.lines().getFirst()).startsWith("250-gw.test");
            assertThat(c.command("MAIL FROM:<real@client.test>").last()).startsWith("250 2.1.0");
        }
    }

    @Test void smugglingIsRefusedAndTheSmuggledCommandsNeverRun() throws Exception {
        for (String bogusEnd : List.of("\n.\r\n", "\r\n.\n", "\n.\n", "\r.\r\n", "\r\n.\r")) {
            try (SmtpTestClient c = hello(mx)) {
                assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
                assertThat(c.command("RCPT TO:<smuggle@postern.test>").code()).isEqualTo(250);
                assertThat(c.command("DATA").code()).isEqualTo(354);
                c.send("Subject: x\r\n\r\nhello" + bogusEnd
                        + "MAIL FROM:<forged@bank.example>\r\nRCPT TO:<smuggle@postern.test>\r\nDATA\r\n"
                        + "Subject: forged\r\n\r\nforged\r\n.\r\n");
                SmtpTestClient.Response r = c.read();
                assertThat(r.last()).as("ending %s", bogusEnd.replace("\r", "\\r").replace("\n", "\\n"))
                        .startsWith("554 5.6.0");
                // The session is in step: the very next reply answers our NOOP.
                assertThat(c.command("NOOP").last()).startsWith("250 2.0.0");
            }
        }
        assertThat(maildir("smuggle@postern.test")).isEmpty();
    }

    @Test void bareLineEndingsAndLongLinesInCommands() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            c.send("NOOP\n");
            assertThat(c.read().last()).startsWith("500 5.5.2");
            assertThat(c.command("NOOP " + "x".repeat(2000)).last()).startsWith("500 5.5.2");
            assertThat(c.command("NOOP").last()).startsWith("250 2.0.0");
        }
    }

    @Test void oversizeMessagesAreRefused() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("MAIL FROM:<a@client.test> SIZE=100000").last()).startsWith("552 5.3.4");
            assertThat(c.command("MAIL FROM:<a@client.test> SIZE=1000").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<big@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            String line = "y".repeat(998) + "\r\n";
            c.send("Subject: big\r\n\r\n" + line.repeat(70) + ".\r\n");
            assertThat(c.read().last()).startsWith("552 5.3.4");
            assertThat(c.command("NOOP").code()).isEqualTo(250);
        }
        assertThat(maildir("big@postern.test")).isEmpty();
    }

    @Test void tooManyRecipients() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            c.command("MAIL FROM:<a@client.test>");
            for (int i = 0; i < 5; i++) assertThat(c.command("RCPT TO:<r" + i + "@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<r5@postern.test>").last()).startsWith("452 4.5.3");
        }
    }

    @Test void tooManyErrorsCloseTheSession() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            for (int i = 0; i < 9; i++) assertThat(c.command("BOGUS").code()).isEqualTo(500);
            SmtpTestClient.Response r = c.command("BOGUS");
            assertThat(r.code()).isEqualTo(500);
            assertThat(c.read().last()).startsWith("421 4.7.0");
            assertThat(c.isClosedByServer()).isTrue();
        }
    }

    @Test void messageOverStartTlsArrivesInMaildirWithTlsInReceived() throws Exception {
        String body = "From: a@client.test\r\nTo: tls@postern.test\r\nSubject: hello\r\n\r\nline one\r\n"
                + "..leading dot\r\nlast line\r\n";
        try (SmtpTestClient c = hello(mx)) {
            c.startTls();
            c.command("EHLO client.test");
            // Pipelined, as RFC 2920 allows.
            c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<tls@postern.test>\r\nDATA\r\n");
            assertThat(c.read().code()).isEqualTo(250);
            assertThat(c.read().code()).isEqualTo(250);
            assertThat(c.read().code()).isEqualTo(354);
            c.send(body + ".\r\n");
            assertThat(c.read().last()).matches("250 2\\.0\\.0 Ok: queued as [0-9A-Z]{26}");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> maildir("tls@postern.test").size() == 1);
        String stored = Files.readString(maildir("tls@postern.test").getFirst(), StandardCharsets.UTF_8);
        assertThat(stored).startsWith("Delivered-To: tls@postern.test\r\nReceived: from client.test ([127.0.0.1])\r\n"
                + "\t(using TLSv1.3 with cipher TLS_AES_");
        assertThat(stored).contains("by gw.test (Postern) with ESMTPS id ", "\tfor <tls@postern.test>; ");
        // Dot-stuffing undone: ".." on the wire is "." in the message.
        assertThat(stored).endsWith(body.replace("..leading", ".leading"));
    }

    @Test void bdatChunksAreAssembled() throws Exception {
        String part1 = "Subject: chunks\r\n\r\nfirst ";
        String part2 = "second\r\n.not a terminator\r\n";
        try (SmtpTestClient c = hello(mx)) {
            c.command("MAIL FROM:<> BODY=8BITMIME");
            c.command("RCPT TO:<chunk@postern.test>");
            c.send("BDAT " + part1.length() + "\r\n" + part1);
            assertThat(c.read().last()).startsWith("250 2.0.0");
            c.send("BDAT " + part2.length() + " LAST\r\n" + part2);
            assertThat(c.read().last()).startsWith("250 2.0.0 Ok: queued as ");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> maildir("chunk@postern.test").size() == 1);
        String stored = Files.readString(maildir("chunk@postern.test").getFirst(), StandardCharsets.UTF_8);
        assertThat(stored).endsWith(part1 + part2).contains("with ESMTP id");
    }

    @Test void utf8AddressesNeedSmtputf8() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("MAIL FROM:<jörg@client.test>").last()).startsWith("553 5.6.7");
            assertThat(c.command("MAIL FROM:<jörg@client.test> SMTPUTF8").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<jörg@postern.test>").last()).startsWith("250 2.1.5");
        }
    }

    /**
     * A local domain in Unicode: every spelling of it is local, and the message is stored (envelope, Maildir,
     * Delivered-To, Received "for") under the lookup form of the domain; the local part stays as sent.
     */
    @Test void unicodeLocalDomainIsLocalInEverySpellingAndStoredInLookupForm() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("MAIL FROM:<a@Client.test.> SMTPUTF8").code()).isEqualTo(250);
            for (String rcpt : List.of("Jörg@BÜCHER.test.", "jörg@ｂücher。test", "jörg@xn--bcher-kva.test")) {
                assertThat(c.command("RCPT TO:<" + rcpt + ">").last()).as(rcpt).startsWith("250 2.1.5");
            }
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: idn\r\n\r\nhallo\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> maildir("jörg@xn--bcher-kva.test").size() == 3);
        String stored = Files.readString(maildir("jörg@xn--bcher-kva.test").getFirst(), StandardCharsets.UTF_8);
        assertThat(stored).startsWith("Delivered-To: ").contains("örg@xn--bcher-kva.test\r\nReceived: ", "hallo");
        assertThat(data.resolve("mail").resolve("bücher.test")).doesNotExist();
    }

    /** A domain IDNA refuses gets a precise reply saying why: 501 5.1.3 at RCPT, 501 5.1.7 at MAIL. */
    @Test void invalidInternationalisedDomainsGetPreciseReplies() throws Exception {
        try (SmtpTestClient c = hello(mx)) {
            assertThat(c.command("MAIL FROM:<a@xn--zz.example>").last()).isEqualTo(
                    "501 5.1.7 Bad sender address syntax: bad domain: not a valid internationalised domain name "
                            + "(punycode)");
            assertThat(c.command("MAIL FROM:<a@client.test> SMTPUTF8").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<x@\u0301bücher.test>").last()).isEqualTo(
                    "501 5.1.3 Bad recipient address syntax: bad domain: not a valid internationalised domain name "
                            + "(leading combining mark)");
            assertThat(c.command("RCPT TO:<x@a\u05D0.test>").last()).isEqualTo( // left-to-right and Hebrew
                    "501 5.1.3 Bad recipient address syntax: bad domain: not a valid internationalised domain name "
                            + "(bidi)");
            // Malformed before IDNA is asked: the reason too, not a bare "bad domain".
            assertThat(c.command("RCPT TO:<x@xn--invalid-->").last()).isEqualTo(
                    "501 5.1.3 Bad recipient address syntax: bad domain: label starts or ends with a hyphen");
            assertThat(c.command("RCPT TO:<x@bücher..test>").last()).isEqualTo(
                    "501 5.1.3 Bad recipient address syntax: bad domain: empty label");
            assertThat(c.command("RCPT TO:<x@bücher_x.test>").last()).isEqualTo(
                    "501 5.1.3 Bad recipient address syntax: bad domain: invalid character '_'");
        }
        try (SmtpTestClient c = hello(mx)) { // without SMTPUTF8 a U-label is refused, the A-label is not
            assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<x@bücher.test>").last()).startsWith("553 5.6.7");
            assertThat(c.command("RCPT TO:<x@XN--BCHER-KVA.test>").last()).startsWith("250 2.1.5");
        }
    }

    static List<Path> maildir(String rcpt) throws IOException {
        int at = rcpt.indexOf('@');
        Path dir = data.resolve("mail").resolve(rcpt.substring(at + 1)).resolve(rcpt.substring(0, at)).resolve("new");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
