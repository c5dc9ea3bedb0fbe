package dev.postern.auth;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: the secrets a server keeps for a user, their text form
 * in the password file (RFC 5803), and the primitives of the exchange. The exchange itself is in {@link Sasl}.
 *
 * <p>The server keeps no password: only the salt, the iteration count, {@code StoredKey = H(HMAC(SaltedPassword,
 * "Client Key"))} and {@code ServerKey = HMAC(SaltedPassword, "Server Key")}, with {@code SaltedPassword =
 * Hi(SASLprep(password), salt, i)} (PBKDF2-HMAC-SHA-256). StoredKey lets the server check a client's proof;
 * ServerKey lets it prove to the client that it knows the secrets too.
 */
public final class Scram {
    private Scram() {}

    /** The SASL mechanism name. */
    public static final String MECHANISM = "SCRAM-SHA-256";
    /** The iteration count when nothing else is said: RFC 7677's minimum. */
    public static final int DEFAULT_ITERATIONS = 4096;
    /** The highest iteration count accepted in the password file (each client login computes that many HMACs). */
    public static final int MAX_ITERATIONS = 10_000_000;
    /** Salt length of new secrets, in bytes. */
    public static final int SALT_BYTES = 16;

    private static final int KEY_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern RFC5803 = Pattern.compile(
            "SCRAM-SHA-256\\$(\\d{1,8}):([A-Za-z0-9+/]+={0,2})\\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})");

    /**
     * Where a SCRAM exchange finds a user's secrets while it runs ({@link PasswordFile} is one). Both methods must be
     * quick and must not block on the network.
     */
    public interface Store {
        /** The user's secrets; null when there is no such user or the user has no SCRAM secrets. */
        Secrets scramSecrets(String user);

        /**
         * Secrets to pretend with for a user without real ones: a salt and iteration count that look like a real
         * user's and are the same every time for one name (so that asking twice does not tell who exists), and keys
         * that no proof can match.
         */
        Secrets mockSecrets(String user);
    }

    /** One user's SCRAM-SHA-256 secrets. The arrays are not copied; {@link #toString()} shows only the salt. */
    public record Secrets(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {
        public Secrets {
            if (iterations < 1 || iterations > MAX_ITERATIONS) {
                throw new IllegalArgumentException("SCRAM iteration count must be from 1 to " + MAX_ITERATIONS);
            }
            if (salt.length == 0 || salt.length > 1024) throw new IllegalArgumentException("SCRAM salt length");
            if (storedKey.length != KEY_BYTES || serverKey.length != KEY_BYTES) {
                throw new IllegalArgumentException("SCRAM-SHA-256 keys are 32 bytes");
            }
        }

        /** RFC 5803: {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>}, base64 with padding. */
        public String format() {
            Base64.Encoder b = Base64.getEncoder();
            return MECHANISM + "$" + iterations + ":" + b.encodeToString(salt) + "$" + b.encodeToString(storedKey)
                    + ":" + b.encodeToString(serverKey);
        }

        /** The text of {@link #format()}; null when {@code text} is not well-formed. */
        public static Secrets parse(String text) {
            Matcher m = RFC5803.matcher(text);
            if (!m.matches()) return null;
            try {
                Base64.Decoder d = Base64.getDecoder();
                return new Secrets(Integer.parseInt(m.group(1)), d.decode(m.group(2)), d.decode(m.group(3)),
                        d.decode(m.group(4)));
            } catch (IllegalArgumentException e) {
                return null;
            }
        }

        @Override public boolean equals(Object o) {
            return o instanceof Secrets s && s.iterations == iterations && Arrays.equals(s.salt, salt)
                    && MessageDigest.isEqual(s.storedKey, storedKey) && MessageDigest.isEqual(s.serverKey, serverKey);
        }

        @Override public int hashCode() { return Arrays.hashCode(salt); }

        @Override public String toString() {
            return "Secrets[" + MECHANISM + ", i=" + iterations + ", salt=" + Base64.getEncoder().encodeToString(salt)
                    + ", keys=(hidden)]";
        }
    }

    /**
     * New secrets for {@code password} with a fresh salt. Throws IllegalArgumentException when the password is empty
     * or SASLprep (RFC 4013) refuses it (control characters, unassigned code points, mixed directions): such a
     * password can still be used with PLAIN and LOGIN.
     */
    public static Secrets secrets(char[] password, int iterations) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        return secrets(password, salt, iterations);
    }

    /** The secrets for {@code password} with a given salt (RFC 5802 §3). */
    public static Secrets secrets(char[] password, byte[] salt, int iterations) {
        if (iterations < 1 || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("SCRAM iteration count must be from 1 to " + MAX_ITERATIONS
                    + ", got " + iterations);
        }
        byte[] prepared = saslPrep(password);
        byte[] salted = null;
        byte[] clientKey = null;
        try {
            if (prepared.length == 0) throw new IllegalArgumentException("empty password");
            salted = hi(prepared, salt, iterations);
            clientKey = hmac(salted, "Client Key");
            return new Secrets(iterations, salt.clone(), sha256(clientKey), hmac(salted, "Server Key"));
        } finally {
            Arrays.fill(prepared, (byte) 0);
            if (salted != null) Arrays.fill(salted, (byte) 0);
            if (clientKey != null) Arrays.fill(clientKey, (byte) 0);
        }
    }

