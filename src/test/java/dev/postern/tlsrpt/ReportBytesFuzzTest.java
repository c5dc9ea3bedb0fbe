package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzz target: a report's body by its media type ({@link ReportBytes#json}): gzip from anyone, checked for bombs.
 * Invariants: only a {@link ReportException} (400 for a broken gzip stream, 413 past the limit, 415 for another media
 * type), never another exception; what comes out is never longer than the limit (so memory stays bounded whatever
 * the stream claims); JSON passes as it is; and anything gzipped by Postern's own sender comes back byte for byte
 * when it fits the limit, 413 when it does not.
 */
class ReportBytesFuzzTest {

    @FuzzTest
    void bodies(FuzzedDataProvider data) {
        int max = data.consumeInt(0, 1 << 16);
        String type = data.pickValue(new String[] {ReportBytes.GZIP, ReportBytes.JSON, "text/plain", ""});
        byte[] body = data.consumeRemainingAsBytes();
        try {
            byte[] out = ReportBytes.json(type, body, max);
            assertThat(out.length).isLessThanOrEqualTo(max);
            if (type.equals(ReportBytes.JSON)) assertThat(out).isSameAs(body);
        } catch (ReportException e) {
            assertThat(e.status()).isIn(400, 413, 415);
            if (type.equals(ReportBytes.JSON)) assertThat(e.status()).isEqualTo(413);
            assertThat(e.getMessage()).doesNotContain("\n", "\r");
        }
        byte[] gz = ReportMessage.gzip(body);
        try {
            assertThat(ReportBytes.json(ReportBytes.GZIP, gz, max)).isEqualTo(body);
            assertThat(body.length).isLessThanOrEqualTo(max);
        } catch (ReportException e) {
            assertThat(e.status()).as(e.getMessage()).isEqualTo(413);
            assertThat(body.length).isGreaterThan(max);
        }
    }
}
