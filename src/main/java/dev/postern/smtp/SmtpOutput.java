package dev.postern.smtp;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;

/** The writing side helpers: dot-stuffed DATA and the check for bare line endings in content. */
public final class SmtpOutput {
    private SmtpOutput() {}

    private static final int BUFFER_SIZE = 8192;
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] TERMINATOR = {'.', '\r', '\n'};

    /**
     * RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF, "not counting the leading dot
     * duplicated for transparency".
     */
    public static final int MAX_LINE = 998;

    /**
     * Writes {@code content} (a message with CRLF line endings) dot-stuffed, followed by CRLF.CRLF; adds a CRLF first
     * if the content does not end with one. Streams; never holds the message in memory.
     *
     * <p>Empty content is sent as just ".CRLF". A bare CR or bare LF in the content is sent as CRLF, so we never emit
     * the ambiguous sequences SMTP smuggling relies on (CVE-2023-51764); CRLF content goes out byte-exact apart from
     * dot-stuffing. A line longer than {@link #MAX_LINE} octets (RFC 5321 §4.5.3.1.6; a stuffed dot is not counted,
     * so a line of 998 octets that starts with a dot goes out whole, as 999) is broken with an inserted CRLF, as Postfix does (smtp_line_length_limit): nothing is lost, the pieces concatenated are the
     * line. Flushes {@code out} at the end, since the caller's next step is to wait for the reply.
     */
    public static void writeData(InputStream content, OutputStream out) throws IOException {
        Objects.requireNonNull(content, "content");
        Objects.requireNonNull(out, "out");
        byte[] in = new byte[BUFFER_SIZE];
        // Few, large writes to the socket; runs longer than the buffer go straight through.
        BufferedOutputStream block = new BufferedOutputStream(out, BUFFER_SIZE);
        boolean pendingCr = false;
        int column = 0; // octets of the current line, a stuffed dot not counted (RFC 5321 §4.5.3.1.6)
        int n;
        while ((n = content.read(in)) >= 0) {
            int p = 0;
            while (p < n) {
                byte b = in[p];
                if (pendingCr) {
                    pendingCr = false;
                    block.write(CRLF);
                    column = 0;
                    if (b == '\n') {
                        p++;
                        continue;
                    }
                    // a bare CR was just turned into CRLF; b starts the next line
                }
                if (b == '\r') {
                    pendingCr = true;
                    p++;
                } else if (b == '\n') {
                    block.write(CRLF);
                    column = 0;
                    p++;
                } else {
                    if (column == MAX_LINE) { // full: break here, the rest goes on a line of its own
                        block.write(CRLF);
                        column = 0;
                    }
                    if (column == 0 && b == '.') block.write('.');
                    int i = p + 1;
                    int end = Math.min(n, p + (MAX_LINE - column));
                    while (i < end && in[i] != '\r' && in[i] != '\n') i++;
                    block.write(in, p, i - p);
                    column += i - p;
                    p = i;
                }
            }
        }
        if (pendingCr || column > 0) block.write(CRLF);
        block.write(TERMINATOR);
        block.flush(); // flushes out too
    }
}
