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
     * Writes {@code content} (a message with CRLF line endings) dot-stuffed, followed by CRLF.CRLF; adds a CRLF first
     * if the content does not end with one. Streams; never holds the message in memory.
     *
     * <p>Empty content is sent as just ".CRLF". A bare CR or bare LF in the content is sent as CRLF, so we never emit
     * the ambiguous sequences SMTP smuggling relies on (CVE-2023-51764); CRLF content goes out byte-exact apart from
     * dot-stuffing. Flushes {@code out} at the end, since the caller's next step is to wait for the reply.
     */
    public static void writeData(InputStream content, OutputStream out) throws IOException {
        Objects.requireNonNull(content, "content");
        Objects.requireNonNull(out, "out");
        byte[] in = new byte[BUFFER_SIZE];
        // Few, large writes to the socket; runs longer than the buffer go straight through.
        BufferedOutputStream block = new BufferedOutputStream(out, BUFFER_SIZE);
        boolean lineStart = true;
        boolean pendingCr = false;
        int n;
        while ((n = content.read(in)) >= 0) {
            int p = 0;
            while (p < n) {
                byte b = in[p];
                if (pendingCr) {
                    pendingCr = false;
                    block.write(CRLF);
                    lineStart = true;
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
                    lineStart = true;
                    p++;
                } else {
                    if (lineStart && b == '.') block.write('.');
                    int i = p + 1;
                    while (i < n && in[i] != '\r' && in[i] != '\n') i++;
                    block.write(in, p, i - p);
                    lineStart = false;
                    p = i;
                }
            }
        }
        if (pendingCr || !lineStart) block.write(CRLF);
        block.write(TERMINATOR);
        block.flush(); // flushes out too
    }
}
