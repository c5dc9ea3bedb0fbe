package dev.postern.tlsrpt;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.postern.audit.RecordCodec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.zip.GZIPOutputStream;

/**
 * A report as it is sent (RFC 8460 §5): its JSON, gzipped ({@code application/tlsrpt+gzip}), its file name (§5.1),
 * and the mail that carries it to a {@code mailto:} address (§5.3).
 */
public final class ReportMessage {
    /** RFC 8460 §6.4's media type of a gzipped report. */
    public static final String GZIP_TYPE = "application/tlsrpt+gzip";
    private static final String CRLF = "\r\n";

    private ReportMessage() {}

    /** The report's JSON (RFC 8460 names, optional fields left out). */
    public static byte[] json(Report r) {
        try {
            return RecordCodec.mapper().writeValueAsBytes(r);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a report: " + e.getMessage(), e);
        }
    }

    /** {@code json} gzipped. */
    public static byte[] gzip(byte[] json) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // to memory: cannot happen
        }
        return out.toByteArray();
    }

    /** A report of ours as {@link #gzip} made it (from {@code data/tlsrpt/sent}: our own bytes, no bomb guard). */
    static byte[] gunzip(byte[] gzip) throws IOException {
        try (java.util.zip.GZIPInputStream in = new java.util.zip.GZIPInputStream(
                new java.io.ByteArrayInputStream(gzip))) {
            return in.readAllBytes();
        }
    }

    /**
     * RFC 8460 §5.1: {@code sender "!" policy-domain "!" begin-timestamp "!" end-timestamp [ "!" unique-id ] "." extension},
     * timestamps in seconds since the epoch; the unique id is the report's day, so a second report of another period
     * never has the same name.
     */
    public static String filename(String submitter, Report r) {
        Report.DateRange d = r.dateRange();
        return submitter + "!" + r.policies().getFirst().policy().policyDomain() + "!" + d.start().getEpochSecond()
                + "!" + d.end().getEpochSecond() + "!" + d.start().atOffset(ZoneOffset.UTC).toLocalDate()
                .toString().replace("-", "") + ".json.gz";
    }

    /**
     * The mail of RFC 8460 §5.3: {@code multipart/report; report-type="tlsrpt"} with a short text part and the
     * gzipped report in base64, the {@code TLS-Report-Domain} and {@code TLS-Report-Submitter} fields and the subject
     * the RFC gives. {@code TLS-Required: No} (RFC 8689): the report must reach the domain even when TLS with it
     * fails, which is what it reports (RFC 8460 §5.3).
     *
     * @param messageId without angle brackets
     */
    public static byte[] mail(Report r, byte[] gzip, String from, String to, String submitter, String messageId,
                              Instant now) {
        String domain = r.policies().getFirst().policy().policyDomain();
        String boundary = "tlsrpt-" + Integer.toHexString(messageId.hashCode()) + "-" + now.getEpochSecond();
        StringBuilder m = new StringBuilder();
        m.append("From: <").append(from).append('>').append(CRLF);
        m.append("To: <").append(to).append('>').append(CRLF);
        m.append("Date: ").append(DateTimeFormatter.RFC_1123_DATE_TIME.format(now.atOffset(ZoneOffset.UTC)))
                .append(CRLF);
        m.append("Message-ID: <").append(messageId).append('>').append(CRLF);
        m.append("Subject: Report Domain: ").append(domain).append(CRLF)
                .append(" Submitter: ").append(submitter).append(CRLF)
                .append(" Report-ID: <").append(r.reportId()).append('>').append(CRLF);
        m.append("TLS-Report-Domain: ").append(domain).append(CRLF);
        m.append("TLS-Report-Submitter: ").append(submitter).append(CRLF);
        m.append("TLS-Required: No").append(CRLF);
        m.append("Auto-Submitted: auto-generated").append(CRLF);
        m.append("MIME-Version: 1.0").append(CRLF);
        m.append("Content-Type: multipart/report; report-type=\"tlsrpt\";").append(CRLF)
                .append(" boundary=\"").append(boundary).append('"').append(CRLF);
        m.append(CRLF);
        m.append("This is a multipart message in MIME format.").append(CRLF).append(CRLF);
        m.append("--").append(boundary).append(CRLF);
        m.append("Content-Type: text/plain; charset=\"us-ascii\"").append(CRLF);
        m.append("Content-Transfer-Encoding: 7bit").append(CRLF).append(CRLF);
        m.append("This is an aggregate TLS report (RFC 8460) from ").append(submitter).append(" about ")
                .append(domain).append(" for ").append(r.dateRange().start()).append(" to ")
                .append(r.dateRange().end()).append('.').append(CRLF).append(CRLF);
        m.append("--").append(boundary).append(CRLF);
        m.append("Content-Type: ").append(GZIP_TYPE).append(CRLF);
        m.append("Content-Transfer-Encoding: base64").append(CRLF);
        m.append("Content-Disposition: attachment;").append(CRLF)
                .append(" filename=\"").append(filename(submitter, r)).append('"').append(CRLF).append(CRLF);
        m.append(Base64.getMimeEncoder(76, CRLF.getBytes(StandardCharsets.US_ASCII)).encodeToString(gzip))
                .append(CRLF);
        m.append("--").append(boundary).append("--").append(CRLF);
        return m.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