    /**
     * SASLprep (RFC 4013, the "stored strings" profile of stringprep) of a password, as UTF-8. Printable ASCII, by far
     * the common case, is unchanged and never becomes a String; anything else is mapped (non-ASCII spaces to
     * U+0020, "commonly mapped to nothing" removed), NFKC-normalised and checked for prohibited and unassigned code
     * points and the bidi rule. Java's Unicode tables are newer than stringprep's Unicode 3.2; for passwords made of
     * characters that existed then, the result is the same. Throws IllegalArgumentException for a refused password.
     */
    static byte[] saslPrep(char[] password) {
        boolean ascii = true;
        for (char c : password) if (c < 0x20 || c > 0x7e) ascii = false;
        if (ascii) return PasswordHash.utf8(password);
        StringBuilder mapped = new StringBuilder(password.length);
        for (int i = 0; i < password.length; ) {
            int cp = Character.codePointAt(password, i);
            i += Character.charCount(cp);
            if (mappedToNothing(cp)) continue;
            if (cp != ' ' && Character.getType(cp) == Character.SPACE_SEPARATOR) cp = ' ';
            mapped.appendCodePoint(cp);
        }
        String s = Normalizer.normalize(mapped, Normalizer.Form.NFKC);
        boolean randAL = false;
        boolean l = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (prohibited(cp)) {
                throw new IllegalArgumentException("password contains a character SASLprep prohibits (U+"
                        + String.format("%04X", cp) + ")");
            }
            byte dir = Character.getDirectionality(cp);
            if (dir == Character.DIRECTIONALITY_RIGHT_TO_LEFT || dir == Character.DIRECTIONALITY_RIGHT_TO_LEFT_ARABIC) {
                randAL = true;
            } else if (dir == Character.DIRECTIONALITY_LEFT_TO_RIGHT) {
                l = true;
            }
        }
        if (randAL && (l || !isRandAL(s.codePointAt(0)) || !isRandAL(s.codePointBefore(s.length())))) {
            throw new IllegalArgumentException("password mixes right-to-left and left-to-right text (SASLprep)");
        }
        ByteBuffer buf = StandardCharsets.UTF_8.encode(CharBuffer.wrap(s));
        return Arrays.copyOfRange(buf.array(), buf.position(), buf.limit());
    }

    /** RFC 3454 table B.1. */
    private static boolean mappedToNothing(int cp) {
        return cp == 0x00AD || cp == 0x034F || cp == 0x1806 || (cp >= 0x180B && cp <= 0x180D) || cp == 0x200B
                || cp == 0x200C || cp == 0x200D || cp == 0x2060 || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF;
    }

    /** RFC 4013 §2.3 (tables C.1.2 to C.9) and, for stored strings, unassigned code points (A.1). */
    private static boolean prohibited(int cp) {
        int type = Character.getType(cp);
        return (cp != ' ' && type == Character.SPACE_SEPARATOR)      // C.1.2 (after mapping: none left)
                || type == Character.CONTROL                           // C.2.1, C.2.2 (C0, DEL, C1)
                || type == Character.PRIVATE_USE                       // C.3
                || type == Character.SURROGATE                         // C.5 (a lone surrogate)
                || type == Character.UNASSIGNED                        // A.1, and the non-characters of C.4
                || cp == 0x06DD || cp == 0x070F || cp == 0x180E
                || (cp >= 0x200C && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E)
                || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFD) // C.2.2, C.6-C.8
                || (cp >= 0x1D173 && cp <= 0x1D17A)                    // C.2.2 (musical format characters)
                || cp == 0xE0001 || (cp >= 0xE0020 && cp <= 0xE007F)   // C.9 tagging characters
                || (cp >= 0x2FF0 && cp <= 0x2FFB);                     // C.7 ideographic description characters
    }

    private static boolean isRandAL(int cp) {
        byte dir = Character.getDirectionality(cp);
        return dir == Character.DIRECTIONALITY_RIGHT_TO_LEFT || dir == Character.DIRECTIONALITY_RIGHT_TO_LEFT_ARABIC;
    }

    /** Hi() of RFC 5802: PBKDF2 with HMAC-SHA-256 and one block of output. */
    static byte[] hi(byte[] password, byte[] salt, int iterations) {
        Mac mac = mac(password);
        mac.update(salt);
        mac.update(new byte[] {0, 0, 0, 1});
        byte[] u = mac.doFinal();
        byte[] result = u.clone();
        for (int i = 1; i < iterations; i++) {
            u = mac.doFinal(u);
            for (int j = 0; j < result.length; j++) result[j] ^= u[j];
        }
        return result;
    }

    static byte[] hmac(byte[] key, String message) {
        return hmac(key, message.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] hmac(byte[] key, byte[] message) {
        return mac(key).doFinal(message);
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            // An empty key is legal for HMAC, but SecretKeySpec refuses it; a one-byte zero key gives the same MAC.
            mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA-256 is missing from this JDK", e);
        }
    }

    /** A fresh server nonce: 18 random bytes as base64, 24 printable characters without a comma. */
    static String nonce() {
        byte[] b = new byte[18];
        RANDOM.nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }

    /** A key for {@link Store#mockSecrets} when there is nothing better to derive one from. */
    static byte[] randomKey() {
        byte[] b = new byte[KEY_BYTES];
        RANDOM.nextBytes(b);
        return b;
    }

    /**
     * Mock secrets for {@code user}, derived from {@code key} (a secret of the store) so that they are the same at
     * every attempt: salt of {@code saltLength} bytes, {@code iterations} as given, and keys nobody can match (a proof
     * matches only if SHA-256 of something equals the stored key, and the mock stored key is no one's hash).
     */
    static Secrets mock(byte[] key, String user, int iterations, int saltLength) {
        byte[] salt = new byte[saltLength];
        byte[] block = new byte[0];
        for (int i = 0, n = 0; i < saltLength; i += block.length, n++) {
            block = hmac(key, "salt " + n + " " + user);
            System.arraycopy(block, 0, salt, i, Math.min(block.length, saltLength - i));
        }
        return new Secrets(iterations, salt, hmac(key, "stored " + user), hmac(key, "server " + user));
    }
}
