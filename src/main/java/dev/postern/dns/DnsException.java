package dev.postern.dns;

/** A DNS failure; {@code temporary} (SERVFAIL, timeout) means retry later, otherwise the answer is final. */
public final class DnsException extends Exception {
    private final boolean temporary;

    public DnsException(String message, boolean temporary) {
        super(message);
        this.temporary = temporary;
    }

    public boolean temporary() { return temporary; }
}
