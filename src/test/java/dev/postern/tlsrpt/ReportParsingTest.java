package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The readers alone: RFC 8460 reports as senders write them, and everything a hostile or broken sender may send. */
class ReportParsingTest {
    static final Instant NOW = Instant.parse("2026-12-03T08:00:00Z");
    static final long MAX = 5L << 20;
    final ReportReader reader = new ReportReader(MAX);

    Report read(String json) throws ReportException {
        return reader.read(json.getBytes(StandardCharsets.UTF_8), NOW);
    }

    static void refused(ThrowingCall call, int status, String reason) {
        assertThatThrownBy(call::run).isInstanceOf(ReportException.class)
                .satisfies(e -> assertThat(((ReportException) e).status()).as(e.getMessage()).isEqualTo(status))
                .hasMessageContaining(reason);
    }

    interface ThrowingCall {
        void run() throws Exception;
    }

    @Test void theRfcExampleIsReadWholeAndNormalized() throws Exception {
        Report r = read(ReportSamples.rfcExample("Company-Y.Example"));
        assertThat(r.organizationName()).isEqualTo("Company-X");
        assertThat(r.reportId()).isEqualTo("5065427c-23d3-47ca-b6e0-946ea0e8c4be");
        assertThat(r.dateRange().start()).isEqualTo(Instant.parse("2016-04-01T00:00:00Z"));
        var p = r.policies().getFirst();
        assertThat(p.policy().policyDomain()).isEqualTo("company-y.example"); // lookup form
        assertThat(p.policy().policyString()).hasSize(4);
        assertThat(p.summary().successful()).isEqualTo(5326);
        assertThat(p.failureDetails()).extracting(Report.FailureDetail::resultType)
                .containsExactly("certificate-expired", "starttls-not-supported", "validation-failure");
        assertThat(p.failureDetails().getFirst().sendingMtaIp()).isEqualTo("2001:db8:abcd:12:0:0:0:1");
        // stored JSON: the RFC's names, optional members left out, readable again to the same report
        String json = ReportReceiver.storedJson(r);
        assertThat(json).startsWith("{\"organization-name\":\"Company-X\",\"date-range\":{\"start-datetime\":"
                + "\"2016-04-01T00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:59Z\"},\"contact-info\"")
                .contains("\"total-failure-session-count\":303", "\"failure-reason-code\":\"X509_V_ERR_PROXY_PATH")
                .doesNotContain("null", "receiving-mx-helo");
        assertThat(read(json)).isEqualTo(r);
        assertThat(ReportSummary.failures(json, 2)).extracting(ReportSummary.Failures::resultType)
                .containsExactly("starttls-not-supported", "certificate-expired");
    }

    @Test void mxHostAsOneStringAndUnknownMembersAreAccepted() throws Exception {
        Report r = read(ReportSamples.daily("Google Inc.", "a.example", Instant.parse("2026-12-01T00:00:00Z"),
                10, 2).replace("\"policies\"", "\"x-extension\":{\"a\":[1,2]},\"policies\""));
        assertThat(r.policies().get(1).policy().mxHost()).containsExactly("mx.a.example");
        assertThat(ReportReceiver.storedJson(r)).doesNotContain("x-extension");
    }

    @Test void malformedJsonIs400() {
        refused(() -> read("{\"organization-name\": \"x\""), 400, "not JSON");
        refused(() -> read("{} {}"), 400, "more after");
        refused(() -> read(""), 422, "a report is a JSON object");
        refused(() -> read("{\"report-id\":\"a\",\"report-id\":\"b\"}"), 400, "Duplicate field 'report-id'");
        refused(() -> read("[1,2]"), 422, "a report is a JSON object");
    }

    @Test void deepNestingIsRefusedByTheParserItself() {
        String deep = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        long t0 = System.nanoTime();
        refused(() -> read(deep), 400, "nesting depth");
        assertThat(System.nanoTime() - t0).isLessThan(2_000_000_000L);
        refused(() -> read("{\"a\":" + "[".repeat(12) + "]".repeat(12) + "}"), 400, "nesting depth");
    }

    @Test void hugeNumbersAndStringsAreRefused() {
        String longNumber = ReportSamples.rfcExample("a.example").replace("5326", "9".repeat(5000));
        refused(() -> read(longNumber), 400, "Number value length");
        String beyondLong = ReportSamples.rfcExample("a.example").replace("5326", "99999999999999999999");
        refused(() -> read(beyondLong), 422, "total-successful-session-count: must be a whole number");
        String longId = ReportSamples.rfcExample("a.example").replace("5065427c-23d3-47ca-b6e0-946ea0e8c4be",
                "x".repeat(300));
        refused(() -> read(longId), 422, "report-id: longer than 256 characters");
    }

