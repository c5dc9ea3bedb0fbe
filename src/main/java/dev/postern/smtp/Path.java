package dev.postern.smtp;

import java.util.Map;

/**
 * The argument of MAIL FROM or RCPT TO: a path in angle brackets plus ESMTP parameters (keys upper-cased, values as
 * given, value null for a keyword without '='). {@code mailbox} is null for the null reverse path "<>".
 * {@code sourceRoute} is true when an obsolete source route ("<@a,@b:user@c>") was given and stripped.
 */
public record Path(Mailbox mailbox, Map<String, String> params, boolean sourceRoute) {

    public boolean isNull() { return mailbox == null; }

    /** Parses the text after "MAIL " i.e. "FROM:<a@b> SIZE=10 BODY=8BITMIME" (case-insensitive "FROM:"). */
    public static Path parseReverse(String argument) throws AddressException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Parses the text after "RCPT " i.e. "TO:<a@b> NOTIFY=NEVER"; "<>" is an error; "<Postmaster>" is allowed. */
    public static Path parseForward(String argument) throws AddressException {
        throw new UnsupportedOperationException("TODO");
    }
}
