package dev.postern.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A file read into a value and re-read when it changes on disk (modification time, size or identity), so an
 * administrator's edit takes effect without a restart. A version that has become unreadable, malformed or missing is
 * logged and the last good value kept, so a half-edited file does not lock everybody out; it is not re-read again
 * until it changes. Thread-safe; a look at an unchanged file costs one stat.
 *
 * @param <T> what the file is read into
 */
public final class WatchedFile<T> {
    private static final Logger log = LoggerFactory.getLogger(WatchedFile.class);

    /** Reads the file into its value; throws with a message naming the file (and line) on a bad one. */
    public interface Loader<T> {
        T load(Path file) throws IOException;
    }

    private record Stamp(FileTime modified, long size, Object key) {}
    private record Snapshot<T>(Stamp stamp, T value) {}

    private static final Stamp MISSING = new Stamp(null, -1, null);

    private final Path file;
    private final String what;
    private final Loader<T> loader;
    private final Function<T, String> summary;
    private volatile Snapshot<T> snapshot;

    /**
     * Reads the file now: a bad file is an error here (at start), unlike at later changes.
     *
     * @param what the file's kind for log lines ("password file")
     * @param summary what a log line says of a value read ("3 user(s)")
     */
    public WatchedFile(Path file, String what, Loader<T> loader, Function<T, String> summary) throws IOException {
        this.file = file;
        this.what = what;
        this.loader = loader;
        this.summary = summary;
        Stamp stamp = stamp();
        this.snapshot = new Snapshot<>(stamp, loader.load(file));
    }

    public Path file() { return file; }

    /** The value of the file as it is on disk now, or the last good one. */
    public T current() {
        Snapshot<T> s = snapshot;
        Stamp now;
        try {
            now = stamp();
        } catch (IOException e) {
            return s.value();
        }
        if (now.equals(s.stamp())) return s.value();
        synchronized (this) {
            s = snapshot;
            if (now.equals(s.stamp())) return s.value();
            T next = s.value();
            try {
                next = loader.load(file);
                log.info("{} {} re-read: {}", what, file, summary.apply(next));
            } catch (IOException e) {
                log.warn("{} not re-read, keeping the previous version: {}", what, e.getMessage());
            }
            snapshot = new Snapshot<>(now, next); // a bad version is not re-read on every use
            return next;
        }
    }

    private Stamp stamp() throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(a.lastModifiedTime(), a.size(), Objects.requireNonNullElse(a.fileKey(), ""));
        } catch (NoSuchFileException e) {
            return MISSING;
        }
    }
}
