package dev.postern.alerts;

import dev.postern.audit.AlertRecord;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The mail channel's message: short plain text, from postmaster@hostname in the header and the null reverse path in
 * the envelope, so that it can never cause a bounce (nor a bounce of a bounce). Remote text (a certificate subject,
 * a next hop's reply) is kept on one line in the Subject, and non-ASCII there is replaced: headers stay 7-bit.
 */
final class AlertMail {
    private AlertMail() {}

    /** The message to {@code to}; {@code messageId} without angle brackets. */
    static byte[] message(String hostname, String gateway, String to, String messageId, AlertRecord r) {
        String subject = "[postern " + gateway + "] " + r.state() + ": " + r.summary();
        StringBuilder m = new StringBuilder();
        m.append("From: Postern alerts <postmaster@").append(hostname).append(">\r\n");
        m.append("To: <").append(to).append(">\r\n");
        m.append("Date: ").append(DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)))
                .append("\r\n");
        m.append("Message-ID: <").append(messageId).append(">\r\n");
        m.append("Subject: ").append(header(subject, 200)).append("\r\n");
        m.append("Auto-Submitted: auto-generated\r\n");
        m.append("X-Postern-Alert: ").append(header(r.key(), 200)).append("; ").append(r.state()).append("\r\n");
        m.append("MIME-Version: 1.0\r\n");
        m.append("Content-Type: text/plain; charset=utf-8\r\n");
        m.append("Content-Transfer-Encoding: 8bit\r\n\r\n");
        line(m, r.state() == AlertRecord.State.FIRING ? "Alert FIRING on " + gateway
                : "Alert RECOVERED on " + gateway);
        m.append("\r\n");
        line(m, "what:    " + r.summary());
        line(m, "kind:    " + r.kind());
        line(m, "key:     " + r.key());
        line(m, "subject: " + r.subject());
        line(m, "at:      " + r.at());
        if (r.detail() != null && !r.detail().isEmpty()) {
            m.append("\r\n");
            line(m, r.detail());
        }
        m.append("\r\n");
        line(m, "Active and recent alerts: postern alerts (or GET /api/alerts on the admin server).");
        return m.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A Message-ID for an alert mail. */
    static String messageId(String hostname, AlertRecord r) {
        return "alert." + r.state().name().toLowerCase(Locale.ROOT) + "." + Long.toString(r.at().toEpochMilli(), 36)
                + "." + Integer.toHexString(r.key().hashCode()) + "@" + hostname;
    }

    /** One header line: controls and non-ASCII replaced, cut at {@code max}. */
    static String header(String s, int max) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c >= 0x7f ? '?' : c);
        }
        return b.toString();
    }

    /** Body text: no bare CR or LF, no line longer than the RFC allows, a lone "." kept from ending the data. */
    private static void line(StringBuilder m, String text) {
        for (String l : text.replace("\r", "").split("\n", -1)) {
            String clean = l.codePoints().filter(c -> c >= 0x20 || c == '\t')
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
            while (clean.length() > 900) {
                m.append(clean, 0, 900).append("\r\n");
                clean = clean.substring(900);
            }
            m.append(clean).append("\r\n");
        }
    }
}
