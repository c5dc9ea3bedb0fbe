package dev.postern.auth;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The users who may authenticate, and their password hashes: a UTF-8 text file ({@code data/users} by default) with
 * one {@code name:hash} per line; blank lines and lines starting with {@code #} are comments and survive changes made
 * through this class. Hashes are those of {@link PasswordHash}. User names are case-sensitive, 1–64 characters of
 * {@code [A-Za-z0-9._@+-]}.
 *
 * <p>Immutable: {@link #with} and {@link #without} return a changed copy, {@link #save} writes it. A running gateway
 * holds a {@link Watcher}, which re-reads the file when it changes.
 */
public final class PasswordFile {
    private static final Logger log = LoggerFactory.getLogger(PasswordFile.class);

    /** The file name inside the data directory. */
    public static final String DEFAULT_NAME = "users";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@+-]{1,64}");
    /** Checked against when a file has no users at all: bcrypt, cost 12, of random bytes nobody knows. */
    private static final String NOBODY = "$2b$12$sBoYvJZElcvwGsbi7xZwUeFyIiif0w7.nkA0/uIM0C8qqgB2dI00a";

    /** The file's lines in order: comments as they are, user lines as "name:hash". */
    private final List<String> lines;
    private final Map<String, String> hashes;

    private PasswordFile(List<String> lines, Map<String, String> hashes) {
        this.lines = List.copyOf(lines);
        this.hashes = hashes;
    }

    /** A file without users. */
    public static PasswordFile empty() { return new PasswordFile(List.of(), Map.of()); }

    /** {@code dataDir/users}. */
    public static Path defaultPath(Path dataDir) { return dataDir.resolve(DEFAULT_NAME); }

    /** Whether {@code name} is a valid user name. */
    public static boolean isValidName(String name) { return name != null && NAME.matcher(name).matches(); }

    /**
     * Reads a password file; a missing file is an empty one. Throws IOException when the file cannot be read or has a
     * bad line; the message is one line naming the file and line ("users:3: expected name:hash").
     */
    public static PasswordFile load(Path file) throws IOException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(Files.readAllBytes(file)))
                    .toString();
        } catch (NoSuchFileException e) {
            return empty();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": expected UTF-8 text");
        }
        List<String> lines = new ArrayList<>();
        Map<String, String> hashes = new LinkedHashMap<>();
        String[] raw = text.split("\r?\n", -1);
        int count = text.isEmpty() ? 0 : text.endsWith("\n") ? raw.length - 1 : raw.length;
        for (int i = 0; i < count; i++) {
            String line = raw[i].strip();
            lines.add(line);
            if (line.isEmpty() || line.startsWith("#")) continue;
            String where = file + ":" + (i + 1) + ": ";
            int colon = line.indexOf(':');
            if (colon < 0) throw new IOException(where + "expected name:hash");
            String name = line.substring(0, colon);
            String hash = line.substring(colon + 1);
            if (!isValidName(name)) {
                throw new IOException(where + "expected a user name of 1-64 characters A-Z a-z 0-9 . _ @ + -, got \""
                        + name + "\"");
            }
            if (!PasswordHash.isWellFormed(hash)) {
                throw new IOException(where + "expected a bcrypt ($2b$...) or Argon2id ($argon2id$...) hash for " + name);
            }
            if (hashes.putIfAbsent(name, hash) != null) throw new IOException(where + "user " + name + " appears twice");
            lines.set(lines.size() - 1, name + ":" + hash);
        }
        return new PasswordFile(lines, hashes);
    }

    /** The user names, in file order. */
    public List<String> users() { return List.copyOf(hashes.keySet()); }

    public boolean contains(String user) { return hashes.containsKey(user); }

    /**
     * Whether {@code user} exists and {@code password} (UTF-8) is theirs. Takes as long for a user who does not exist
     * as for one who does: a hash is checked either way, so timing does not tell which names exist. Does not keep or
     * wipe {@code password}; that is the caller's.
     */
    public boolean verify(String user, byte[] password) {
        String hash = user == null ? null : hashes.get(user);
        if (hash == null) {
            // Same scheme and cost as a real user (the first one); the result is ignored.
            PasswordHash.verify(hashes.isEmpty() ? NOBODY : hashes.values().iterator().next(), password);
            return false;
        }
        return PasswordHash.verify(hash, password);
    }

    /** {@link #verify(String, byte[])} for what a SASL exchange produced. */
    public boolean verify(Credentials credentials) {
        return verify(credentials.user(), credentials.password());
    }

    /**
     * This file with {@code user} added, or with their password changed: bcrypt with the default cost. Throws
     * IllegalArgumentException for a bad name or password (empty, NUL, longer than 72 bytes).
     */
    public PasswordFile with(String user, char[] password) {
        return withHash(user, PasswordHash.bcrypt(password, PasswordHash.DEFAULT_BCRYPT_COST));
    }

    /** This file with {@code user} added or changed to a hash made by {@link PasswordHash}. */
    public PasswordFile withHash(String user, String hash) {
        requireName(user);
        if (!PasswordHash.isWellFormed(hash)) throw new IllegalArgumentException("not a bcrypt or Argon2id hash");
        List<String> next = new ArrayList<>(lines);
        Map<String, String> nextHashes = new LinkedHashMap<>(hashes);
        String line = user + ":" + hash;
        if (nextHashes.put(user, hash) == null) next.add(line);
        else next.set(indexOf(user), line);
        return new PasswordFile(next, nextHashes);
    }

    /** This file without {@code user}; the same file when there is no such user. */
    public PasswordFile without(String user) {
        if (!hashes.containsKey(user)) return this;
        List<String> next = new ArrayList<>(lines);
        next.remove(indexOf(user));
        Map<String, String> nextHashes = new LinkedHashMap<>(hashes);
        nextHashes.remove(user);
        return new PasswordFile(next, nextHashes);
    }

    /**
     * Writes the file atomically: a temporary file with mode 0600 next to it, fsync, rename over the old one, fsync of
     * the directory. The new file keeps the owner of the old one where the process may set it (root running
     * {@code postern user} for a gateway running as another user).
     */
    public void save(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        StringBuilder b = new StringBuilder();
        if (lines.isEmpty() || !lines.getFirst().startsWith("#")) {
            b.append("# Postern users: name:hash (bcrypt or Argon2id); managed by 'postern user'\n");
        }
        for (String line : lines) b.append(line).append('\n');
        boolean posix = Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class);
        FileAttribute<?>[] attrs = posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0];
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp", attrs);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buf = StandardCharsets.UTF_8.encode(b.toString());
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            if (posix) keepOwner(Files.exists(file) ? file : dir, tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // not every filesystem lets a directory be opened; the rename itself is done
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

    private int indexOf(String user) {
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith(user + ":")) return i;
        throw new IllegalStateException("user " + user + " has no line");
    }

    private static void requireName(String user) {
        if (!isValidName(user)) {
            throw new IllegalArgumentException("expected a user name of 1-64 characters A-Z a-z 0-9 . _ @ + -, got \""
                    + user + "\"");
        }
    }

    @Override public String toString() { return "PasswordFile" + users(); }

    /**
     * A password file that follows changes on disk: {@link #current()} re-reads the file when its modification time,
     * size or identity (inode) changed, so users added with {@code postern user add} can log in without a restart.
     * A file that has become unreadable or malformed is logged and the last good version kept, so a half-edited file
     * does not lock everybody out. Thread-safe.
     */
    public static final class Watcher {
        private record Stamp(FileTime modified, long size, Object key) {}
        private record Snapshot(Stamp stamp, PasswordFile file) {}

        private static final Stamp MISSING = new Stamp(null, -1, null);

        private final Path file;
        private volatile Snapshot snapshot;

        /** Reads the file now; a bad file is an error here (at start), unlike at later changes. */
        public Watcher(Path file) throws IOException {
            this.file = file;
            Stamp stamp = stamp();
            this.snapshot = new Snapshot(stamp, load(file));
        }

        public Path file() { return file; }

        /** The file as it is now on disk (or the last good version of it). */
        public PasswordFile current() {
            Snapshot s = snapshot;
            Stamp now;
            try {
                now = stamp();
            } catch (IOException e) {
                return s.file();
            }
            if (now.equals(s.stamp())) return s.file();
            synchronized (this) {
                s = snapshot;
                if (now.equals(s.stamp())) return s.file();
                PasswordFile next = s.file();
                try {
                    next = load(file);
                    log.info("password file {} re-read: {} user(s)", file, next.users().size());
                } catch (IOException e) {
                    log.warn("password file not re-read, keeping the previous version: {}", e.getMessage());
                }
                snapshot = new Snapshot(now, next); // a bad version is not re-read on every AUTH
                return next;
            }
        }

        /** {@code current().verify(user, password)}. */
        public boolean verify(String user, byte[] password) { return current().verify(user, password); }

        /** {@code current().verify(credentials)}. */
        public boolean verify(Credentials credentials) { return current().verify(credentials); }

        private Stamp stamp() throws IOException {
            try {
                BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                return new Stamp(a.lastModifiedTime(), a.size(), Objects.requireNonNullElse(a.fileKey(), ""));
            } catch (NoSuchFileException e) {
                return MISSING;
            }
        }
    }
}
