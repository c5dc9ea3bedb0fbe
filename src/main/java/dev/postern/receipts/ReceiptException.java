package dev.postern.receipts;

/** Input that is not a receipt or not a usable key (as opposed to a receipt whose signature does not verify). */
public final class ReceiptException extends Exception {
    public ReceiptException(String message) { super(message); }

    public ReceiptException(String message, Throwable cause) { super(message, cause); }
}
