package dev.postern.tlsrpt;

/**
 * A report refused, with the HTTP status that says why (400 not readable, 413 too large, 415 not a report's content
 * type, 422 a readable report we do not take) and a one-line reason safe to show the sender and to log.
 */
public final class ReportException extends Exception {
    private final int status;

    public ReportException(int status, String reason) {
        super(reason, null, false, false);
        this.status = status;
    }

    public int status() {
        return status;
    }

    static ReportException malformed(String reason) {
        return new ReportException(400, reason);
    }

    static ReportException tooLarge(String reason) {
        return new ReportException(413, reason);
    }

    static ReportException invalid(String reason) {
        return new ReportException(422, reason);
    }
}
