package dev.postern.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
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
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Postern and a real Postfix (a private instance, see {@link PostfixInstance}) relaying to each other over STARTTLS
 * on loopback. One Postfix and one Postern serve both directions:
 * <pre>
 *   test ─▶ Postfix smtpd ─(smtp, TLS required)─▶ Postern MX ─▶ Maildir  data/mail/postern.test/user/
 *   test ─▶ Postern MX ─(static route, opportunistic TLS)─▶ Postfix smtpd (TLS may) ─▶ virtual Maildir
 * </pre>
 */
class PostfixInteropTest {
    static final String POSTERN = "mx.postern.test";
    static final String POSTFIX = "pfx.interop.test";

    @TempDir static Path tmp;
    static Gateway postern;
    static PostfixInstance postfix;
    static InetSocketAddress posternMx;

    @BeforeAll static void start() throws Exception {
        Peers.postfix();
        int postfixPort = Peers.freePort();
        Path data = tmp.resolve("postern");
        Config c = TestConfigs.withRelay(TestConfigs.gateway(data, POSTERN, Set.of("postern.test")),
                Set.of("b.example"), Map.of("b.example", new Config.Route("127.0.0.1", postfixPort, false)));
        postern = Gateway.start(c);
        posternMx = postern.boundAddresses().getFirst();

        KeyMaterial cert = Certificates.selfSigned(List.of(POSTFIX), Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        Path crt = tmp.resolve("tls/postfix.crt");
        Path key = tmp.resolve("tls/postfix.key");
        java.nio.file.Files.createDirectories(crt.getParent());
        Pem.write(cert, crt, key);
        postfix = PostfixInstance.start(tmp.resolve("postfix"), postfixPort, new PostfixInstance.Settings(POSTFIX)
                .route("postern.test", posternMx.getPort())
                .mailbox("bob@b.example")
                .set("smtp_tls_security_level", "encrypt")
                .set("smtpd_tls_security_level", "may")
                .set("smtpd_tls_cert_file", crt.toString())
                .set("smtpd_tls_key_file", key.toString())
                .set("smtpd_tls_received_header", "yes"));
    }

    @AfterAll static void stop() {
        try {
            if (postfix != null) postfix.close();
        } finally {
            if (postern != null) postern.close();
        }
    }

    /** From the client to Postfix in clear text, from Postfix to Postern with TLS required by Postfix. */
    @Test void postfixRelaysToPosternOverStartTls() throws Exception {
        String body = "From: alice@pfx.interop.test\r\nTo: user@postern.test\r\nSubject: via Postfix\r\n"
                + "Date: Mon, 2 Feb 2026 10:00:00 +0000\r\nMessage-ID: <1@pfx.interop.test>\r\n\r\n"
                + "Hello from Postfix\r\n.a line starting with a dot\r\n..two dots\r\n8-bit: caf\u00e9\r\nbye\r\n";
        SmtpTestClient.Response queued = Mail.send(new InetSocketAddress("127.0.0.1", postfix.port()), false,
                "alice@pfx.interop.test", "user@postern.test", body);
        Matcher m = Pattern.compile("queued as (\\w+)").matcher(queued.text());
        assertThat(m.find()).as(queued.text()).isTrue();
        String postfixId = m.group(1);

        String stored = Mail.awaitOne(Mail.posternMaildir(tmp.resolve("postern"), "user@postern.test"),
                postfix::diagnostics);
        // Postern's Maildir copy: Delivered-To, Postern's Received (from Postfix, over TLS), Postfix's Received (from
        // the client), then the message exactly as the client sent it.
        assertThat(stored).as(stored).startsWith("Delivered-To: user@postern.test\r\n"
                + "Received: from " + POSTFIX + " ([127.0.0.1])\r\n\t(using TLSv1.");
        assertThat(stored).as(stored).containsPattern("^Delivered-To: [^\r]+\r\nReceived: from " + q(POSTFIX)
                + " \\(\\[127\\.0\\.0\\.1\\]\\)\r\n\t\\(using TLSv1\\.[23] with cipher \\S+ \\(\\d+/\\d+ bits\\)\\)\r\n"
                + "\tby " + q(POSTERN) + " \\(Postern\\) with ESMTPS id \\S+\r\n\tfor <user@postern\\.test>; ");
        int posternReceived = stored.indexOf("Received: from " + POSTFIX);
        int postfixReceived = stored.indexOf("Received: from client.test (unknown [127.0.0.1])\r\n\tby " + POSTFIX
                + " (Postfix) with ESMTP id " + postfixId + "\r\n\tfor <user@postern.test>; ");
        assertThat(postfixReceived).as(stored).isGreaterThan(posternReceived);
        assertThat(stored).as(stored).endsWith(body);
        String headers = stored.substring(0, stored.length() - body.length());
        assertThat(headers.split("\r\n(?!\t)")).as(stored).hasSize(3);

        // Postfix's side of the story: it made TLS with Postern and handed the message over.
        postfix.awaitLog(postfixId + ": to=<user@postern\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:"
                + posternMx.getPort() + ",.* status=sent \\(250 ", Duration.ofSeconds(10));
        assertThat(postfix.log()).as(postfix.log()).containsPattern("TLS connection established to "
                + "127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:" + posternMx.getPort() + ": TLSv1\\.[23] with cipher ");
    }

    /** From the client to Postern, from Postern to Postfix by static route, STARTTLS offered by Postfix. */
    @Test void posternRelaysToPostfixOverStartTls() throws Exception {
        String body = "From: alice@postern.test\r\nTo: bob@b.example\r\nSubject: via Postern\r\n"
                + "Date: Mon, 2 Feb 2026 10:00:00 +0000\r\nMessage-ID: <2@postern.test>\r\n\r\n"
                + "Hello from Postern\r\n.a line starting with a dot\r\n..two dots\r\n8-bit: caf\u00e9\r\nbye\r\n";
        Mail.send(posternMx, true, "alice@postern.test", "bob@b.example", body);

        // Postfix's virtual agent writes the Maildir file with LF line endings.
        String stored = Mail.awaitOne(postfix.maildir("bob@b.example"), postfix::diagnostics);
        String lf = body.replace("\r\n", "\n");
        assertThat(stored).as(stored).containsPattern("(?m)^Received: from " + q(POSTERN)
                + " \\(unknown \\[127\\.0\\.0\\.1\\]\\)\n\t\\(using TLSv1\\.[23] with cipher \\S+ \\(\\d+/\\d+ bits\\)");
        assertThat(stored).as(stored).containsPattern("\tby " + q(POSTFIX) + " \\(Postfix\\) with ESMTPS id \\w+\n"
                + "\tfor <bob@b\\.example>; ");
        int postfixReceived = stored.indexOf("Received: from " + POSTERN);
        int posternReceived = stored.indexOf("Received: from client.test ([127.0.0.1])\n\t(using TLSv1.");
        assertThat(posternReceived).as(stored).isGreaterThan(postfixReceived);
        assertThat(stored).as(stored).contains("\tby " + POSTERN + " (Postern) with ESMTPS id ")
                .startsWith("Return-Path: <alice@postern.test>\n").endsWith(lf);

        assertThat(postfix.log()).as(postfix.log()).containsPattern(
                "TLS connection established from unknown\\[127\\.0\\.0\\.1\\]: TLSv1\\.[23] with cipher ");
        await().atMost(Duration.ofSeconds(10)).until(() -> postern.spool().list().isEmpty());
    }

    private static String q(String literal) {
        return Pattern.quote(literal);
    }
}
