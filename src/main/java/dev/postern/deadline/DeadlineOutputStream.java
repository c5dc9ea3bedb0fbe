package dev.postern.deadline;

import java.io.Closeable;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * An output stream whose every write and flush must finish within the current limit, or {@code onExpiry} (the
 * socket) is closed and the call fails with a {@link WriteTimeoutException}. The limit is read for each call, so a
 * caller can use a longer one for message content than for commands.
 */
public final class DeadlineOutputStream extends FilterOutputStream {
    private final Watchdog watchdog;
    private final Supplier<Duration> limit;
    private final Closeable onExpiry;

    public DeadlineOutputStream(OutputStream out, Watchdog watchdog, Supplier<Duration> limit, Closeable onExpiry) {
        super(out);
        this.watchdog = watchdog;
        this.limit = limit;
        this.onExpiry = onExpiry;
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
        Watchdog.Armed armed = watchdog.arm(limit.get(), onExpiry);
        try (armed) {
            out.write(b, off, len);
        } catch (IOException e) {
            throw armed.fired() ? new WriteTimeoutException(armed.limit(), e) : e;
        }
        if (armed.fired()) throw new WriteTimeoutException(armed.limit(), null); // finished just as it fired
    }

    @Override public void flush() throws IOException {
        Watchdog.Armed armed = watchdog.arm(limit.get(), onExpiry);
        try (armed) {
            out.flush();
        } catch (IOException e) {
            throw armed.fired() ? new WriteTimeoutException(armed.limit(), e) : e;
        }
        if (armed.fired()) throw new WriteTimeoutException(armed.limit(), null);
    }
}
