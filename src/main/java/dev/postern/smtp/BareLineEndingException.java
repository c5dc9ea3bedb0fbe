package dev.postern.smtp;

import java.io.IOException;

/** A bare CR or bare LF where SMTP demands CRLF (SMTP smuggling defence); the line has been consumed. */
public final class BareLineEndingException extends IOException {
    public BareLineEndingException() { super("bare CR or LF in line"); }
}
