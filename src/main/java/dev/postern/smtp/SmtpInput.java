package dev.postern.smtp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The reading side of an SMTP connection: strict CRLF lines with a length limit, DATA with dot-unstuffing and exact
 * end-of-data detection, and BDAT chunks. Buffered; the buffer can be inspected and discarded (STARTTLS must drop any
 * plaintext a client pipelined after the command, CVE-2011-0411).
 */
public final class SmtpInput {

    /** What reading one DATA section found. */
    public record DataResult(long bytes, boolean tooBig, boolean bareLineEnding) {}

    public SmtpInput(InputStream in, int maxLineLength) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * The next line without its CRLF, decoded as UTF-8; null at end of stream.
     * A line longer than the limit is consumed to its end and reported with {@link LineTooLongException};
     * a bare LF or a CR not followed by LF is consumed to the end of that line and reported with
     * {@link BareLineEndingException}.
     */
    public String readLine() throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Reads a DATA section up to and including the terminating CRLF.CRLF, undoing dot-stuffing, and writes the
     * content (each line with CRLF, without the terminator) to {@code sink}. Bytes beyond {@code maxBytes} are read
     * but not written (tooBig). A bare CR or LF anywhere sets bareLineEnding; only CRLF.CRLF ends the data, so
     * "LF.LF" or "LF.CRLF" never do. Throws EOFException if the stream ends first.
     */
    public DataResult readData(OutputStream sink, long maxBytes) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Copies exactly {@code n} bytes (a BDAT chunk) to {@code sink}; EOFException if the stream ends first. */
    public void readChunk(long n, OutputStream sink) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** How many bytes are buffered and not yet consumed (pipelined input). */
    public int buffered() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Drops whatever is buffered. */
    public void discardBuffered() {
        throw new UnsupportedOperationException("TODO");
    }
}
