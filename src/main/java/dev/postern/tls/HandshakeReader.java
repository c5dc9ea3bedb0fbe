package dev.postern.tls;

/**
 * Bounds-checked big-endian reads over a slice of a TLS handshake message, for the few messages Postern reads itself
 * ({@link ClientHello}, {@link ServerFlight}). Every length is checked against what is there: a short or lying message
 * throws {@link Malformed}, which costs no stack trace.
 */
final class HandshakeReader {
    /** The message is not what its lengths say. */
    static final class Malformed extends Exception {
        Malformed() { super(null, null, false, false); }
    }

    private final byte[] bytes;
    private int position;
    private final int end;

    HandshakeReader(byte[] bytes, int end) {
        this(bytes, 0, end);
    }

    private HandshakeReader(byte[] bytes, int position, int end) {
        this.bytes = bytes;
        this.position = position;
        this.end = end;
    }

    int remaining() { return end - position; }

    void skip(int n) throws Malformed {
        if (n < 0 || n > remaining()) throw new Malformed();
        position += n;
    }

    /** The next {@code n} bytes as a reader of their own; this one moves past them. */
    HandshakeReader sub(int n) throws Malformed {
        int start = position;
        skip(n);
        return new HandshakeReader(bytes, start, start + n);
    }

    /** Whether the next bytes are {@code expected} (and moves past them either way). */
    boolean matches(byte[] expected) throws Malformed {
        int start = position;
        skip(expected.length);
        return java.util.Arrays.equals(bytes, start, start + expected.length, expected, 0, expected.length);
    }

    int u8() throws Malformed {
        skip(1);
        return bytes[position - 1] & 0xff;
    }

    int u16() throws Malformed {
        return (u8() << 8) | u8();
    }

    int u24() throws Malformed {
        return (u8() << 16) | u16();
    }
}
