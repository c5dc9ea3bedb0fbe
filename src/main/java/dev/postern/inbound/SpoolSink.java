package dev.postern.inbound;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Passes message content to the spool, keeping the first write failure (a full disk, an I/O error) instead of throwing
 * it: the session still reads the rest of the message up to its end, so it can answer 452/451 and stay in step with
 * the client. After a failure everything is dropped.
 */
final class SpoolSink extends FilterOutputStream {
    private IOException failure;

    SpoolSink(OutputStream spool) { super(spool); }

    @Override public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override public void write(byte[] b, int off, int len) {
        if (failure != null) return;
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            failure = e;
        }
    }

    @Override public void flush() {
        if (failure != null) return;
        try {
            out.flush();
        } catch (IOException e) {
            failure = e;
        }
    }

    /** Does not close the spool's stream: the spool's commit or abort does. */
    @Override public void close() { }

    /** The first failure, or null. */
    IOException failure() { return failure; }
}
