package dev.postern.smtp;

import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.util.ArrayList;
import java.util.List;

/** Reads (possibly multi-line) replies from a server, for the SMTP client side. */
public final class ReplyReader {
    private ReplyReader() {}

    /** More lines than any sane server sends (EHLO lists a few dozen); bounds memory against a hostile peer. */
    static final int MAX_LINES = 1000;

    /**
     * Reads one reply: lines "ddd-text" until "ddd text" (or "ddd"). Extracts an enhanced status code when the first
     * line's text starts with one (class 2/4/5 matching the reply code). Throws {@link java.net.ProtocolException} for
     * a malformed line, EOFException at end of stream.
     *
     * <p>When an enhanced code is found, the same code is also stripped from the start of later lines (RFC 2034
     * servers repeat it). Over-long lines and bare CR/LF count as malformed (ProtocolException); codes outside
     * 200..599 and a code that changes between lines too.
     */
    public static Reply read(SmtpInput in) throws IOException {
        List<String> texts = new ArrayList<>();
        int code = -1;
        while (true) {
            String line;
            try {
                line = in.readBoundedLine(); // an over-long line fails at once: it is never read to an end
            } catch (LineTooLongException | BareLineEndingException e) {
                throw new ProtocolException("malformed reply line: " + e.getMessage());
            }
            if (line == null) throw new EOFException("end of stream while reading a reply");
            int lineCode = parseCode(line);
            if (code == -1) code = lineCode;
            else if (lineCode != code) throw new ProtocolException("reply code changed within a reply: " + sample(line));
            if (texts.size() >= MAX_LINES) throw new ProtocolException("reply has too many lines");
            boolean more = line.length() > 3 && line.charAt(3) == '-';
            texts.add(line.length() > 4 ? line.substring(4) : "");
            if (!more) break;
        }
        String enhanced = enhancedPrefix(code, texts.getFirst());
        if (enhanced != null) {
            for (int i = 0; i < texts.size(); i++) texts.set(i, stripPrefix(texts.get(i), enhanced));
        }
        return new Reply(code, enhanced, texts);
    }

    private static int parseCode(String line) throws ProtocolException {
        if (line.length() < 3 || !isDigit(line.charAt(0)) || !isDigit(line.charAt(1)) || !isDigit(line.charAt(2))) {
            throw new ProtocolException("malformed reply line: " + sample(line));
        }
        if (line.length() > 3 && line.charAt(3) != '-' && line.charAt(3) != ' ') {
            throw new ProtocolException("malformed reply line: " + sample(line));
        }
        int code = Integer.parseInt(line, 0, 3, 10);
        if (code < 200 || code > 599) throw new ProtocolException("reply code out of range: " + code);
        return code;
    }

    /** The enhanced code at the start of {@code text}, or null when absent or of the wrong class. */
    static String enhancedPrefix(int code, String text) {
        int end = text.indexOf(' ');
        String candidate = end < 0 ? text : text.substring(0, end);
        if (!Reply.ENHANCED.matcher(candidate).matches()) return null;
        return candidate.charAt(0) - '0' == code / 100 ? candidate : null;
    }

    private static String stripPrefix(String text, String enhanced) {
        if (text.equals(enhanced)) return "";
        return text.startsWith(enhanced + " ") ? text.substring(enhanced.length() + 1) : text;
    }

    private static boolean isDigit(char c) { return c >= '0' && c <= '9'; }

    /** A short, printable excerpt of a peer's line for an exception message. */
    private static String sample(String line) {
        String s = line.length() > 40 ? line.substring(0, 40) + "..." : line;
        return s.replaceAll("\\p{Cntrl}", "?");
    }
}
