package dev.postern.audit;

import dev.postern.files.DurableFiles;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only spill file: records the store could not take (down or slow), one JSON line each
 * ({@link RecordCodec}), replayed oldest first. Next to it, {@code position} holds the byte offset up to which the
 * store has the records, replaced atomically after each replayed batch, so a crash replays at most one batch again
 * (the store's writes are idempotent). When everything is replayed both files go.
 *
 * <p>Used by the writer thread only (and by {@code close()} after that thread ended): not thread-safe, except
 * {@link #size()} which stats read.
 */
final class Spill implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(Spill.class);
    static final String FILE = "audit.spill";
    static final String POSITION = "position";

    private final Path dir;
    private final Path file;
    private final Path positionFile;
    private final long max;
    private final DurableFiles files;
    private FileChannel channel; // null while there is no spill file
    /** Whether the spill file this instance created has its directory entry fsynced (false until it is). */
    private boolean entryDurable = true;
    private volatile long size;
    private long position;
    private int tornAtOpen;
    private long warnedUpTo = -1; // a bad line read again (its batch failed) is not logged again

    private Spill(Path dir, long max, DurableFiles files) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.positionFile = dir.resolve(POSITION);
        this.max = max;
        this.files = files;
    }

    /**
     * Opens the spill in {@code dir} (creating the directory durably), cutting off a torn last line left by a crash in
     * the middle of an append.
     */
    static Spill open(Path dir, long max, DurableFiles files) throws IOException {
        Spill s = new Spill(dir, max, files);
        files.createDirectories(dir);
        if (!Files.exists(s.file)) {
            Files.deleteIfExists(s.positionFile); // left when a crash came between the two deletes of clear()
            return s;
        }
        s.channel = FileChannel.open(s.file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        s.size = s.channel.size();
        s.cutTornTail();
        s.position = s.readPosition();
        return s;
    }

    /** Lines lost to a crash in the middle of an append, found at open (0 or 1). */
    int tornAtOpen() { return tornAtOpen; }

    /** Bytes on disk. */
    long size() { return size; }

    /** Whether records wait to be replayed. */
    boolean pending() { return position < size; }

    /** Bytes still to replay. */
    long pendingBytes() { return size - position; }

    /** Where the records not yet replayed start. */
    long position() { return position; }

    /** What {@link #append} did: records kept (the first {@code kept} of the batch) and where they lie. */
    record Appended(int kept, long start, long end) { }

    /**
     * Appends the records in order while they fit under the maximum size, then fsyncs once. Records past the
     * maximum are not kept ({@code kept} says how many were). On an I/O error the file is cut back to where it was, so
     * no partial line stays, and the error is thrown.
     */
    Appended append(List<AuditRecord> batch) throws IOException {
        if (batch.isEmpty()) return new Appended(0, size, size);
        boolean created = channel == null && !Files.exists(file);
        if (channel == null) {
            // created 0600, then opened to be read back for the replay too; an existing file is one clear() could
            // not remove: appended to, its old lines replayed again at worst (the store ignores what it has)
            if (created) {
                files.createNew(file).close();
                entryDurable = false; // until an append succeeds: a failed first append (ENOSPC) is retried
            }
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            size = channel.size();
        }
        long start = size;
        var bytes = new ByteArrayOutputStream();
        int kept = 0;
        for (AuditRecord r : batch) {
            byte[] line = RecordCodec.encode(r);
            if (start + bytes.size() + line.length + 1 > max) break;
            bytes.write(line);
            bytes.write('\n');
            kept++;
        }
        if (kept == 0) return new Appended(0, start, start);
        try {
            files.writeAt(channel, file, start, bytes.toByteArray());
            if (!entryDurable) {
                files.syncDirectory(dir);
                entryDurable = true;
            }
        } catch (IOException e) {
            try {
                channel.truncate(start);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        size = start + bytes.size();
        return new Appended(kept, start, size);
    }

    /** Records read from the spill and the offset after the last line read. */
    record Batch(List<AuditRecord> records, long end, int unreadable) { }

    /**
     * Reads from the replay position up to {@code maxRecords} lines or about {@code maxBytes}. A line that is not a
     * record (corruption) is logged and skipped, counted in {@code unreadable}: one bad line never stops the replay.
     */
    Batch read(int maxRecords, int maxBytes) throws IOException {
        List<AuditRecord> out = new ArrayList<>();
        int unreadable = 0;
        long cursor = position, end = position;
        var line = new LineBuffer();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (out.size() + unreadable < maxRecords && end - position < maxBytes && cursor < size) {
            buf.clear();
            if (size - cursor < buf.capacity()) buf.limit((int) (size - cursor));
            int n = channel.read(buf, cursor);
            if (n <= 0) break;
            buf.flip();
            while (buf.hasRemaining() && out.size() + unreadable < maxRecords) {
                byte b = buf.get();
                cursor++;
                if (b != '\n') {
                    line.add(b);
                    continue;
                }
                try {
                    out.add(RecordCodec.decode(line.bytes, line.length));
                } catch (IOException | RuntimeException e) {
                    unreadable++;
                    if (end > warnedUpTo) {
                        log.warn("audit spill {}: skipped an unreadable line at byte {}: {}", file, end,
                                oneLine(e.getMessage()));
                    }
                }
                warnedUpTo = Math.max(warnedUpTo, end);
                end = cursor;
                line.length = 0;
            }
        }
        return new Batch(out, end, unreadable);
    }

    /** Records the store has everything before {@code offset}: durably, before anything else happens. */
    void advance(long offset) throws IOException {
        if (offset <= position) return;
        files.write(positionFile, (offset + "\n").getBytes(StandardCharsets.US_ASCII));
        position = offset;
    }

    /**
     * Removes the spill once everything is replayed. The spill file goes first, made durable, then the position: a
     * crash in between leaves a position without a file, which {@link #open} ignores; the other order could leave an
     * old position applied to a new file.
     */
    void clear() throws IOException {
        if (pending()) throw new IllegalStateException("records wait in the spill");
        if (channel == null) return;
        channel.close();
        channel = null;
        Files.deleteIfExists(file);
        files.syncDirectory(dir);
        Files.deleteIfExists(positionFile);
        files.syncDirectory(dir);
        size = 0;
        position = 0;
    }

    @Override public void close() throws IOException {
        if (channel != null) channel.close();
        channel = null;
    }

    /**
     * A crash in the middle of an append leaves part of a line (never fsynced, so never counted as kept). Cut it off
     * now: a line appended after it would otherwise be glued to it and lost as well.
     */
    private void cutTornTail() throws IOException {
        if (size == 0) return;
        long lastNewline = size - 1;
        ByteBuffer one = ByteBuffer.allocate(1);
        for (; lastNewline >= 0; lastNewline--) {
            one.clear();
            channel.read(one, lastNewline);
            if (one.get(0) == '\n') break;
        }
        long keep = lastNewline + 1;
        if (keep == size) return;
        log.warn("audit spill {}: cut off a torn last line of {} bytes at byte {} (the gateway stopped in the middle"
                + " of a write; that record was not kept)", file, size - keep, keep);
        channel.truncate(keep);
        files.sync(channel, file);
        size = keep;
        tornAtOpen = 1;
    }

    private long readPosition() throws IOException {
        String text;
        try {
            text = Files.readString(positionFile, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return 0;
        }
        try {
            long p = Long.parseLong(text);
            if (p >= 0 && p <= size) return p;
        } catch (NumberFormatException e) {
            // below
        }
        log.warn("audit spill {}: position file says {}, for a spill of {} bytes; replaying it all (the store"
                + " ignores records it has)", positionFile, text.length() > 40 ? text.substring(0, 40) : text, size);
        return 0;
    }

    static String oneLine(String s) {
        if (s == null) return "";
        String first = s.strip().lines().findFirst().orElse("");
        return first.length() > 300 ? first.substring(0, 300) + "..." : first;
    }

    /** A growable byte array for one line. */
    private static final class LineBuffer {
        byte[] bytes = new byte[4096];
        int length;

        void add(byte b) {
            if (length == bytes.length) bytes = java.util.Arrays.copyOf(bytes, length * 2);
            bytes[length++] = b;
        }
    }
}
