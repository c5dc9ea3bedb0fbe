package dev.postern.smtp;

import java.util.List;

/**
 * One SMTP reply (RFC 5321 §4.2): a three-digit code, an optional enhanced status code (RFC 3463, e.g. "5.7.1"),
 * and one or more text lines. Used by both the server (to send) and the client (to parse what a peer said).
 */
public record Reply(int code, String enhanced, List<String> lines) {

    public Reply {
        if (code < 200 || code > 599) throw new IllegalArgumentException("reply code out of range: " + code);
        lines = List.copyOf(lines.isEmpty() ? List.of("") : lines);
    }

    /** A one-line reply; {@code enhanced} may be null (for 220/221 greetings, and peers that do not send one). */
    public static Reply of(int code, String enhanced, String text) {
        throw new UnsupportedOperationException("TODO");
    }

    /** The wire form: every line "code-enh text" / last "code enh text", each ending in CRLF. */
    public String toWire() {
        throw new UnsupportedOperationException("TODO");
    }

    /** "550 5.1.1 first line" style summary for logs, DSNs and audit records (lines joined with "; "). */
    public String oneLine() {
        throw new UnsupportedOperationException("TODO");
    }

    public boolean isPositive() { return code < 400; }
    public boolean isTransient() { return code >= 400 && code < 500; }
    public boolean isPermanent() { return code >= 500; }
}
