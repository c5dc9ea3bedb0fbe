package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.time.Instant;

/**
 * Fuzz target: a TLS report's JSON from anyone who can mail or POST one, read by {@link ReportReader}. Invariants: a
 * report refused is a {@link ReportException} with status 400 (not JSON, or beyond the parser's limits), 413 or 422
 * and a one-line reason, never another exception (a stack overflow from nesting, a number too long...); a report
 * accepted holds only what was checked (printable texts, non-negative counts, a window of at most 31 days ending before
 * tomorrow, policy domains in lookup form, at most 1,000 policies); and what Postern stores (the report
 * re-serialised) reads again as the same report.
 */
class ReportReaderFuzzTest {
    private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
    private static final ReportReader READER = new ReportReader(1 << 20);

    @FuzzTest
    void reports(byte[] json) throws ReportException {
        Report r;
        try {
            r = READER.read(json, NOW);
        } catch (ReportException e) {
            assertThat(e.status()).isIn(400, 413, 422);
            assertThat(e.getMessage()).isNotBlank().doesNotContain("\n", "\r");
            return;
        }
        assertThat(r.dateRange().start()).isBefore(r.dateRange().end());
        assertThat(r.dateRange().end()).isBeforeOrEqualTo(NOW.plus(ReportReader.FUTURE_SLACK));
        assertThat(r.policies()).isNotEmpty().hasSizeLessThanOrEqualTo(ReportReader.MAX_POLICIES);
        assertThat(r.organizationName()).isNotBlank().hasSizeLessThanOrEqualTo(ReportReader.MAX_ID);
        assertThat(r.reportId()).isNotBlank().hasSizeLessThanOrEqualTo(ReportReader.MAX_ID);
        for (Report.PolicyResult p : r.policies()) {
            assertThat(p.policy().policyDomain()).matches("[a-z0-9.-]+").doesNotEndWith(".");
            assertThat(p.summary().successful()).isNotNegative();
            assertThat(p.summary().failed()).isNotNegative();
            if (p.failureDetails() != null) {
                p.failureDetails().forEach(d -> assertThat(d.failedSessionCount()).isNotNegative());
            }
        }
        Report again = READER.read(ReportMessage.json(r), NOW);
        assertThat(again).as("stored and read again").isEqualTo(r);
    }
}
