package dev.postern.auth;

import dev.postern.files.DurableFiles;
import dev.postern.files.WatchedFile;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The users who may authenticate, and their password hashes: a UTF-8 text file ({@code data/users} by default) with
 * one {@code name:hash} or {@code name:hash:scram} per line; blank lines and lines starting with {@code #} are
 * comments and survive changes made through this class. Hashes are those of {@link PasswordHash} and serve PLAIN and
 * LOGIN; the optional third field holds the user's SCRAM-SHA-256 secrets in RFC 5803's form
 * {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>} (base64), see {@link Scram}. A user without it
 * cannot use SCRAM-SHA-256: such an attempt fails exactly as for a user who does not exist. User names are
 * case-sensitive, 1–64 characters of {@code [A-Za-z0-9._@+-]}.
 *
 * <p>Immutable: {@link #with} and {@link #without} return a changed copy, {@link #save} writes it. A running gateway
 * holds a {@link Watcher}, which re-reads the file when it changes.
 */
public final class PasswordFile implements Scram.Store {

    /** The file name inside the data directory. */
    public static final String DEFAULT_NAME = "users";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@+-]{1,64}");
    /** Checked against when a file has no users at all: bcrypt, cost 12, of random bytes nobody knows. */
    private static final String NOBODY = "$2b$12$sBoYvJZElcvwGsbi7xZwUeFyIiif0w7.nkA0/uIM0C8qqgB2dI00a";

    /** A user's hash for PLAIN and LOGIN, and SCRAM secrets or null. */
    private record Entry(String hash, Scram.Secrets scram) {
        String line(String name) { return name + ":" + hash + (scram == null ? "" : ":" + scram.format()); }
    }

    /** Used for mock SCRAM secrets when no user has real ones; per process. */
    private static final byte[] PROCESS_MOCK_KEY = Scram.randomKey();

    /** The file's lines in order: comments as they are, user lines as "name:hash[:scram]". */
    private final List<String> lines;
    private final Map<String, Entry> entries;
    /** The key mock SCRAM secrets are derived from, the iteration count and salt length they show. */
    private final byte[] mockKey;
    private final int mockIterations;
    private final int mockSaltLength;

    private PasswordFile(List<String> lines, Map<String, Entry> entries) {
        this.lines = List.copyOf(lines);
        this.entries = entries;
        // Mock secrets look like the first SCRAM user's, and derive from all users' ServerKeys: a secret nobody
        // outside knows, and stable across restarts and re-reads (unless a SCRAM user changes), so that an unknown
        // name shows the same salt every time, like a real one.
        Scram.Secrets first = null;
        MessageDigest digest = sha256();
        digest.update("postern SCRAM mock key".getBytes(StandardCharsets.US_ASCII));
        for (Entry e : entries.values()) {
            if (e.scram() == null) continue;
            if (first == null) first = e.scram();
            digest.update(e.scram().serverKey());
        }
        this.mockKey = first == null ? PROCESS_MOCK_KEY : digest.digest();
        this.mockIterations = first == null ? Scram.DEFAULT_ITERATIONS : first.iterations();
        this.mockSaltLength = first == null ? Scram.SALT_BYTES : first.salt().length;
    }

    /** A file without users. */
    public static PasswordFile empty() { return new PasswordFile(List.of(), Map.of()); }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code dataDir/users}. */
    public static Path defaultPath(Path dataDir) { return dataDir.resolve(DEFAULT_NAME); }

    /** Whether {@code name} is a valid user name. */
    public static boolean isValidName(String name) { return name != null && NAME.matcher(name).matches(); }

    /**
     * Reads a password file; a missing file is an empty one. Throws IOException when the file cannot be read or has a
     * bad line; the message is one line naming the file and line ("users:3: expected name:hash[:scram]").
     */
    public static PasswordFile load(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8); // malformed UTF-8 throws, never replaced
        } catch (NoSuchFileException e) {
            return empty();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": expected UTF-8 text");
        }
        List<String> lines = new ArrayList<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        String[] raw = text.split("\r?\n", -1);
        int count = text.isEmpty() ? 0 : text.endsWith("\n") ? raw.length - 1 : raw.length;
        for (int i = 0; i < count; i++) {
            String line = raw[i].strip();
            lines.add(line);
            if (line.isEmpty() || line.startsWith("#")) continue;
            String where = file + ":" + (i + 1) + ": ";
            int colon = line.indexOf(':');
            if (colon < 0) throw new IOException(where + "expected name:hash[:scram]");
            String name = line.substring(0, colon);
            String rest = line.substring(colon + 1);
            int second = rest.indexOf(':');
            String hash = second < 0 ? rest : rest.substring(0, second);
            if (!isValidName(name)) {
                throw new IOException(where + "expected a user name of 1-64 characters A-Z a-z 0-9 . _ @ + -, got \""
                        + name + "\"");
            }
            if (!PasswordHash.isWellFormed(hash)) {
                throw new IOException(where + "expected a bcrypt ($2b$...) or Argon2id ($argon2id$...) hash for " + name);
            }
            Scram.Secrets scram = null;
            if (second >= 0) {
                scram = Scram.Secrets.parse(rest.substring(second + 1));
                if (scram == null) {
                    throw new IOException(where + "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> "
                            + "(iterations 1-" + Scram.MAX_ITERATIONS + ", base64, keys of 32 bytes) after the hash for "
                            + name);
                }
            }
            Entry entry = new Entry(hash, scram);
            if (entries.putIfAbsent(name, entry) != null) {
                throw new IOException(where + "user " + name + " appears twice");
            }
            lines.set(lines.size() - 1, entry.line(name));
        }
        return new PasswordFile(lines, entries);
    }

    /** The user names, in file order. */
    public List<String> users() { return List.copyOf(entries.keySet()); }

    public boolean contains(String user) { return entries.containsKey(user); }

    /** Whether {@code user} exists and has SCRAM-SHA-256 secrets. */
    public boolean hasScram(String user) { return scramSecrets(user) != null; }

    /**
     * The mechanisms to advertise: SCRAM-SHA-256 only when every user has SCRAM secrets, because a client that
     * prefers SCRAM (Postfix with Cyrus SASL does) does not fall back to PLAIN after a 535, so advertising it while
     * some users have only a hash (made before SCRAM, or with --no-scram) would lock those users out.
     */
    public List<String> mechanisms() {
        boolean all = !entries.isEmpty() && entries.keySet().stream().allMatch(this::hasScram);
        return all ? Sasl.MECHANISMS : Sasl.MECHANISMS.stream().filter(m -> !m.equals(Scram.MECHANISM)).toList();
    }

    /** {@inheritDoc} */
    @Override public Scram.Secrets scramSecrets(String user) {
        Entry e = user == null ? null : entries.get(user);
        return e == null ? null : e.scram();
    }

    /**
     * {@inheritDoc} Here: the iteration count and salt length of the first user with SCRAM secrets, the salt derived
     * from the name and a key that is a hash of all users' ServerKeys (or a random key per process when no user has
     * SCRAM secrets).
     */
    @Override public Scram.Secrets mockSecrets(String user) {
        return Scram.mock(mockKey, user, mockIterations, mockSaltLength);
    }

    /**
     * Whether {@code user} exists and {@code password} (UTF-8) is theirs. Takes as long for a user who does not exist
     * as for one who does: a hash is checked either way, so timing does not tell which names exist. Does not keep or
     * wipe {@code password}; that is the caller's.
     */
    public boolean verify(String user, byte[] password) {
        Entry entry = user == null ? null : entries.get(user);
        if (entry == null) {
            // Same scheme and cost as a real user (the first one); the result is ignored.
            PasswordHash.verify(entries.isEmpty() ? NOBODY : entries.values().iterator().next().hash(), password);
            return false;
        }
        return PasswordHash.verify(entry.hash(), password);
    }

    /** {@link #verify(String, byte[])} for what a SASL exchange produced. */
    public boolean verify(Credentials credentials) {
        return verify(credentials.user(), credentials.password());
    }

    /**
     * This file with {@code user} added, or with their password changed: bcrypt with the default cost, and SCRAM-SHA-256
     * secrets with {@link Scram#DEFAULT_ITERATIONS} unless SASLprep refuses the password (then PLAIN and LOGIN only).
     * Throws IllegalArgumentException for a bad name or password (empty, NUL, longer than 72 bytes).
     */
    public PasswordFile with(String user, char[] password) {
        String hash = PasswordHash.bcrypt(password, PasswordHash.DEFAULT_BCRYPT_COST);
        Scram.Secrets scram;
        try {
            scram = Scram.secrets(password, Scram.DEFAULT_ITERATIONS);
        } catch (IllegalArgumentException e) {
            scram = null;
        }
        return withHash(user, hash, scram);
    }

    /**
     * This file with {@code user} added or changed to a hash made by {@link PasswordHash}, without SCRAM secrets (old
     * ones would belong to an old password).
     */
    public PasswordFile withHash(String user, String hash) {
        return withHash(user, hash, null);
    }

    /**
     * This file with {@code user} added or changed to a hash made by {@link PasswordHash} and SCRAM secrets made by
     * {@link Scram#secrets} from the same password ({@code scram} null: none, SCRAM-SHA-256 is not possible for the
     * user).
     */
    public PasswordFile withHash(String user, String hash, Scram.Secrets scram) {
        requireName(user);
        if (!PasswordHash.isWellFormed(hash)) throw new IllegalArgumentException("not a bcrypt or Argon2id hash");
        List<String> next = new ArrayList<>(lines);
        Map<String, Entry> nextEntries = new LinkedHashMap<>(entries);
        Entry entry = new Entry(hash, scram);
        if (nextEntries.put(user, entry) == null) next.add(entry.line(user));
        else next.set(indexOf(user), entry.line(user));
        return new PasswordFile(next, nextEntries);
    }

    /** This file without {@code user}; the same file when there is no such user. */
    public PasswordFile without(String user) {
        if (!entries.containsKey(user)) return this;
        List<String> next = new ArrayList<>(lines);
        next.remove(indexOf(user));
        Map<String, Entry> nextEntries = new LinkedHashMap<>(entries);
        nextEntries.remove(user);
        return new PasswordFile(next, nextEntries);
    }

    /**
     * Writes the file atomically: a temporary file with mode 0600 next to it, fsync, rename over the old one, fsync of
     * the directory. The new file keeps the owner of the old one where the process may set it (root running
     * {@code postern user} for a gateway running as another user).
     */
    public void save(Path file) throws IOException {
        StringBuilder b = new StringBuilder();
        if (lines.isEmpty() || !lines.getFirst().startsWith("#")) {
            b.append("# Postern users: name:hash[:SCRAM-SHA-256$i:salt$StoredKey:ServerKey] (bcrypt or Argon2id, RFC 5803);"
                    + " managed by 'postern user'\n");
        }
        for (String line : lines) b.append(line).append('\n');
        DurableFiles.SYSTEM.writeKeepingOwner(file, b.toString().getBytes(StandardCharsets.UTF_8));
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
        private final WatchedFile<PasswordFile> watched;

        /** Reads the file now; a bad file is an error here (at start), unlike at later changes. */
        public Watcher(Path file) throws IOException {
            this.watched = new WatchedFile<>(file, "password file", PasswordFile::load,
                    f -> f.users().size() + " user(s)");
        }

        public Path file() { return watched.file(); }

        /** The file as it is now on disk (or the last good version of it). */
        public PasswordFile current() { return watched.current(); }

        /** {@code current().verify(user, password)}. */
        public boolean verify(String user, byte[] password) { return current().verify(user, password); }

        /** {@code current().verify(credentials)}. */
        public boolean verify(Credentials credentials) { return current().verify(credentials); }
    }
}