    @Test void countsDatesNamesAndTypesAreChecked() {
        String ok = ReportSamples.rfcExample("a.example");
        refused(() -> read(ok.replace("5326", "-1")), 422,
                "policies[0].summary.total-successful-session-count: must not be negative");
        refused(() -> read(ok.replace("\"failed-session-count\": 100", "\"failed-session-count\": 1.5")), 422,
                "policies[0].failure-details[0].failed-session-count: must be a whole number");
        refused(() -> read(ok.replace("\"failed-session-count\": 100", "\"failed-session-count\": \"100\"")), 422,
                "must be a whole number");
        refused(() -> read(ok.replace("2016-04-01T23:59:59Z", "2016-03-01T00:00:00Z")), 422,
                "start-datetime must be before end-datetime");
        refused(() -> read(ok.replace("2016-04-01T23:59:59Z", "yesterday")), 422,
                "date-range.end-datetime: not an RFC 3339 date-time");
        refused(() -> read(ok.replace("2016-04-01T00:00:00Z", "2026-12-10T00:00:00Z")
                .replace("2016-04-01T23:59:59Z", "2026-12-10T23:59:59Z")), 422, "ends in the future");
        refused(() -> read(ok.replace("\"Company-X\"", "\"Evil\\u0007Corp\"")), 422,
                "organization-name: holds a control or unprintable character");
        refused(() -> read(ok.replace("\"Company-X\"", "\"Evil\\u202eCorp\"")), 422, "unprintable");
        refused(() -> read(ok.replace("\"Company-X\"", "\"   \"")), 422, "organization-name: empty");
        refused(() -> read(ok.replace("\"sts\"", "\"dmarc\"")), 422, "policy-type: must be tlsa, sts");
        refused(() -> read(ok.replace("\"policy-domain\": \"a.example\"", "\"policy-domain\": \"a..example\"")), 422,
                "policy-domain: not a domain name");
        refused(() -> read(ok.replace("198.51.100.62", "example.net")), 422, "sending-mta-ip: not an IP address");
        refused(() -> read(ok.replace("\"policies\": [{", "\"policies\": [], \"x\": [{")), 422, "policies: empty");
        refused(() -> read(ok.replace("\"report-id\"", "\"report_id\"")), 422, "report-id: missing");
    }

    // ---- gzip

    @Test void gzipAndJsonBodiesByTheirType() throws Exception {
        String json = ReportSamples.rfcExample("a.example");
        assertThat(new String(ReportBytes.json(ReportBytes.GZIP, ReportSamples.gzip(json), MAX), StandardCharsets.UTF_8))
                .isEqualTo(json);
        assertThat(ReportBytes.json(ReportBytes.mediaType("Application/TLSRPT+JSON; charset=utf-8"),
                json.getBytes(StandardCharsets.UTF_8), MAX)).hasSize(json.length());
        refused(() -> ReportBytes.json("application/json", new byte[2], MAX), 415, "content type must be");
        refused(() -> ReportBytes.json(ReportBytes.GZIP, json.getBytes(StandardCharsets.UTF_8), MAX), 400,
                "not a valid gzip stream");
        byte[] gz = ReportSamples.gzip(json);
        refused(() -> ReportBytes.json(ReportBytes.GZIP, java.util.Arrays.copyOf(gz, gz.length / 2), MAX), 400,
                "cut short");
        refused(() -> ReportBytes.json(ReportBytes.JSON, new byte[(int) MAX + 1], MAX), 413, "larger than");
    }

    @Test void aGzipBombIsRefusedAfterTheLimitNotInflatedWhole() throws Exception {
        byte[] small = ReportSamples.bomb(8); // about 8 KiB that inflate to 8 MiB
        assertThat(small.length).isLessThan(10_000);
        refused(() -> ReportBytes.json(ReportBytes.GZIP, small, MAX), 413, "inflates to more than 5242880 bytes");

        byte[] bomb = ReportSamples.bomb(4096); // about 4 MiB that inflate to 4 GiB
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long allocated = threads.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        refused(() -> ReportBytes.json(ReportBytes.GZIP, bomb, MAX), 413, "inflates to more than");
        long millis = (System.nanoTime() - t0) / 1_000_000;
        long mib = (threads.getCurrentThreadAllocatedBytes() - allocated) >> 20;
        System.out.printf("gzip bomb: %d bytes (inflating to 4 GiB) refused in %d ms, %d MiB allocated%n",
                bomb.length, millis, mib);
        assertThat(bomb.length).isLessThan(5 << 20);
        assertThat(millis).isLessThan(3_000);
        assertThat(mib).isLessThan(64); // the 5 MiB output buffer and its doublings, never the 4 GiB
    }

