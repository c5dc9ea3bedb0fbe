package dev.postern.cli;

/** A failure to report to the user as it is: one or more complete lines, and an exit code. */
final class CliException extends Exception {
    private final int exitCode;

    CliException(String message, int exitCode) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    int exitCode() { return exitCode; }
}
