package dev.postern.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The one way Postern writes files that must survive a crash and stay private: files are created with mode 0600 and
 * directories with 0700 at creation (an explicit mode, never the process umask, and no chmod window), file contents
 * are fsynced, replacements go through a temporary file renamed over the target, and every new directory entry is made
 * durable by fsyncing the directory that holds it.
 *
 * <p>The steps are public too, so that the spool can write and rename now and leave the directory fsync to its group
 * committer. An {@link Observer} sees every step (tests check the order with it).
 */
public final class DurableFiles {

    /** Mode of every file Postern creates holding mail, users, keys or state. */
    public static final Set<PosixFilePermission> PRIVATE_FILE = PosixFilePermissions.fromString("rw-------");
    /** Mode of public files written on request (certificates, certificate requests). */
    public static final Set<PosixFilePermission> PUBLIC_FILE = PosixFilePermissions.fromString("rw-r--r--");
    /** Mode of every directory Postern creates. */
    public static final Set<PosixFilePermission> PRIVATE_DIRECTORY = PosixFilePermissions.fromString("rwx------");

    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Sees each durability step as it completes. */
    public interface Observer {
        default void directoryCreated(Path dir) {}

        default void fileSynced(Path file) {}

        default void renamed(Path from, Path to) {}

        default void directorySynced(Path dir) {}

        default void deleted(Path file) {}

        Observer NONE = new Observer() {};
    }

    /** The instance everyone uses outside tests. */
    public static final DurableFiles SYSTEM = new DurableFiles(Observer.NONE);

    private final Observer observer;

    private DurableFiles(Observer observer) {
        this.observer = observer;
    }

    /** An instance that reports every step to {@code observer} (for tests). */
    public static DurableFiles observed(Observer observer) {
        return new DurableFiles(observer);
    }

    /**
     * Creates the missing directories of each path, mode 0700, and fsyncs the parent of each one it created, so that
     * they exist after a crash. Existing directories are left as they are (an administrator may have chosen their
     * mode). Returns the directories created, outermost first.
     */
    public List<Path> createDirectories(Path... dirs) throws IOException {
        // One at a time in this process: a thread that finds a directory another thread has just made must not go on
        // before that directory's parent is fsynced. Finding everything in place takes a few stat calls.
        synchronized (DurableFiles.class) {
            return createDirectoriesLocked(dirs);
        }
    }

    private List<Path> createDirectoriesLocked(Path... dirs) throws IOException {
        List<Path> created = new ArrayList<>();
        for (Path dir : dirs) {
            Path abs = dir.toAbsolutePath();
            List<Path> missing = new ArrayList<>();
            for (Path p = abs; p != null && !Files.isDirectory(p); p = p.getParent()) missing.addFirst(p);
            for (Path p : missing) {
                try {
                    Files.createDirectory(p, attributes(PRIVATE_DIRECTORY));
                } catch (FileAlreadyExistsException e) {
                    if (!Files.isDirectory(p)) throw e;
                    continue; // made meanwhile by another process (the CLI); it syncs the parent itself
                }
                restoreOwnerBits(p, PRIVATE_DIRECTORY);
                observer.directoryCreated(p);
                created.add(p);
            }
        }
        Set<Path> parents = new LinkedHashSet<>();
        for (Path p : created) parents.add(p.getParent());
        for (Path parent : parents) syncDirectory(parent);
        return created;
    }

