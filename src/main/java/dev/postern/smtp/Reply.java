package dev.postern.smtp;

import java.util.List;
import java.util.regex.Pattern;

/**
 * One SMTP reply (RFC 5321 §4.2): a three-digit code, an optional enhanced status code (RFC 3463, e.g. "5.7.1"),
 * and one or more text lines. Used by both the server (to send) and the client (to parse what a peer said).
 */
public record Reply(int code, String enhanced, List<String> lines) {

    /** RFC 3463 status code: class "." subject "." detail. */
    static final Pattern ENHANCED = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}");

    public Reply {
        if (code < 200 || code > 599) throw new IllegalArgumentException("reply code out of range: " + code);
        // RFC 3463 §2: the class is the reply's ("250 5.1.1" is no enhanced code; a reader takes it for text)
        if (enhanced != null && (!ENHANCED.matcher(enhanced).matches() || enhanced.charAt(0) - '0' != code / 100)) {
            throw new IllegalArgumentException("enhanced status code " + enhanced + " does not fit reply " + code);
        }
        lines = List.copyOf(lines.isEmpty() ? List.of("") : lines);
    }

    /**
     * A reply; {@code enhanced} may be null (for 220/221 greetings, and peers that do not send one) and an empty
     * string counts as null. {@code text} may hold '\n' to make several lines; CRs are dropped. Throws
     * IllegalArgumentException for a malformed enhanced code, or one whose class (2, 4, 5) is not the reply's.
     */
    public static Reply of(int code, String enhanced, String text) {
        if (enhanced != null && enhanced.isEmpty()) enhanced = null;
        String clean = text == null ? "" : text.replace("\r", "");
        return new Reply(code, enhanced, List.of(clean.split("\n", -1)));
    }

    /**
     * The wire form: every line "code-enh text" / last "code enh text", each ending in CRLF. The enhanced code is
     * repeated on every line (RFC 2034 §3). A last line with nothing after the code is just "code". Any CR or LF
     * inside a line becomes a space so a line can never end early on the wire.
     */
    public String toWire() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            boolean last = i == lines.size() - 1;
            String content = content(lines.get(i).replace('\r', ' ').replace('\n', ' '));
            sb.append(code);
            if (!last) sb.append('-').append(content);
            else if (!content.isEmpty()) sb.append(' ').append(content);
            sb.append("\r\n");
        }
        return sb.toString();
    }

    /** "550 5.1.1 first line" style summary for logs, DSNs and audit records (lines joined with "; "). */
    public String oneLine() {
        String content = content(String.join("; ", lines));
        return content.isEmpty() ? Integer.toString(code) : code + " " + content;
    }

    public boolean isPositive() { return code < 400; }
    public boolean isTransient() { return code >= 400 && code < 500; }
    public boolean isPermanent() { return code >= 500; }

    /** Text with the enhanced code in front when there is one. */
    private String content(String text) {
        if (enhanced == null) return text;
        return text.isEmpty() ? enhanced : enhanced + " " + text;
    }
}
