package dev.postern.smtp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** The writing side helpers: dot-stuffed DATA and the check for bare line endings in content. */
public final class SmtpOutput {
    private SmtpOutput() {}

    /**
     * Writes {@code content} (a message with CRLF line endings) dot-stuffed, followed by CRLF.CRLF; adds a CRLF first
     * if the content does not end with one. Streams; never holds the message in memory.
     */
    public static void writeData(InputStream content, OutputStream out) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }
}
