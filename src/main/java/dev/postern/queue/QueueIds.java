package dev.postern.queue;

import java.security.SecureRandom;

/** Queue ids: 26 characters of Crockford base32, time-ordered (ms timestamp then randomness), like a ULID. */
public final class QueueIds {
    private QueueIds() {}

    static final String ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static final long RANDOM_HI_MASK = 0xFFFFL; // the top 16 of the 80 random bits

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Object LOCK = new Object();
    private static long lastMillis = -1;
    private static long lastHi; // 16 bits
    private static long lastLo; // 64 bits

    /**
     * A fresh id: 48 bits of Unix milliseconds then 80 random bits. Ids made in the same millisecond (or while the
     * clock steps back) increment the previous randomness, so ids from this JVM sort in creation order.
     */
    public static String next() {
        long millis;
        long hi;
        long lo;
        synchronized (LOCK) {
            long now = System.currentTimeMillis();
            if (now > lastMillis) {
                lastMillis = now;
                lastHi = RANDOM.nextInt() & RANDOM_HI_MASK;
                lastLo = RANDOM.nextLong();
            } else if (++lastLo == 0 && (lastHi = (lastHi + 1) & RANDOM_HI_MASK) == 0) {
                lastMillis++; // 80-bit randomness overflowed within one millisecond: borrow the next one
            }
            millis = lastMillis;
            hi = lastHi;
            lo = lastLo;
        }
        return encode(millis, hi, lo);
    }

    /** True for a string that has the shape of a queue id (guards file names built from CLI input). */
    public static boolean isValid(String id) {
        if (id == null || id.length() != 26 || id.charAt(0) > '7') { // 26·5 = 130 bits, so the first char holds 3
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            if (ALPHABET.indexOf(id.charAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }

    /** Each ASCII character's digit value, -1 for a character not in {@link #ALPHABET}. */
    private static final byte[] DIGITS = new byte[128];

    static {
        java.util.Arrays.fill(DIGITS, (byte) -1);
        for (int i = 0; i < ALPHABET.length(); i++) DIGITS[ALPHABET.charAt(i)] = (byte) i;
    }

    /**
     * When {@code id} was made: its first 48 bits, Unix milliseconds (the first 10 digits: 3 + 9·5 bits). For a
     * received message that is the start of its DATA. Table-driven: metrics call it for every delivery.
     * IllegalArgumentException for a string that is not an id ({@link #isValid}).
     */
    public static java.time.Instant time(String id) {
        if (id == null || id.length() != 26 || id.charAt(0) > '7') throw new IllegalArgumentException("not a queue id");
        long millis = 0;
        for (int i = 0; i < 26; i++) {
            char c = id.charAt(i);
            int digit = c < 128 ? DIGITS[c] : -1;
            if (digit < 0) throw new IllegalArgumentException("not a queue id");
            if (i < 10) millis = (millis << 5) | digit;
        }
        return java.time.Instant.ofEpochMilli(millis);
    }

    /** Big-endian 128 bits (48 time, 16 hi, 64 lo) as 26 base32 digits, the first holding the top 3 bits. */
    private static String encode(long millis, long hi, long lo) {
        // 128-bit value as two longs: upper = millis(48) | hi(16), lower = lo(64)
        long upper = (millis << 16) | hi;
        char[] out = new char[26];
        for (int i = 25; i >= 0; i--) {
            out[i] = ALPHABET.charAt((int) (lo & 31));
            lo = (lo >>> 5) | (upper << 59); // shift the 128-bit value right by 5
            upper >>>= 5;
        }
        return new String(out);
    }
}
