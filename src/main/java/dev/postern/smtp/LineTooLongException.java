package dev.postern.smtp;

import java.io.IOException;

/** A command or reply line over the configured limit; the line has been consumed. */
public final class LineTooLongException extends IOException {
    public LineTooLongException(int limit) { super("line longer than " + limit + " octets"); }
}