    /**
     * Creates a new file, mode 0600, open for writing; fails if it exists (and never follows a symbolic link). The
     * caller writes, then {@link #sync}s it; the directory entry is durable only after {@link #syncDirectory}.
     */
    public FileChannel createNew(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                attributes(PRIVATE_FILE));
        try {
            restoreOwnerBits(file, PRIVATE_FILE);
        } catch (IOException | RuntimeException e) {
            ch.close();
            deleteQuietly(file, e);
            throw e;
        }
        return ch;
    }

    /** fsyncs a file's data and metadata. */
    public void sync(FileChannel channel, Path file) throws IOException {
        channel.force(true);
        observer.fileSynced(file);
    }

    /**
     * fdatasyncs a file this process created and wrote from the start ({@link #createNew}): its data, and of its
     * metadata what reading the data back needs. For a new file that is its size and block allocation, which Linux's
     * fdatasync(2) flushes; the times it leaves are not needed, and the name is made durable by the caller's
     * {@link #syncDirectory}. A chmod that put back owner bits an odd umask took is not covered either (on ext4 and
     * XFS it is in the journal transaction the new size commits; elsewhere a crash could bring the file back with
     * the umask's mode, never wider). On ext4 the saving is small for a new file (its
     * size changed, so the journal is committed anyway): this asks for what the file needs, no more.
     */
    public void syncData(FileChannel channel, Path file) throws IOException {
        channel.force(false);
        observer.fileSynced(file);
    }

    /**
     * unlink(2) if it exists; returns whether it did. Durable only once the directory is synced, which the caller
     * may leave out where an entry that comes back after a crash is harmless.
     */
    public boolean delete(Path file) throws IOException {
        boolean deleted = Files.deleteIfExists(file);
        if (deleted) observer.deleted(file);
        return deleted;
    }

    /**
     * Writes all of {@code bytes} at {@code offset} of an open file and fsyncs it (an append-only log that is read back
     * through the same channel, like the audit spill); on failure the caller decides what to cut back.
     */
    public void writeAt(FileChannel channel, Path file, long offset, byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        long at = offset;
        while (buf.hasRemaining()) at += channel.write(buf, at);
        sync(channel, file);
    }

    /**
     * Writes {@code bytes} to a new file (mode 0600) and fsyncs it; the directory is not synced (see
     * {@link #syncDirectory}). A file of that name left by an earlier failed attempt is replaced; on failure the
     * file is removed.
     */
    public void writeNew(Path file, byte[] bytes) throws IOException {
        writeNew(file, bytes, PRIVATE_FILE);
    }

    private void writeNew(Path file, byte[] bytes, Set<PosixFilePermission> mode) throws IOException {
        Files.deleteIfExists(file);
        try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                attributes(mode))) {
            restoreOwnerBits(file, mode);
            writeAt(ch, file, 0, bytes);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(file, e);
            throw e;
        }
    }

    /** rename(2): atomic, replacing an existing target. Durable only once the directories are synced. */
    public void rename(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        observer.renamed(from, to);
    }

    /**
     * fsyncs a directory so that entries created, renamed or deleted in it are durable. Linux allows opening a
     * directory read-only and forcing it.
     */
    public void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
        observer.directorySynced(dir);
    }

    /** {@link #write(Path, byte[], Set)} with mode 0600. */
    public void write(Path target, byte[] content) throws IOException {
        write(target, content, PRIVATE_FILE);
    }

    /**
     * Replaces {@code target} atomically and durably: creates the missing directories (0700, durably), writes a
     * temporary file next to it with {@code mode}, fsyncs it, renames it over the target, fsyncs the directory.
     * Readers see the old content or the new, never a part; on failure the temporary file is removed and the target
     * is untouched.
     */
    public void write(Path target, byte[] content, Set<PosixFilePermission> mode) throws IOException {
        replace(target, content, mode, false);
    }

    /**
     * Like {@link #write(Path, byte[])}, and the new file gets the owner of the file it replaces (or of its
     * directory) where the process may set it: root editing a file for a gateway that runs as another user.
     */
    public void writeKeepingOwner(Path target, byte[] content) throws IOException {
        replace(target, content, PRIVATE_FILE, true);
    }

    private void replace(Path target, byte[] content, Set<PosixFilePermission> mode, boolean keepOwner)
            throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        createDirectories(dir);
        Path temp = dir.resolve("." + abs.getFileName() + "." + HexFormat.of().toHexDigits(RANDOM.nextLong()) + ".tmp");
        try {
            writeNew(temp, content, mode);
            if (keepOwner && POSIX) keepOwner(Files.exists(abs) ? abs : dir, temp);
            rename(temp, abs);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(temp, e);
            throw e;
        }
        syncDirectory(dir);
    }

    /**
     * Appends {@code bytes} to a log file, creating it (0600, and its directories) if needed, and fsyncs it; when the
     * file was new its directory is fsynced too.
     */
    public void append(Path file, byte[] bytes) throws IOException {
        Path abs = file.toAbsolutePath();
        createDirectories(abs.getParent());
        boolean existed = Files.exists(abs, LinkOption.NOFOLLOW_LINKS);
        Set<OpenOption> options = Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        try (FileChannel ch = FileChannel.open(abs, options, attributes(PRIVATE_FILE))) {
            if (!existed) restoreOwnerBits(abs, PRIVATE_FILE);
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) ch.write(buf);
            sync(ch, abs);
        }
        if (!existed) syncDirectory(abs.getParent());
    }

    /**
     * Whether {@code e} (or a cause) is a full file system (ENOSPC) rather than another I/O error: Java gives no errno,
     * only the C library's text, which is the same for the NIO channels and the file system calls on Linux.
     */
    public static boolean noSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("No space left on device")) return true;
        }
        return false;
    }

    /**
     * The whole lines among the last {@code maxBytes} of an append-only log (a line cut by the limit is dropped), for
     * readers that want its newest entries without reading it all; the reading side of {@link #append}.
     */
    public static String tail(Path file, int maxBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            long size = ch.size();
            long from = Math.max(0, size - maxBytes);
            ByteBuffer b = ByteBuffer.allocate((int) (size - from));
            while (b.hasRemaining() && ch.read(b, from + b.position()) > 0) { }
            String text = new String(b.array(), 0, b.position(), java.nio.charset.StandardCharsets.UTF_8);
            int nl = text.indexOf('\n');
            return from == 0 ? text : nl < 0 ? "" : text.substring(nl + 1);
        }
    }

    /**
     * Opens (creating, mode 0600) a file that is only locked, never written (the data directory's lock file). Its
     * existence needs no durability.
     */
    public FileChannel openLockFile(Path file) throws IOException {
        boolean existed = Files.exists(file, LinkOption.NOFOLLOW_LINKS);
        FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                attributes(PRIVATE_FILE));
        try {
            if (!existed) restoreOwnerBits(file, PRIVATE_FILE);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return ch;
    }

    private static FileAttribute<?>[] attributes(Set<PosixFilePermission> mode) {
        return POSIX ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)} : new FileAttribute<?>[0];
    }

    /**
     * The umask can only take bits away. When it took the owner's own bits (umask 0277 and the like), put them back:
     * this widens nothing for anyone else, so there is no window.
     */
    private static void restoreOwnerBits(Path p, Set<PosixFilePermission> mode) throws IOException {
        if (!POSIX) return;
        // containsAll, not equals: a filesystem without modes (vfat) reports its own, and chmod there fails
        if (!Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS).containsAll(mode)) {
            Files.setPosixFilePermissions(p, mode);
        }
    }

    private static void keepOwner(Path from, Path to) {
        try {
            UserPrincipal owner = Files.getOwner(from);
            if (!owner.equals(Files.getOwner(to))) Files.setOwner(to, owner);
        } catch (IOException | UnsupportedOperationException e) {
            // only root may give files away; otherwise the file is the caller's, as it would be anyway
        }
    }

    private static void deleteQuietly(Path file, Exception cause) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }
}
