package dev.postern.smtp;

/** A path or mailbox that does not follow RFC 5321 syntax; the message is a short reason fit for a 501 reply. */
public final class AddressException extends Exception {
    public AddressException(String reason) { super(reason); }
}
