package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.time.Instant;
import java.util.List;

/**
 * Fuzz target: a mail received at the TLS-RPT address, searched for its report by {@link MimeReport#find}.
 * Invariants: a message that is no report is a {@link ReportException} with 400 or 415 and a one-line reason, never
 * another exception (a deep nest, a boundary that never closes, bad base64); a report part found is of one of the two
 * report media types and no longer than the message; and a report mail as Postern's own sender writes it
 * ({@link ReportMessage#mail}) with the fuzzed bytes as its gzip gives those bytes back exactly.
 */
class MimeReportFuzzTest {
    private static final Report REPORT = new Report("Fuzz", new Report.DateRange(Instant.parse("2026-12-01T00:00:00Z"),
            Instant.parse("2026-12-02T00:00:00Z")), null, "id-1", List.of(new Report.PolicyResult(
            new Report.Policy("sts", null, "example.com", null), new Report.Summary(1, 0), null)));

    @FuzzTest
    void messages(byte[] message) throws ReportException {
        try {
            MimeReport.Found f = MimeReport.find(message);
            assertThat(f.mediaType()).isIn(ReportBytes.GZIP, ReportBytes.JSON);
            assertThat(f.body().length).isLessThanOrEqualTo(message.length);
        } catch (ReportException e) {
            assertThat(e.status()).isIn(400, 415);
            assertThat(e.getMessage()).isNotBlank().doesNotContain("\n", "\r");
        }
        byte[] mail = ReportMessage.mail(REPORT, message, "tlsrpt@sender.example", "tlsrpt@example.com",
                "sender.example", "fuzz@sender.example", Instant.parse("2026-12-02T01:00:00Z"));
        MimeReport.Found f = MimeReport.find(mail);
        assertThat(f.mediaType()).isEqualTo(ReportBytes.GZIP);
        assertThat(f.body()).isEqualTo(message);
    }
}
