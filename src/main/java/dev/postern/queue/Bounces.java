package dev.postern.queue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** Delivery status notifications (RFC 3464, multipart/report) for failed or delayed recipients. */
public final class Bounces {
    private Bounces() {}

    /** Original headers beyond this are left out of the report. */
    static final int MAX_HEADER_BYTES = 64 * 1024;
    private static final String CRLF = "\r\n";
    private static final Pattern STATUS = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}");
    private static final DateTimeFormatter RFC5322 =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * A recipient to report and the exact reason: {@code diagnostic} is the text recorded for it (for the human
     * part), {@code smtpReply} the next hop's reply lines exactly as received ("550-5.1.1 ...", "550 5.1.1 ...") when
     * the next hop said something (empty otherwise), and {@code remoteMta} that next hop's name.
     */
    public record Report(String recipient, String action /* "failed" or "delayed" */, String status /* "5.7.1" */,
                         String diagnostic, String remoteMta /* may be null */, List<String> smtpReply) {
        public Report {
            smtpReply = smtpReply == null ? List.of() : List.copyOf(smtpReply);
        }

        /** A report whose reason is Postern's own, or a reply not kept line by line. */
        public Report(String recipient, String action, String status, String diagnostic, String remoteMta) {
            this(recipient, action, status, diagnostic, remoteMta, List.of());
        }
    }

    /**
     * Builds the DSN message (headers and body, CRLF line endings) from the postmaster of {@code reportingHost} to
     * {@code original.sender()}. Includes a human-readable part, a message/delivery-status part (Reporting-MTA,
     * Arrival-Date, per-recipient Final-Recipient/Action/Status/Diagnostic-Code), and the original headers
     * (text/rfc822-headers) read from {@code originalContent}. Never called for a null sender.
     * The subject says "Delayed Mail" only when every report is "delayed". The message is 8bit only if an address,
     * diagnostic or original header is; {@link #envelopeFor} picks the matching BODY= type.
     */
    public static byte[] build(Envelope original, List<Report> reports, String reportingHost,
                               InputStream originalContent, Instant now) throws IOException {
        return make(original, reports, reportingHost, originalContent, now).content();
    }

    /** A DSN made by {@link #make}: its content and the Message-ID it carries (without angle brackets). */
    public record Dsn(byte[] content, String messageId) {}

    /** As {@link #build}, with the DSN's own Message-ID (for the audit). */
    public static Dsn make(Envelope original, List<Report> reports, String reportingHost,
                           InputStream originalContent, Instant now) throws IOException {
        if (original.nullSender()) throw new IllegalArgumentException("no DSN for the null sender (RFC 3464 §2)");
        if (reports.isEmpty()) throw new IllegalArgumentException("nothing to report");
        boolean delayOnly = reports.stream().allMatch(r -> "delayed".equalsIgnoreCase(r.action()));
        String token = HexFormat.of().formatHex(randomBytes(8));
        String boundary = "=_postern_" + original.id() + "_" + token;
        String host = oneLine(reportingHost);
        byte[] headers = readHeaders(originalContent);

        var m = new StringBuilder(4096);
        m.append("From: \"Mail Delivery System\" <MAILER-DAEMON@").append(host).append('>').append(CRLF);
        m.append("To: <").append(oneLine(original.sender())).append('>').append(CRLF);
        m.append("Subject: ").append(delayOnly ? "Delayed Mail (still being retried)"
                : "Undelivered Mail Returned to Sender").append(CRLF);
        m.append("Date: ").append(RFC5322.format(now)).append(CRLF);
        String messageId = original.id() + "." + token + ".dsn@" + host;
        m.append("Message-ID: <").append(messageId).append('>').append(CRLF);
        m.append("MIME-Version: 1.0").append(CRLF);
        m.append("Auto-Submitted: auto-replied").append(CRLF);
        m.append("Content-Type: multipart/report; report-type=delivery-status;").append(CRLF);
        m.append("\tboundary=\"").append(boundary).append('"').append(CRLF);
        m.append(CRLF);
        m.append("This is a MIME-encapsulated message.").append(CRLF);

        // RFC 6533: an address, original header or diagnostic (a partner's UTF-8 reply, a certificate's Unicode
        // name) that is not ASCII needs the "global" types, which carry UTF-8; RFC 3464's are US-ASCII only.
        String status = deliveryStatus(original, reports, host);
        boolean global = original.smtputf8() || !isAscii(original.sender())
                || reports.stream().anyMatch(r -> !isAscii(r.recipient())) || !isAscii(status);
        String human = humanText(original, reports, host, delayOnly);
        m.append(CRLF).append("--").append(boundary).append(CRLF);
        m.append("Content-Description: Notification").append(CRLF);
        m.append("Content-Type: text/plain; charset=utf-8").append(CRLF);
        m.append("Content-Transfer-Encoding: ").append(encodingOf(human)).append(CRLF);
        m.append(CRLF).append(human);

        m.append(CRLF).append("--").append(boundary).append(CRLF);
        m.append("Content-Description: Delivery report").append(CRLF);
        m.append("Content-Type: message/").append(global ? "global-delivery-status" : "delivery-status").append(CRLF);
        m.append("Content-Transfer-Encoding: ").append(encodingOf(status)).append(CRLF);
        m.append(CRLF).append(status);

        m.append(CRLF).append("--").append(boundary).append(CRLF);
        m.append("Content-Description: Undelivered message headers").append(CRLF);
        m.append("Content-Type: ").append(global || is8bit(headers) ? "message/global-headers"
                : "text/rfc822-headers").append(CRLF);
        m.append("Content-Transfer-Encoding: ").append(is8bit(headers) ? "8bit" : "7bit").append(CRLF);
        m.append(CRLF);

        var out = new ByteArrayOutputStream(m.length() + headers.length + 128);
        out.writeBytes(m.toString().getBytes(StandardCharsets.UTF_8));
        out.writeBytes(headers);
        out.writeBytes((CRLF + "--" + boundary + "--" + CRLF).getBytes(StandardCharsets.US_ASCII));
        return new Dsn(out.toByteArray(), messageId);
    }

    /**
     * An envelope for queueing a DSN built by {@link #build}: null sender, one pending recipient (the original
     * sender), received and next attempt {@code now}, version 0, BODY=8BITMIME only if {@code dsn} has 8-bit bytes,
     * SMTPUTF8 only if the recipient is not ASCII. {@code id} is the id of the {@link Spool.Incoming} it goes to.
     */
    public static Envelope envelopeFor(String id, String recipient, byte[] dsn, Instant now) {
        return envelopeFor(id, recipient, dsn, now, false);
    }

    /**
     * As {@link #envelopeFor(String, String, byte[], Instant)}; {@code requireTls} for the DSN of a REQUIRETLS
     * message, which carries its headers and so goes back under the same protection (RFC 8689 §4.2.2).
     */
    public static Envelope envelopeFor(String id, String recipient, byte[] dsn, Instant now, boolean requireTls) {
        boolean utf8 = !StandardCharsets.US_ASCII.newEncoder().canEncode(recipient);
        return new Envelope(id, "", List.of(Envelope.Recipient.pending(recipient)), now, "postern (dsn)",
                is8bit(dsn) ? "8BITMIME" : "7BIT", utf8, dsn.length, now, false, 0, requireTls);
    }

    private static String humanText(Envelope original, List<Report> reports, String host, boolean delayOnly) {
        var t = new StringBuilder(1024);
        t.append("This is the mail system at host ").append(host).append('.').append(CRLF).append(CRLF);
        if (delayOnly) {
            t.append("Your message could not be delivered yet to the recipients below. The mail system will keep")
                    .append(CRLF).append("trying; you do not need to send it again.").append(CRLF);
        } else {
            t.append("Your message could not be delivered to one or more recipients. Its headers are attached")
                    .append(CRLF).append("below.").append(CRLF);
        }
        t.append(CRLF).append("Queue id: ").append(original.id()).append(CRLF);
        t.append("Received: ").append(RFC5322.format(original.received())).append(CRLF);
        for (Report r : reports) {
            boolean failed = !"delayed".equalsIgnoreCase(r.action());
            t.append(CRLF).append('<').append(oneLine(r.recipient())).append(">: ")
                    .append(failed ? "delivery failed" : "delivery delayed, will retry");
            if (r.remoteMta() != null && !r.remoteMta().isBlank()) {
                t.append(" (").append(oneLine(r.remoteMta())).append(" said)");
            }
            t.append(CRLF);
            for (String line : nonNull(r.diagnostic()).split("\r\n|\r|\n")) {
                if (!line.isBlank()) wrap(t, oneLine(line), "    ");
            }
        }
        return t.toString();
    }

    private static String deliveryStatus(Envelope original, List<Report> reports, String host) {
        var s = new StringBuilder(512);
        s.append("Reporting-MTA: dns; ").append(host).append(CRLF);
        s.append("X-Postern-Queue-ID: ").append(original.id()).append(CRLF);
        s.append("Arrival-Date: ").append(RFC5322.format(original.received())).append(CRLF);
        for (Report r : reports) {
            boolean delayed = "delayed".equalsIgnoreCase(r.action());
            String address = oneLine(r.recipient());
            s.append(CRLF);
            s.append("Final-Recipient: ").append(isAscii(address) ? "rfc822; " : "utf-8; ").append(address)
                    .append(CRLF);
            s.append("Action: ").append(delayed ? "delayed" : oneLine(r.action()).toLowerCase(Locale.ROOT))
                    .append(CRLF);
            s.append("Status: ").append(statusOf(r, delayed)).append(CRLF);
            if (r.remoteMta() != null && !r.remoteMta().isBlank()) {
                s.append("Remote-MTA: dns; ").append(oneLine(r.remoteMta())).append(CRLF);
            }
            if (!r.smtpReply().isEmpty()) {
                // RFC 3464 §2.3.6: the reply verbatim; the lines of a multi-line reply each on a folded line. The
                // field name is folded with the first line: it counts towards the line's length too.
                s.append(fold("Diagnostic-Code: smtp; " + oneLine(r.smtpReply().getFirst())));
                for (String line : r.smtpReply().subList(1, r.smtpReply().size())) s.append(fold(" " + oneLine(line)));
            } else if (r.remoteMta() != null && !r.remoteMta().isBlank()) {
                s.append(fold("Diagnostic-Code: smtp; " + oneLine(nonNull(r.diagnostic())))); // a remote's reply
            } else {
                // Postern's own reason, not an SMTP reply: its own diagnostic type, like Postfix's X-Postfix.
                s.append(fold("Diagnostic-Code: X-Postern; " + oneLine(nonNull(r.diagnostic()))));
            }
            original.recipients().stream()
                    .filter(rc -> rc.address().equalsIgnoreCase(r.recipient()) && rc.lastAttempt() != null)
                    .findFirst()
                    .ifPresent(rc -> s.append("Last-Attempt-Date: ").append(RFC5322.format(rc.lastAttempt()))
                            .append(CRLF));
        }
        return s.toString();
    }

    /** The status the report gives if it has RFC 3463 syntax, else a generic one for the action. */
    private static String statusOf(Report r, boolean delayed) {
        String st = r.status() == null ? "" : r.status().strip();
        if (STATUS.matcher(st).matches()) return st; // a 4.x.x with "failed" is right for expired messages
        return delayed ? "4.0.0" : "5.0.0";
    }

    /** The header block of the original (up to the first empty line, at most 64 KiB), with CRLF line ends. */
    static byte[] readHeaders(InputStream in) throws IOException {
        if (in == null) return new byte[0];
        byte[] raw = in.readNBytes(MAX_HEADER_BYTES + 1);
        var out = new ByteArrayOutputStream(Math.min(raw.length, MAX_HEADER_BYTES) + 64);
        int start = 0;
        while (start < raw.length) {
            int lf = indexOf(raw, (byte) '\n', start);
            if (lf < 0 && raw.length <= MAX_HEADER_BYTES) lf = raw.length; // content ends inside the header
            if (lf < 0 || lf >= MAX_HEADER_BYTES) break; // a line cut by the cap is left out whole
            int end = lf > start && raw[lf - 1] == '\r' ? lf - 1 : lf; // accept bare LF, write CRLF
            if (end == start) break; // the empty line that ends the header
            out.write(raw, start, end - start);
            out.writeBytes(CRLF.getBytes(StandardCharsets.US_ASCII));
            start = lf + 1;
        }
        return out.toByteArray();
    }

    /** Octets a line may have before a CRLF is forced; RFC 5322 §2.1.1 allows 998 (a folded line adds one space). */
    private static final int HARD_OCTETS = 990;

    /**
     * Folds a long field at spaces so no line exceeds 78 characters where possible, and never {@link #HARD_OCTETS}
     * octets of UTF-8: a longer run without spaces is cut between characters. Counting characters instead would let a
     * partner's UTF-8 reply exceed 998 octets, and the transport's forced line break would then start a line of the
     * partner's choosing in the report (a forged "Status:" field).
     */
    private static String fold(String field) {
        var out = new StringBuilder(field.length() + 16);
        int lineStart = 0;
        int lastSpace = -1;
        int octets = 0; // UTF-8 octets of field[lineStart, i)
        for (int i = 0; i < field.length(); ) {
            int cp = field.codePointAt(i);
            int size = utf8Length(cp);
            if (cp == ' ' && i > lineStart) lastSpace = i;
            if (i - lineStart >= 78 && lastSpace > lineStart) {
                out.append(field, lineStart, lastSpace).append(CRLF);
                lineStart = lastSpace; // the space starts the continuation line
                lastSpace = -1;
                octets = utf8Length(field.substring(lineStart, i));
                continue; // this character again, on the new line
            }
            if (octets + size > HARD_OCTETS) {
                out.append(field, lineStart, i).append(CRLF).append(' ');
                lineStart = i;
                lastSpace = -1;
                octets = 1; // the space just added
                continue;
            }
            octets += size;
            i += Character.charCount(cp);
        }
        return out.append(field, lineStart, field.length()).append(CRLF).toString();
    }

    private static int utf8Length(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    private static int utf8Length(String s) {
        return s.codePoints().map(Bounces::utf8Length).sum();
    }

    /** The longest prefix of {@code s} (whole characters) that takes at most {@code octets} octets of UTF-8. */
    private static int prefixWithin(String s, int octets) {
        int used = 0;
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            if (used + utf8Length(cp) > octets) break;
            used += utf8Length(cp);
            i += Character.charCount(cp);
        }
        return i;
    }

    /** Appends {@code text} word-wrapped at 76 columns, each line indented; over-long words are split at 900 octets. */
    private static void wrap(StringBuilder out, String text, String indent) {
        var line = new StringBuilder(indent);
        for (String word : text.split(" +")) {
            while (utf8Length(word) > 900) { // octets, not characters: 900 of them fit any line
                int cut = prefixWithin(word, 900);
                if (line.length() > indent.length()) out.append(line).append(CRLF);
                out.append(indent).append(word, 0, cut).append(CRLF);
                line.setLength(0);
                line.append(indent);
                word = word.substring(cut);
            }
            if (line.length() > indent.length() && line.length() + 1 + word.length() > 76) {
                out.append(line).append(CRLF);
                line.setLength(0);
                line.append(indent);
            }
            if (line.length() > indent.length()) line.append(' ');
            line.append(word);
        }
        if (line.length() > indent.length()) out.append(line).append(CRLF);
    }

    private static String oneLine(String s) {
        return nonNull(s).replaceAll("[\\r\\n\\t\\x00-\\x1F\\x7F]+", " ").strip();
    }

    private static String nonNull(String s) { return s == null ? "" : s; }

    private static String encodingOf(String s) { return isAscii(s) ? "7bit" : "8bit"; }

    private static boolean isAscii(String s) { return s.chars().allMatch(c -> c < 0x80); }

    private static boolean is8bit(byte[] b) {
        for (byte x : b) {
            if (x < 0) return true;
        }
        return false;
    }

    private static int indexOf(byte[] b, byte v, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == v) return i;
        }
        return -1;
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }
}
