package dev.postern.smtp;

import java.io.EOFException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The reading side of an SMTP connection: strict CRLF lines with a length limit, DATA with dot-unstuffing and exact
 * end-of-data detection, and BDAT chunks. Buffered; the buffer can be inspected and discarded (STARTTLS must drop any
 * plaintext a client pipelined after the command, CVE-2011-0411).
 *
 * <p>Not thread-safe. The underlying stream is only read when the buffer is empty, so whatever a peer pipelined stays
 * visible to {@link #buffered()} until consumed.
 */
public final class SmtpInput {

    /**
     * What reading one DATA section found. {@code bytes} counts all content octets after dot-unstuffing (CRLFs
     * included, terminator excluded), also those past the limit, so it exceeds the limit exactly when {@code tooBig}.
     */
    public record DataResult(long bytes, boolean tooBig, boolean bareLineEnding) {}

    /** For message data (DATA, BDAT): few, large reads. */
    private static final int BUFFER_SIZE = 8192;
    /**
     * For command lines. A session waiting for its next command holds only this one, so thousands of idle sessions
     * do not each keep {@link #BUFFER_SIZE} bytes; the large buffer is made when data starts and dropped after it.
     */
    private static final int LINE_BUFFER_SIZE = 512;
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte DOT = '.';

    // readData states: where we are relative to the last CRLF
    private static final int LINE_START = 0;
    private static final int AFTER_DOT = 1;
    private static final int AFTER_DOT_CR = 2;
    private static final int IN_LINE = 3;
    private static final int AFTER_CR = 4;

    private final InputStream in;
    private final int maxLineLength;
    private final byte[] lineBuf = new byte[LINE_BUFFER_SIZE];
    /** The buffer being consumed: {@link #lineBuf}, or a large one while message data is read. */
    private byte[] buf = lineBuf;
    private int pos;
    private int limit;
    private byte[] line = new byte[128];

    /**
     * @param maxLineLength the longest line {@link #readLine()} accepts, in octets, not counting its CRLF
     */
    public SmtpInput(InputStream in, int maxLineLength) {
        this.in = Objects.requireNonNull(in, "in");
        if (maxLineLength <= 0) throw new IllegalArgumentException("maxLineLength must be positive");
        this.maxLineLength = maxLineLength;
    }

    /**
     * The next line without its CRLF, decoded as UTF-8 (malformed sequences become U+FFFD); null at end of stream.
     * A line longer than the limit is consumed to its end and reported with {@link LineTooLongException};
     * a bare LF or a CR not followed by LF is consumed to the end of that line and reported with
     * {@link BareLineEndingException} (which wins when both apply). End of stream in the middle of a line
     * (including right after its CR) throws {@link EOFException}.
     */
    public String readLine() throws IOException {
        return readLine(false);
    }

    /**
     * Like {@link #readLine()}, except that a line over the limit is reported as soon as it passes the limit, not
     * read to its end: for a peer whose over-long line ends the conversation anyway (the replies the SMTP client
     * reads), so that a line that never ends cannot keep the reader busy.
     */
    public String readBoundedLine() throws IOException {
        return readLine(true);
    }

    private String readLine(boolean failEarly) throws IOException {
        int len = 0;
        boolean started = false;
        boolean tooLong = false;
        boolean bare = false;
        boolean afterCr = false;
        while (true) {
            if (pos == limit && !fill(false)) {
                if (!started) return null;
                throw new EOFException("end of stream in the middle of a line");
            }
            started = true;
            if (afterCr) {
                afterCr = false;
                if (buf[pos] == LF) {
                    pos++;
                    break;
                }
                bare = true; // CR not followed by LF: keep going to the real end of the line
            }
            int i = pos;
            while (i < limit && buf[i] != CR && buf[i] != LF) i++;
            int run = i - pos;
            if (!tooLong && !bare) {
                if (len + run > maxLineLength) {
                    if (failEarly) throw new LineTooLongException(maxLineLength);
                    tooLong = true;
                } else {
                    ensureLineCapacity(len + run);
                    System.arraycopy(buf, pos, line, len, run);
                    len += run;
                }
            }
            pos = i;
            if (i == limit) continue;
            pos = i + 1;
            if (buf[i] == LF) {
                bare = true;
                break;
            }
            afterCr = true;
        }
        if (bare) throw new BareLineEndingException();
        if (tooLong) throw new LineTooLongException(maxLineLength);
        return new String(line, 0, len, StandardCharsets.UTF_8);
    }

    /**
     * Reads a DATA section up to and including the terminating CRLF.CRLF, undoing dot-stuffing, and writes the
     * content (each line with CRLF, without the terminator) to {@code sink}. Bytes beyond {@code maxBytes} are read
     * but not written (tooBig). A bare CR or LF anywhere sets bareLineEnding; only CRLF.CRLF ends the data, so
     * "LF.LF" or "LF.CRLF" never do. Throws EOFException if the stream ends first.
     *
     * <p>The data is taken to start right after the 354 reply, i.e. at the beginning of a line, so an immediate
     * ".CRLF" is empty data. Lines begin only after CRLF: a dot after a bare CR or LF is neither unstuffed nor a
     * terminator. Bare line endings are passed through unchanged. The sink is written in blocks and not flushed.
     */
    public DataResult readData(OutputStream sink, long maxBytes) throws IOException {
        Objects.requireNonNull(sink, "sink");
        if (maxBytes < 0) throw new IllegalArgumentException("maxBytes must not be negative");
        DataSink out = new DataSink(sink, maxBytes);
        boolean bare = false;
        int state = LINE_START;
        while (true) {
            if (pos == limit && !fill(true)) throw new EOFException("end of stream before end of DATA");
            switch (state) {
                case LINE_START -> {
                    if (buf[pos] == DOT) {
                        pos++;
                        state = AFTER_DOT;
                    } else {
                        state = IN_LINE;
                    }
                }
                case AFTER_DOT -> {
                    // A leading dot is always dropped (RFC 5321 §4.5.2); only ".CRLF" is the terminator.
                    if (buf[pos] == CR) {
                        pos++;
                        state = AFTER_DOT_CR;
                    } else {
                        state = IN_LINE;
                    }
                }
                case AFTER_DOT_CR -> {
                    if (buf[pos] == LF) {
                        pos++;
                        out.finish();
                        return new DataResult(out.total, out.total > maxBytes, bare);
                    }
                    bare = true; // ".CR" then something else: that CR is bare
                    out.write(CR);
                    state = IN_LINE;
                }
                case IN_LINE -> {
                    int i = pos;
                    while (i < limit && buf[i] != CR && buf[i] != LF) i++;
                    out.write(buf, pos, i - pos);
                    pos = i;
                    if (i < limit) {
                        pos++;
                        if (buf[i] == CR) {
                            state = AFTER_CR;
                        } else {
                            bare = true;
                            out.write(LF);
                        }
                    }
                }
                case AFTER_CR -> {
                    if (buf[pos] == LF) {
                        pos++;
                        out.write(CR, LF);
                        state = LINE_START;
                    } else {
                        bare = true;
                        out.write(CR);
                        state = IN_LINE; // the current byte may itself be a CR; IN_LINE handles it
                    }
                }
                default -> throw new IllegalStateException();
            }
        }
    }

    /** Copies exactly {@code n} bytes (a BDAT chunk) to {@code sink}; EOFException if the stream ends first. */
    public void readChunk(long n, OutputStream sink) throws IOException {
        Objects.requireNonNull(sink, "sink");
        if (n < 0) throw new IllegalArgumentException("chunk size must not be negative");
        long left = n;
        while (left > 0) {
            if (pos == limit && !fill(true)) throw new EOFException("end of stream inside a BDAT chunk");
            int k = (int) Math.min(left, limit - pos);
            sink.write(buf, pos, k);
            pos += k;
            left -= k;
        }
    }

    /** How many bytes are buffered and not yet consumed (pipelined input). */
    public int buffered() {
        return limit - pos;
    }

    /** Drops whatever is buffered. */
    public void discardBuffered() {
        pos = limit;
    }

    /**
     * Refills the empty buffer with one read; false at end of stream. {@code bulk}: message data, read into the large
     * buffer (kept while data goes on); otherwise into the small line buffer, and a large one is let go.
     */
    private boolean fill(boolean bulk) throws IOException {
        byte[] into = !bulk ? lineBuf : buf.length == BUFFER_SIZE ? buf : new byte[BUFFER_SIZE];
        int n;
        do {
            n = in.read(into, 0, into.length);
        } while (n == 0);
        buf = into;
        pos = 0;
        if (n < 0) {
            limit = 0;
            return false;
        }
        limit = n;
        return true;
    }

    private void ensureLineCapacity(int needed) {
        if (needed > line.length) line = Arrays.copyOf(line, Math.max(needed, Math.min(line.length * 2, maxLineLength)));
    }

    /** Passes DATA output on in blocks (few, large writes) and enforces the size limit. */
    private static final class DataSink {
        private final Blocks sink;
        private final long maxBytes;
        long total;

        DataSink(OutputStream sink, long maxBytes) {
            this.sink = new Blocks(sink);
            this.maxBytes = maxBytes;
        }

        void write(byte b) throws IOException {
            if (total++ >= maxBytes) return;
            sink.write(b);
        }

        void write(byte a, byte b) throws IOException {
            write(a);
            write(b);
        }

        void write(byte[] src, int off, int len) throws IOException {
            long room = maxBytes - total;
            total += len;
            if (room <= 0) return;
            sink.write(src, off, (int) Math.min(len, room));
        }

        /** Hands over what is buffered; the caller's stream itself is not flushed (the spool decides that). */
        void finish() throws IOException {
            sink.drain();
        }

        /** A BufferedOutputStream that can hand over its buffer without flushing the stream under it. */
        private static final class Blocks extends BufferedOutputStream {
            Blocks(OutputStream out) { super(out, BUFFER_SIZE); }

            void drain() throws IOException {
                if (count > 0) out.write(buf, 0, count);
                count = 0;
            }
        }
    }
}
