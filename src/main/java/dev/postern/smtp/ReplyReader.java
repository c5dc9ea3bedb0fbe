package dev.postern.smtp;

import java.io.IOException;

/** Reads (possibly multi-line) replies from a server, for the SMTP client side. */
public final class ReplyReader {
    private ReplyReader() {}

    /**
     * Reads one reply: lines "ddd-text" until "ddd text" (or "ddd"). Extracts an enhanced status code when the first
     * line's text starts with one (class 2/4/5 matching the reply code). Throws {@link java.net.ProtocolException} for
     * a malformed line, EOFException at end of stream.
     */
    public static Reply read(SmtpInput in) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }
}
