package dev.postern.queue;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BouncesTest {
    private static final Instant RECEIVED = Instant.parse("2025-03-01T10:15:30Z");
    private static final Instant NOW = Instant.parse("2025-03-06T10:15:31Z");
    private static final String ORIGINAL = "Received: from mx.example.org by gw.example.net\r\n"
            + "From: Alice <alice@example.org>\r\n"
            + "To: bob@example.com, carol@example.com\r\n"
            + "Subject: quarterly report\r\n"
            + "\r\n"
            + "SECRET BODY that must not be returned\r\n";

    private final Envelope original = new Envelope(QueueIds.next(), "alice@example.org",
            List.of(new Envelope.Recipient("bob@example.com", Envelope.Recipient.Status.FAILED, 1,
                            "550 5.1.1 <bob@example.com>: no such user", Instant.parse("2025-03-01T10:15:40Z")),
                    Envelope.Recipient.pending("carol@example.com")),
            RECEIVED, "mx.example.org (mail.example.org [192.0.2.1])", "7BIT", false, ORIGINAL.length(),
            NOW, false, 3);

    private static final Bounces.Report BOB = new Bounces.Report("bob@example.com", "failed", "5.1.1",
            "550 5.1.1 <bob@example.com>: no such user", "mx1.example.com");
    private static final Bounces.Report CAROL = new Bounces.Report("carol@example.com", "delayed", "4.4.1",
            "connect to mx.example.com[192.0.2.9]:25: connection timed out", null);

    private String build(List<Bounces.Report> reports, String content) throws Exception {
        return new String(Bounces.build(original, reports, "gw.example.net",
                new ByteArrayInputStream(content.getBytes(UTF_8)), NOW), UTF_8);
    }

    /** Splits a multipart body at its boundary; element 0 is the preamble, then the parts. */
    private static List<String> parts(String message) {
        Matcher m = Pattern.compile("boundary=\"([^\"]+)\"").matcher(message);
        assertThat(m.find()).isTrue();
        String boundary = m.group(1);
        String body = message.substring(message.indexOf("\r\n\r\n") + 4);
        assertThat(body).endsWith("\r\n--" + boundary + "--\r\n");
        // the CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1)
        String[] split = body.substring(0, body.length() - ("\r\n--" + boundary + "--\r\n").length())
                .split("\r\n--" + Pattern.quote(boundary) + "\r\n", -1);
        return Arrays.asList(split);
    }

    private static String headers(String part) { return part.substring(0, part.indexOf("\r\n\r\n") + 2); }

    private static String content(String part) { return part.substring(part.indexOf("\r\n\r\n") + 4); }

    @Test void failureReportHasTheRfc3464Structure() throws Exception {
        String dsn = build(List.of(BOB, CAROL), ORIGINAL);
        String head = dsn.substring(0, dsn.indexOf("\r\n\r\n") + 2);

        assertThat(head).contains("From: \"Mail Delivery System\" <MAILER-DAEMON@gw.example.net>\r\n")
                .contains("To: <alice@example.org>\r\n")
                .contains("Subject: Undelivered Mail Returned to Sender\r\n")
                .contains("Date: Thu, 6 Mar 2025 10:15:31 +0000\r\n")
                .containsPattern("Message-ID: <[^>\\s]+@gw\\.example\\.net>\r\n")
                .contains("MIME-Version: 1.0\r\n")
                .contains("Auto-Submitted: auto-replied\r\n")
                .contains("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"");

        List<String> parts = parts(dsn);
        assertThat(parts).hasSize(4); // preamble + three parts

        assertThat(headers(parts.get(1))).contains("Content-Type: text/plain; charset=utf-8\r\n");
        assertThat(content(parts.get(1))).contains("<bob@example.com>: delivery failed (mx1.example.com said)")
                .contains("    550 5.1.1 <bob@example.com>: no such user\r\n")
                .contains("<carol@example.com>: delivery delayed, will retry")
                .contains("connect to mx.example.com[192.0.2.9]:25: connection timed out")
                .contains(original.id());

        assertThat(headers(parts.get(2))).contains("Content-Type: message/delivery-status\r\n");
        String status = content(parts.get(2)).replace("\r\n ", " "); // unfold (RFC 5322 §2.2.3)
        assertThat(status).startsWith("Reporting-MTA: dns; gw.example.net\r\n")
                .contains("Arrival-Date: Sat, 1 Mar 2025 10:15:30 +0000\r\n")
                .contains("\r\n\r\nFinal-Recipient: rfc822; bob@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                        + "Remote-MTA: dns; mx1.example.com\r\n"
                        + "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: no such user\r\n"
                        + "Last-Attempt-Date: Sat, 1 Mar 2025 10:15:40 +0000\r\n")
                .contains("\r\n\r\nFinal-Recipient: rfc822; carol@example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
                        + "Diagnostic-Code: X-Postern; connect to mx.example.com[192.0.2.9]:25: connection timed out\r\n");
        assertThat(status.substring(status.indexOf("carol"))).doesNotContain("Remote-MTA");

        assertThat(headers(parts.get(3))).contains("Content-Type: text/rfc822-headers\r\n");
        assertThat(content(parts.get(3))).isEqualTo(ORIGINAL.substring(0, ORIGINAL.indexOf("\r\n\r\n") + 2))
                .doesNotContain("SECRET");
    }

    @Test void everyLineEndsInCrlfAndIsShort() throws Exception {
        String longDiag = "550 5.7.1 " + "policy ".repeat(200) + "\r\n550 5.7.1 second line";
        String dsn = build(List.of(new Bounces.Report("bob@example.com", "failed", "5.7.1", longDiag, "mx")),
                ORIGINAL.replace("\r\n", "\n")); // bare LF in the original is normalised too
        assertThat(dsn.replace("\r\n", "")).doesNotContain("\r").doesNotContain("\n");
        assertThat(dsn.split("\r\n")).allMatch(l -> l.length() <= 998);
        String status = content(parts(dsn).get(2));
        assertThat(status).contains("Diagnostic-Code: smtp; 550 5.7.1 policy").contains("\r\n policy ");
        assertThat(status.replace("\r\n ", " ")).contains(
                "Diagnostic-Code: smtp; " + longDiag.replace("\r\n", " ") + "\r\n");
        assertThat(content(parts(dsn).get(1))).contains("    550 5.7.1 policy policy").contains("\r\n    policy")
                .contains("    550 5.7.1 second line\r\n");
        assertThat(content(parts(dsn).get(3))).contains("Subject: quarterly report\r\n");
    }

    @Test void delayOnlyReportSaysSo() throws Exception {
        String dsn = build(List.of(CAROL), ORIGINAL);
        assertThat(dsn).contains("Subject: Delayed Mail (still being retried)\r\n")
                .contains("Action: delayed\r\n").doesNotContain("Action: failed");
        assertThat(content(parts(dsn).get(1))).contains("you do not need to send it again");
    }

    @Test void headerInjectionThroughDiagnosticsIsNeutralised() throws Exception {
        var evil = new Bounces.Report("bob@example.com\r\nBcc: victim@example.org", "failed", "bogus",
                "550 nope\r\nFinal-Recipient: rfc822; forged@example.org", "mx\r\nX: y");
        String dsn = build(List.of(evil), ORIGINAL);
        assertThat(dsn).doesNotContain("\r\nBcc:").doesNotContain("\r\nX: y")
                .doesNotContain("\r\nFinal-Recipient: rfc822; forged");
        assertThat(dsn).contains("Status: 5.0.0\r\n"); // a malformed status gets a generic one
    }

    @Test void originalHeadersAreCappedAt64KiB() throws Exception {
        String huge = "X-Filler: " + "a".repeat(100) + "\r\n";
        String content = huge.repeat(1000) + "\r\nbody";
        String dsn = build(List.of(BOB), content);
        String part3 = content(parts(dsn).get(3));
        assertThat(part3.length()).isLessThanOrEqualTo(Bounces.MAX_HEADER_BYTES).isGreaterThan(60_000);
        assertThat(part3).endsWith("\r\n").startsWith("X-Filler: ");
        assertThat(part3.split("\r\n")).allMatch(l -> l.equals("X-Filler: " + "a".repeat(100)));
    }

    @Test void utf8AddressesAndHeadersMake8bitParts() throws Exception {
        var rcpt = new Bounces.Report("δοκιμή@παράδειγμα.δοκιμή", "failed", "5.1.1", "550 5.1.1 unknown", null);
        String dsn = build(List.of(rcpt), "Subject: Grüße\r\n\r\nx");
        assertThat(dsn).contains("Final-Recipient: utf-8; δοκιμή@παράδειγμα.δοκιμή\r\n")
                .contains("Content-Transfer-Encoding: 8bit\r\n");
        byte[] bytes = dsn.getBytes(UTF_8);
        Envelope env = Bounces.envelopeFor(QueueIds.next(), "alice@example.org", bytes, NOW);
        assertThat(env.nullSender()).isTrue();
        assertThat(env.bodyType()).isEqualTo("8BITMIME");
        assertThat(env.size()).isEqualTo(bytes.length);
        assertThat(env.pending()).extracting(Envelope.Recipient::address).containsExactly("alice@example.org");
    }

    @Test void asciiDsnIs7bitAndEnqueueable() throws Exception {
        byte[] dsn = Bounces.build(original, List.of(BOB), "gw.example.net",
                new ByteArrayInputStream(ORIGINAL.getBytes(UTF_8)), NOW);
        assertThat(new String(dsn, UTF_8)).doesNotContain("8bit");
        Envelope env = Bounces.envelopeFor(QueueIds.next(), original.sender(), dsn, NOW);
        assertThat(env.bodyType()).isEqualTo("7BIT");
        assertThat(env.smtputf8()).isFalse();
        assertThat(env.nextAttempt()).isEqualTo(NOW);
    }

    @Test void neverForTheNullSender() {
        Envelope bounce = original.withRecipients(original.recipients(), NOW);
        Envelope nullSender = new Envelope(bounce.id(), "", bounce.recipients(), RECEIVED, null, "7BIT", false, 0,
                NOW, false, 0);
        InputStream in = new ByteArrayInputStream(new byte[0]);
        assertThatThrownBy(() -> Bounces.build(nullSender, List.of(BOB), "gw", in, NOW))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Bounces.build(original, List.of(), "gw", in, NOW))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- issue 11 item 18 ----

    @Test void nonAsciiAddressesUseTheRfc6533GlobalTypes() throws Exception {
        var rcpt = new Bounces.Report("δοκιμή@παράδειγμα.δοκιμή", "failed", "5.1.1", "550 5.1.1 unknown", null);
        List<String> parts = parts(build(List.of(rcpt), "Subject: Grüße\r\n\r\nx"));
        assertThat(headers(parts.get(2))).contains("Content-Type: message/global-delivery-status\r\n");
        assertThat(content(parts.get(2))).contains("Final-Recipient: utf-8; δοκιμή@παράδειγμα.δοκιμή\r\n");
        assertThat(headers(parts.get(3))).contains("Content-Type: message/global-headers\r\n");
        assertThat(content(parts.get(3))).isEqualTo("Subject: Grüße\r\n");
    }

    @Test void asciiAddressesKeepTheRfc3464Types() throws Exception {
        List<String> parts = parts(build(List.of(BOB), ORIGINAL));
        assertThat(headers(parts.get(2))).contains("Content-Type: message/delivery-status\r\n");
        assertThat(headers(parts.get(3))).contains("Content-Type: text/rfc822-headers\r\n");
    }

    @Test void diagnosticCodeCarriesTheRemoteReplyVerbatimWithEveryLine() throws Exception {
        var bob = new Bounces.Report("bob@example.com", "failed", "5.1.1",
                "mx1.example.com[192.0.2.1]:25 said: 550 5.1.1 no such user; see https://help.example.com/550",
                "mx1.example.com", List.of("550-5.1.1 no such user", "550 5.1.1 see https://help.example.com/550"));
        String status = content(parts(build(List.of(bob), ORIGINAL)).get(2));
        // each reply line on a folded line of its own: unfolded, the lines joined by a space (RFC 3464 §2.3.6)
        assertThat(status).contains("Remote-MTA: dns; mx1.example.com\r\n"
                + "Diagnostic-Code: smtp; 550-5.1.1 no such user\r\n 550 5.1.1 see https://help.example.com/550\r\n");
    }

    @Test void posternsOwnReasonsAreNotDressedUpAsSmtpReplies() throws Exception {
        String status = content(parts(build(List.of(CAROL), ORIGINAL)).get(2));
        assertThat(status).contains("Diagnostic-Code: X-Postern; connect to mx.example.com[192.0.2.9]:25")
                .doesNotContain("smtp;");
    }

    /** The DSN as the next hop receives it: SMTP's forced break of lines over 998 octets applied (item 10). */
    private static String onTheWire(byte[] dsn) throws Exception {
        var wire = new java.io.ByteArrayOutputStream();
        dev.postern.smtp.SmtpOutput.writeData(new ByteArrayInputStream(dsn), wire);
        String sent = wire.toString(UTF_8);
        assertThat(sent).endsWith("\r\n.\r\n");
        return sent.substring(0, sent.length() - 3); // without the end-of-data dot
    }

    @Test void aPartnersReplyCannotForgeAFieldThroughTheForcedLineBreak() throws Exception {
        // A multi-line reply whose first line has no space: the field name and the line together pass 998 octets,
        // so the transport breaks the line and the reply's last characters would start a field of their own.
        String first = "550-" + "A".repeat(971) + "Status:2.0.0";
        var bob = new Bounces.Report("bob@example.com", "failed", "5.1.1", "refused", "mx1.example.com",
                List.of(first, "550 5.1.1 end"));
        byte[] dsn = Bounces.build(original, List.of(bob), "gw.example.net",
                new ByteArrayInputStream(ORIGINAL.getBytes(UTF_8)), NOW);
        String status = content(parts(onTheWire(dsn)).get(2));
        assertThat(status.split("\r\n")).noneMatch(l -> l.startsWith("Status:2.0.0"));
        // nothing lost: unfolded (a forced break adds a space), the reply's characters are all there
        assertThat(status.replace("\r\n", "").replace(" ", "")).contains("Diagnostic-Code:smtp;" + first + "5505.1.1end");
    }

    @Test void utf8RepliesAreFoldedByOctetsAndUseTheGlobalType() throws Exception {
        // 600 two-octet characters: 600 characters, 1,200 octets; and a 3-octet word longer than 900 octets.
        var bob = new Bounces.Report("bob@example.com", "failed", "5.1.1", "550 5.1.1 " + "ü".repeat(600),
                "mx1.example.com", List.of("550 5.1.1 " + "ü".repeat(600) + "Status:2.0.0", "550 5.1.1 " + "€".repeat(400)));
        byte[] dsn = Bounces.build(original, List.of(bob), "gw.example.net",
                new ByteArrayInputStream(ORIGINAL.getBytes(UTF_8)), NOW);
        for (String line : new String(dsn, UTF_8).split("\r\n")) {
            assertThat(line.getBytes(UTF_8).length).as(line).isLessThanOrEqualTo(998);
        }
        List<String> parts = parts(onTheWire(dsn));
        assertThat(content(parts.get(2)).split("\r\n")).noneMatch(l -> l.startsWith("Status:2.0.0"));
        // RFC 3464's delivery-status is US-ASCII; a UTF-8 reply needs RFC 6533's global type even for ASCII addresses.
        assertThat(headers(parts.get(2))).contains("Content-Type: message/global-delivery-status\r\n");
        assertThat(content(parts.get(2)).replace("\r\n ", "")).contains("ü".repeat(600) + "Status:2.0.0");
        assertThat(content(parts.get(1)).replace("\r\n    ", "")).contains("ü".repeat(600)); // the human part too
    }
}
