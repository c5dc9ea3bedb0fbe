package dev.postern.tls;

/** Key or certificate material that cannot be used; the message is one line naming the file and the problem. */
public final class TlsConfigException extends Exception {
    public TlsConfigException(String message) { super(message); }
    public TlsConfigException(String message, Throwable cause) { super(message, cause); }
}
