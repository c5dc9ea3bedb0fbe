package dev.postern.admin;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The admin token: 32 random bytes, base64url, in {@code data/admin/token} (0600, written durably). Made on the
 * first start (printed once then), replaced by {@code postern admin token --rotate}. A presented token is compared
 * by its SHA-256 in constant time ({@link MessageDigest#isEqual}), so neither its length nor its first wrong byte
 * shows in the time of the answer.
 */
public final class AdminToken {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] digest;

    private AdminToken(String token) {
        this.digest = sha256(token);
    }

    /** Where the token lives under the data directory. */
    public static Path file(Path dataDir) {
        return dataDir.resolve("admin").resolve("token");
    }

    /** What {@link #loadOrCreate} found. @param created whether the token was made now (to be shown once) */
    public record Loaded(AdminToken token, String value, boolean created) { }

    /** Reads the token of {@code dataDir}, making one when there is none. */
    public static Loaded loadOrCreate(Path dataDir) throws IOException {
        Path f = file(dataDir);
        if (Files.exists(f)) {
            String value = Files.readString(f, StandardCharsets.UTF_8).strip();
            if (!value.isEmpty()) return new Loaded(new AdminToken(value), value, false);
        }
        String value = write(dataDir);
        return new Loaded(new AdminToken(value), value, true);
    }

    /**
     * The token of {@code dataDir} as it is on disk at each use: re-read when the file changes (one stat per look),
     * so {@code postern admin token --rotate} applies to a running gateway's next request. A file made unreadable or
     * empty keeps the last good token (and is logged).
     */
    public static dev.postern.files.WatchedFile<AdminToken> watch(Path dataDir) throws IOException {
        return new dev.postern.files.WatchedFile<>(file(dataDir), "admin token file",
                f -> new AdminToken(read(f)), t -> "the token was replaced");
    }

    /** The token in {@code file}; an IOException naming the file when it is missing or empty. */
    public static String read(Path file) throws IOException {
        String value = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (value.isEmpty()) throw new IOException(file + ": empty (expected the admin token)");
        return value;
    }

    /** Makes a new token and writes it durably (0600), replacing any; returns it. */
    public static String write(Path dataDir) throws IOException {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        String value = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        Path f = file(dataDir);
        DurableFiles.SYSTEM.createDirectories(f.getParent());
        DurableFiles.SYSTEM.write(f, (value + "\n").getBytes(StandardCharsets.US_ASCII));
        return value;
    }

    /** Whether {@code presented} is this token; constant time in the presented value. */
    public boolean matches(String presented) {
        return presented != null && MessageDigest.isEqual(digest, sha256(presented));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
