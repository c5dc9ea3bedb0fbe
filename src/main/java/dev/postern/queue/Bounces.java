package dev.postern.queue;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;

/** Delivery status notifications (RFC 3464, multipart/report) for failed or delayed recipients. */
public final class Bounces {
    private Bounces() {}

    /** A recipient to report and the exact reason (remote reply or local explanation). */
    public record Report(String recipient, String action /* "failed" or "delayed" */, String status /* "5.7.1" */,
                         String diagnostic, String remoteMta /* may be null */) {}

    /**
     * Builds the DSN message (headers and body, CRLF line endings) from the postmaster of {@code reportingHost} to
     * {@code original.sender()}. Includes a human-readable part, a message/delivery-status part (Reporting-MTA,
     * Arrival-Date, per-recipient Final-Recipient/Action/Status/Diagnostic-Code), and the original headers
     * (text/rfc822-headers) read from {@code originalContent}. Never called for a null sender.
     */
    public static byte[] build(Envelope original, List<Report> reports, String reportingHost,
                               InputStream originalContent, Instant now) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }
}