    // ---- MIME

    @Test void theRfcMailIsFoundAndDecoded() throws Exception {
        String json = ReportSamples.rfcExample("a.example");
        byte[] mail = ReportSamples.mail("reporter@company-x.example", "tlsrpt@a.example", "a.example",
                ReportSamples.gzip(json));
        MimeReport.Found f = MimeReport.find(mail);
        assertThat(f.mediaType()).isEqualTo(ReportBytes.GZIP);
        assertThat(new String(ReportBytes.json(f.mediaType(), f.body(), MAX), StandardCharsets.UTF_8)).isEqualTo(json);
        // the same with LF line ends (a Maildir written by another tool)
        String lf = new String(mail, StandardCharsets.US_ASCII).replace("\r\n", "\n");
        assertThat(MimeReport.find(lf.getBytes(StandardCharsets.US_ASCII)).body()).isEqualTo(f.body());
    }

    @Test void aSinglePartReportAndANestedOneAreFound() throws Exception {
        String json = ReportSamples.rfcExample("a.example");
        String b64 = java.util.Base64.getMimeEncoder().encodeToString(ReportSamples.gzip(json));
        String single = "From: r@x.example\r\nContent-Type: application/tlsrpt+gzip\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n";
        assertThat(MimeReport.find(single.getBytes(StandardCharsets.US_ASCII)).mediaType()).isEqualTo(ReportBytes.GZIP);
        String nested = "Content-Type: multipart/report; report-type=tlsrpt; boundary=outer\r\n\r\n"
                + "--outer\r\nContent-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n"
                + "--inner\r\nContent-Type: application/tlsrpt+json\r\n\r\n" + json + "\r\n--inner--\r\n"
                + "--outer--\r\n";
        MimeReport.Found f = MimeReport.find(nested.getBytes(StandardCharsets.UTF_8));
        assertThat(new String(f.body(), StandardCharsets.UTF_8)).isEqualTo(json);
    }

    @Test void whatIsNotAReportOrIsBrokenIsRefusedWithItsReason() {
        refused(() -> MimeReport.find("Subject: hi\r\n\r\nhello\r\n".getBytes()), 415,
                "not a TLS report: Content-Type text/plain");
        refused(() -> MimeReport.find("Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n--b--\r\n".getBytes()),
                415, "not a TLS report");
        refused(() -> MimeReport.find("Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n--b\r\n\r\nx\r\n".getBytes()),
                400, "without its closing boundary");
        refused(() -> MimeReport.find("Content-Type: multipart/report; report-type=tlsrpt\r\n\r\n--b--\r\n".getBytes()),
                400, "without a valid boundary");
        refused(() -> MimeReport.find(("Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n--b\r\n"
                + "Content-Type: text/plain\r\n\r\nonly text\r\n--b--\r\n").getBytes()), 400, "no application/tlsrpt+gzip");
        String part = "Content-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        refused(() -> MimeReport.find(("Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n--b\r\n"
                + part + "H4sI\r\n--b\r\n" + part + "H4sI\r\n--b--\r\n").getBytes()), 400, "more than one report part");
        refused(() -> MimeReport.find(("Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n--b\r\n"
                + part + "H4s*I===\r\n--b--\r\n").getBytes()), 400, "bad base64");
        refused(() -> MimeReport.find(("Content-Type: application/tlsrpt+gzip\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\nx\r\n").getBytes()), 400,
                "unsupported Content-Transfer-Encoding quoted-printable");
        StringBuilder deep = new StringBuilder("Content-Type: multipart/report; report-type=tlsrpt; boundary=b0\r\n\r\n");
        for (int i = 1; i <= 5; i++) deep.append("--b").append(i - 1).append("\r\nContent-Type: multipart/mixed; boundary=b")
                .append(i).append("\r\n\r\n");
        for (int i = 5; i >= 0; i--) deep.append("--b").append(i).append("--\r\n");
        refused(() -> MimeReport.find(deep.toString().getBytes()), 400, "nested deeper than 3");
        byte[] oneLongLine = ("Content-Type: application/tlsrpt+json; x=" + "y".repeat(70_000)).getBytes();
        refused(() -> MimeReport.find(oneLongLine), 400, "header section over 64 KiB");
        refused(() -> MimeReport.find(("Content-Type: application/tlsrpt+gzip\r\nContent-Type: text/plain\r\n\r\nx")
                .getBytes()), 400, "two content-type fields");
    }

}
