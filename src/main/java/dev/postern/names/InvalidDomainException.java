package dev.postern.names;

/** A name that is not a valid domain; the message says why in a few words, for an SMTP reply or a config line. */
public final class InvalidDomainException extends Exception {
    public InvalidDomainException(String reason) {
        super(reason);
    }
}
