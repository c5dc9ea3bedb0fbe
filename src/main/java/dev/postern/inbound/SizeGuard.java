package dev.postern.inbound;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Passes BDAT chunks through to the spool while counting them, refusing to write past the size limit, and watching
 * for bare CR or LF across chunk boundaries (BDAT has no end-of-data marker to smuggle, but the message is relayed
 * later with DATA, where a bare LF would matter).
 */
final class SizeGuard extends FilterOutputStream {
    private final long max;
    private long count;
    private boolean tooBig;
    private boolean bare;
    private boolean lastWasCr;

    SizeGuard(OutputStream out, long max) {
        super(out);
        this.max = max;
    }

    @Override public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override public void write(byte[] b, int off, int len) throws IOException {
        for (int i = off; i < off + len; i++) {
            byte c = b[i];
            if (lastWasCr && c != '\n') bare = true;
            if (c == '\n' && !lastWasCr) bare = true;
            lastWasCr = c == '\r';
        }
        count += len;
        if (count > max) tooBig = true;
        if (!tooBig && !bare) out.write(b, off, len);
    }

    /** At the last chunk: a CR at the very end is bare too. */
    void finish() {
        if (lastWasCr) bare = true;
    }

    long count() { return count; }
    boolean tooBig() { return tooBig; }
    boolean bareLineEnding() { return bare; }
}
