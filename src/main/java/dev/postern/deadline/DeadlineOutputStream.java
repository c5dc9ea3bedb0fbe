package dev.postern.deadline;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * An output stream whose every write and flush must finish within the current limit, or the watched socket is closed
 * and the call fails with a {@link WriteTimeoutException}. The limit is read for each call, so a caller can use a
 * longer one for message content than for commands. A peer that keeps reading, however slowly, is never cut off: the
 * deadline bounds one blocked call, not the sum of them.
 */
public final class DeadlineOutputStream extends FilterOutputStream {
    private final IoWatchdog.Deadline deadline;
    private final Supplier<Duration> limit;

    /** @param deadline the watchdog's handle on the socket {@code out} writes to */
    public DeadlineOutputStream(OutputStream out, IoWatchdog.Deadline deadline, Supplier<Duration> limit) {
        super(out);
        this.deadline = deadline;
        this.limit = limit;
    }

    /** A write that did not finish in time; the socket is closed. */
    public static final class WriteTimeoutException extends IOException {
        WriteTimeoutException(Duration limit, IOException cause) {
            super("write timed out after " + limit.toMillis() / 1000.0 + " s (the peer stopped reading)", cause);
        }
    }

    @Override public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override public void write(byte[] b, int off, int len) throws IOException {
        Duration l = limit.get();
        deadline.arm(System.nanoTime() + l.toNanos());
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            throw deadline.fired() ? new WriteTimeoutException(l, e) : e;
        } finally {
            deadline.disarm();
        }
        if (deadline.fired()) throw new WriteTimeoutException(l, null); // finished just as it fired
    }

    @Override public void flush() throws IOException {
        Duration l = limit.get();
        deadline.arm(System.nanoTime() + l.toNanos());
        try {
            out.flush();
        } catch (IOException e) {
            throw deadline.fired() ? new WriteTimeoutException(l, e) : e;
        } finally {
            deadline.disarm();
        }
        if (deadline.fired()) throw new WriteTimeoutException(l, null);
    }
}
