package dev.postern.queue;

/** Queue ids: 26 characters of Crockford base32, time-ordered (ms timestamp then randomness), like a ULID. */
public final class QueueIds {
    private QueueIds() {}

    public static String next() {
        throw new UnsupportedOperationException("TODO");
    }

    /** True for a string that has the shape of a queue id (guards file names built from CLI input). */
    public static boolean isValid(String id) {
        throw new UnsupportedOperationException("TODO");
    }
}
