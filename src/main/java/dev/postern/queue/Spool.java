package dev.postern.queue;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The queue on disk. Layout under the queue directory:
 * {@code incoming/} (content and envelope being written), {@code messages/ID.eml} (committed content),
 * {@code active/ID.env}, {@code deferred/ID.env}, {@code hold/ID.env} (envelope; the directory is the state).
 * A message exists once its envelope has been renamed into {@code active/} and the directory fsynced; that is the
 * moment DATA may be answered with 250. Concurrent commits share directory fsyncs (group commit).
 */
public final class Spool implements Closeable {

    /** Opens (creating if needed) the spool under {@code dir}. */
    public static Spool open(Path dir) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Crash recovery, run once at start before anything else: deletes everything in incoming/, content with no
     * envelope, and older duplicate envelopes; returns the envelopes of all messages in every state.
     */
    public List<Entry> recover() throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Starts receiving a new message with a fresh id. */
    public Incoming receive() throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** A message being received. Not thread-safe; one session owns it. */
    public interface Incoming extends Closeable {
        String id();

        /** Where the content goes (buffered, to a file in incoming/). */
        OutputStream body();

        /**
         * Makes the message durable: flushes and fsyncs the content, writes and fsyncs the envelope, renames both
         * into place and fsyncs the directories (shared with concurrent commits). Returns only when the message
         * would survive a crash. The envelope's id must be {@link #id()}.
         */
        void commit(Envelope envelope) throws IOException;

        /** Aborts (deletes the partial files) unless committed. */
        @Override void close();
    }

    /** A queued message's envelope and state. */
    public record Entry(Envelope envelope, QueueState state) {}

    /** All messages, in id (= arrival) order. */
    public List<Entry> list() throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    public Optional<Entry> find(String id) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** The committed content, as received (including the Received header the gateway added). */
    public InputStream openContent(String id) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Writes a new version of the envelope (version + 1) into {@code state}, durably, removing the old one. */
    public Envelope update(Envelope envelope, QueueState state) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Removes a message (content and envelope), durably. */
    public void delete(String id) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Usable bytes left on the spool's filesystem (the inbound side answers 452 4.3.1 when low). */
    public long usableSpace() throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    @Override public void close() {
        throw new UnsupportedOperationException("TODO");
    }
}
