package dev.postern.auth;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Password hashes as stored in the password file: bcrypt ({@code $2b$12$...}, the default) and Argon2id in the PHC
 * string format ({@code $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH}, unpadded base64). Passwords are UTF-8 bytes, as
 * SASL carries them.
 */
public final class PasswordHash {
    private PasswordHash() {}

    /** bcrypt cost when nothing else is said: 2^12 rounds, a few hundred milliseconds on a server. */
    public static final int DEFAULT_BCRYPT_COST = 12;
    /** bcrypt ignores everything after 72 bytes; longer passwords are refused rather than silently cut. */
    public static final int BCRYPT_MAX_BYTES = 72;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern BCRYPT = Pattern.compile("\\$2[aby]\\$(\\d\\d)\\$[./A-Za-z0-9]{53}");
    private static final Pattern ARGON2ID = Pattern.compile(
            "\\$argon2id\\$v=19\\$m=(\\d{1,8}),t=(\\d{1,3}),p=(\\d{1,3})\\$([A-Za-z0-9+/]{11,})\\$([A-Za-z0-9+/]{22,})");

    /** A bcrypt hash with a fresh salt; {@code cost} from 4 to 31. Throws IllegalArgumentException for a bad password. */
    public static String bcrypt(char[] password, int cost) {
        if (cost < 4 || cost > 31) throw new IllegalArgumentException("bcrypt cost must be from 4 to 31, got " + cost);
        byte[] pw = utf8(password);
        try {
            check(pw);
            if (pw.length > BCRYPT_MAX_BYTES) {
                throw new IllegalArgumentException("password longer than " + BCRYPT_MAX_BYTES
                        + " bytes (bcrypt would ignore the rest; use Argon2id for longer ones)");
            }
            return OpenBSDBCrypt.generate("2b", pw, salt(16), cost);
        } finally {
            Arrays.fill(pw, (byte) 0);
        }
    }

    /**
     * An Argon2id hash with a fresh 16-byte salt and a 32-byte result; {@code memoryKiB} at least 8 per lane. OWASP's
     * minimum is m=19456 (19 MiB), t=2, p=1.
     */
    public static String argon2id(char[] password, int memoryKiB, int iterations, int parallelism) {
        if (parallelism < 1 || parallelism > 255 || iterations < 1 || iterations > 999
                || memoryKiB < 8 * parallelism || memoryKiB > 4 * 1024 * 1024) {
            throw new IllegalArgumentException("Argon2id parameters out of range: m=" + memoryKiB + ",t=" + iterations
                    + ",p=" + parallelism);
        }
        byte[] pw = utf8(password);
        try {
            check(pw);
            byte[] salt = salt(16);
            byte[] hash = argon2id(pw, salt, memoryKiB, iterations, parallelism, 32);
            Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
            return "$argon2id$v=19$m=" + memoryKiB + ",t=" + iterations + ",p=" + parallelism + "$"
                    + b64.encodeToString(salt) + "$" + b64.encodeToString(hash);
        } finally {
            Arrays.fill(pw, (byte) 0);
        }
    }

    /** Whether {@code hash} is a bcrypt or Argon2id hash this class can verify. */
    public static boolean isWellFormed(String hash) {
        Matcher b = BCRYPT.matcher(hash);
        if (b.matches()) {
            int cost = Integer.parseInt(b.group(1));
            return cost >= 4 && cost <= 31;
        }
        Matcher a = ARGON2ID.matcher(hash);
        if (!a.matches()) return false;
        try {
            long m = Long.parseLong(a.group(1));
            int t = Integer.parseInt(a.group(2));
            int p = Integer.parseInt(a.group(3));
            Base64.getDecoder().decode(a.group(4));
            Base64.getDecoder().decode(a.group(5));
            // Bounded so that a hand-edited file cannot make every AUTH allocate gigabytes.
            return p >= 1 && p <= 255 && t >= 1 && m >= 8L * p && m <= 4L * 1024 * 1024;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Whether {@code password} matches {@code hash}; false for a hash that is not well-formed. */
    public static boolean verify(String hash, byte[] password) {
        if (!isWellFormed(hash)) return false;
        if (hash.startsWith("$2")) {
            // bcrypt cannot tell these apart from their 72-byte prefix; nothing longer was ever accepted by bcrypt().
            if (password.length > BCRYPT_MAX_BYTES) return false;
            return OpenBSDBCrypt.checkPassword(hash, password);
        }
        Matcher a = ARGON2ID.matcher(hash);
        a.matches();
        byte[] salt = Base64.getDecoder().decode(a.group(4));
        byte[] expected = Base64.getDecoder().decode(a.group(5));
        byte[] actual = argon2id(password, salt, Integer.parseInt(a.group(1)), Integer.parseInt(a.group(2)),
                Integer.parseInt(a.group(3)), expected.length);
        return MessageDigest.isEqual(expected, actual);
    }

    private static byte[] argon2id(byte[] password, byte[] salt, int memoryKiB, int iterations, int parallelism,
                                   int length) {
        Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13).withSalt(salt).withMemoryAsKB(memoryKiB)
                .withIterations(iterations).withParallelism(parallelism).build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(params);
        byte[] out = new byte[length];
        generator.generateBytes(password, out);
        return out;
    }

    /** The password rules every scheme shares: not empty, no NUL (SASL PLAIN could never carry it). */
    private static void check(byte[] pw) {
        if (pw.length == 0) throw new IllegalArgumentException("empty password");
        for (byte b : pw) if (b == 0) throw new IllegalArgumentException("password contains a NUL character");
    }

    /** UTF-8 without going through a String, so the caller can wipe every copy. */
    static byte[] utf8(char[] password) {
        ByteBuffer buf = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
        byte[] bytes = Arrays.copyOfRange(buf.array(), buf.position(), buf.limit());
        Arrays.fill(buf.array(), (byte) 0);
        return bytes;
    }

    private static byte[] salt(int n) {
        byte[] salt = new byte[n];
        RANDOM.nextBytes(salt);
        return salt;
    }
}
