package dev.postern.inbound;

import dev.postern.deadline.DeadlineOutputStream;
import dev.postern.deadline.IoWatchdog;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * Every read and write of one session under a deadline, and the whole session under {@code session_timeout}.
 *
 * <p>Reads: the socket's read timeout is set before each read to the current per-read timeout (command or data),
 * cut to what is left of the session, so a client trickling one byte at a time still meets the session's end; the
 * read then fails with {@link SocketTimeoutException} and a 421 can still be sent. Writes: a reply the client does not
 * take within the write timeout (cut to the session's end plus a short grace for the last reply) gets the socket
 * closed by the {@link IoWatchdog}, as does a read the socket timeout somehow did not end.
 *
 * <p>Not thread-safe: the session's thread owns it.
 */
final class SessionDeadlines implements AutoCloseable {
    /** Time a final reply may take after the session's end, and the watchdog's margin over a read timeout. */
    static final long GRACE_NANOS = Duration.ofSeconds(1).toNanos();

    private final IoWatchdog.Deadline watch;
    private final long sessionEnd;
    private final long writeTimeout;
    private long readTimeout;
    private boolean sessionExpired;
    /** Bytes read from the client so far (written by the session's thread, read by the server's sweeper). */
    private volatile long bytesRead;

    /**
     * @param tcp the connection's TCP socket: the one closed when a deadline passes (closing a TLS socket instead could
     *            wait on the very write that is stuck)
     */
    SessionDeadlines(IoWatchdog watchdog, Socket tcp, Duration session, Duration readTimeout, Duration writeTimeout) {
        this.watch = watchdog.watch(tcp);
        this.sessionEnd = System.nanoTime() + session.toNanos();
        this.readTimeout = readTimeout.toNanos();
        this.writeTimeout = writeTimeout.toNanos();
    }

    /** The per-read timeout from now on (command or data timeout). */
    void readTimeout(Duration timeout) { readTimeout = timeout.toNanos(); }

    /** True when a read failed because the session's time was up (rather than the per-read timeout). */
    boolean sessionExpired() { return sessionExpired; }

    /** Bytes read from the client so far (after TLS: the plain text). */
    long bytesRead() { return bytesRead; }

    /** True when the watchdog closed the connection. */
    boolean closedByWatchdog() { return watch.fired(); }

    /** Reads from {@code in} (a stream of {@code socket}) under the read deadline. */
    InputStream input(Socket socket, InputStream in) {
        return new FilterInputStream(in) {
            @Override public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override public int read(byte[] b, int off, int len) throws IOException {
                long end = armRead(socket);
                try {
                    int n = super.read(b, off, len);
                    if (n > 0) bytesRead += n; // one writer: the session's thread
                    return n;
                } catch (SocketTimeoutException e) {
                    if (end == sessionEnd) sessionExpired = true;
                    throw e;
                } finally {
                    watch.disarm();
                }
            }
        };
    }

    /** Writes to {@code out} under the write deadline. */
    OutputStream output(OutputStream out) {
        return new DeadlineOutputStream(out, watch, this::writeLimit);
    }

    /**
     * Runs I/O this class does not see (a TLS handshake) under the read deadline and the watchdog; close the result
     * when it is done.
     */
    Bounded during(Socket socket) throws IOException {
        armRead(socket);
        return watch::disarm;
    }

    /** Guarded I/O in progress; closing it disarms the watchdog. */
    interface Bounded extends AutoCloseable {
        @Override void close();
    }

    /** Sets the socket's read timeout and arms the watchdog behind it; returns the read's end (nanoTime). */
    private long armRead(Socket socket) throws IOException {
        long now = System.nanoTime();
        long end = now + readTimeout - sessionEnd < 0 ? now + readTimeout : sessionEnd;
        long millis = (end - now + 999_999) / 1_000_000;
        if (millis <= 0) {
            if (end == sessionEnd) sessionExpired = true;
            throw new SocketTimeoutException("session time is up");
        }
        socket.setSoTimeout((int) Math.min(millis, Integer.MAX_VALUE));
        watch.arm(end + GRACE_NANOS);
        return end;
    }

    /** How long the next write may take: the write timeout, cut to the session's end plus the grace time. */
    private Duration writeLimit() {
        long now = System.nanoTime();
        long cap = (now - sessionEnd < 0 ? sessionEnd : now) + GRACE_NANOS;
        return Duration.ofNanos(now + writeTimeout - cap < 0 ? writeTimeout : cap - now);
    }

    /** Bounds closing the connection (a TLS close_notify is a write) by the grace time. */
    void closing() { watch.arm(System.nanoTime() + GRACE_NANOS); }

    /** Stops watching the connection (the socket is the session's to close). */
    @Override public void close() { watch.close(); }
}
