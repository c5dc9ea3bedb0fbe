package dev.postern.dns;

/**
 * A DNS failure; {@code temporary} (SERVFAIL, timeout, a bogus answer) means retry later, otherwise the answer is final.
 * {@link #security()} is {@link Security#BOGUS} when the answer failed DNSSEC validation, else null.
 */
public final class DnsException extends Exception {
    private final boolean temporary;
    private final Security security;

    public DnsException(String message, boolean temporary) {
        this(message, temporary, null);
    }

    public DnsException(String message, boolean temporary, Security security) {
        super(message);
        this.temporary = temporary;
        this.security = security;
    }

    public boolean temporary() { return temporary; }

    /** {@link Security#BOGUS} when the answer was signed but failed validation; null for other failures. */
    public Security security() { return security; }

    /** The answer failed DNSSEC validation: never used, retried later. */
    public boolean bogus() { return security == Security.BOGUS; }
}
