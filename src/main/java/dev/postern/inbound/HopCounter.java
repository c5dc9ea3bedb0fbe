package dev.postern.inbound;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Passes message content through while counting the {@code Received:} header fields of its header section (RFC 5321
 * §6.3: a message with too many is in a loop). Counts as the content streams by, so no second pass over the spooled
 * file: a field name starts a line (a folded continuation starts with white space, so a folded header counts once),
 * is matched without regard to case and may be followed by white space before the colon (RFC 5322 §4.5.3's obsolete
 * form); the header section ends at the first empty line, so the body is not looked at.
 */
final class HopCounter extends FilterOutputStream {
    private static final byte[] NAME = "received".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Bytes of {@link #NAME} matched at the current line's start; see the constants below for the other states. */
    private int state = 0;
    private static final int AFTER_NAME = NAME.length; // name matched, white space or the colon may follow
    private static final int REST_OF_LINE = -1;
    private static final int AFTER_CR_AT_START = -2; // a CR at a line's start: an empty line if LF follows
    private static final int BODY = -3;
    private int hops;

    HopCounter(OutputStream out) { super(out); }

    @Override public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override public void write(byte[] b, int off, int len) throws IOException {
        for (int i = off; i < off + len && state != BODY; i++) step(b[i]);
        out.write(b, off, len);
    }

    private void step(byte c) {
        if (state == 0) {
            if (c == '\r') state = AFTER_CR_AT_START;
            else if (c == '\n') state = BODY; // a bare LF: the message is refused anyway; stop looking
            else state = lower(c) == NAME[0] ? 1 : REST_OF_LINE;
        } else if (state == AFTER_CR_AT_START) {
            state = c == '\n' ? BODY : c == '\r' ? AFTER_CR_AT_START : REST_OF_LINE;
        } else if (state > 0 && state < AFTER_NAME) {
            state = lower(c) == NAME[state] ? state + 1 : c == '\n' ? 0 : REST_OF_LINE;
        } else if (state == AFTER_NAME) {
            if (c == ':') {
                hops++;
                state = REST_OF_LINE;
            } else if (c != ' ' && c != '\t') {
                state = c == '\n' ? 0 : REST_OF_LINE;
            }
        } else if (c == '\n') { // REST_OF_LINE
            state = 0;
        }
    }

    private static byte lower(byte c) {
        return c >= 'A' && c <= 'Z' ? (byte) (c + ('a' - 'A')) : c;
    }

    /** {@code Received:} fields seen in the header section so far. */
    int hops() { return hops; }
}
