package dev.postern.smtp;

/**
 * One command line from a client, split into its verb (upper-cased) and the rest. Verbs we do not know parse to
 * {@link Verb#UNKNOWN}; the argument is the text after the first space, never null (empty when absent).
 */
public record Command(Verb verb, String argument) {

    public enum Verb { EHLO, HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS, AUTH, UNKNOWN }

    /** Parses a command line (without CRLF). Never throws; "MAIL FROM:<a@b>" gives (MAIL, "FROM:<a@b>"). */
    public static Command parse(String line) {
        throw new UnsupportedOperationException("TODO");
    }
}
