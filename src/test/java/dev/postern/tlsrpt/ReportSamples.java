package dev.postern.tlsrpt;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/** Reports written by hand as senders make them (RFC 8460 §4.4, §5.3), and hostile ones. */
public final class ReportSamples {
    private ReportSamples() {}

    /** RFC 8460 §4.4's example, about {@code domain}: an sts policy, 5326 successful, 303 failed, three details. */
    public static String rfcExample(String domain) {
        return """
                {
                  "organization-name": "Company-X",
                  "date-range": {
                    "start-datetime": "2016-04-01T00:00:00Z",
                    "end-datetime": "2016-04-01T23:59:59Z"
                  },
                  "contact-info": "sts-reporting@company-x.example",
                  "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
                  "policies": [{
                    "policy": {
                      "policy-type": "sts",
                      "policy-string": ["version: STSv1", "mode: testing",
                            "mx: *.mail.DOMAIN", "max_age: 86400"],
                      "policy-domain": "DOMAIN",
                      "mx-host": ["*.mail.DOMAIN"]
                    },
                    "summary": {
                      "total-successful-session-count": 5326,
                      "total-failure-session-count": 303
                    },
                    "failure-details": [{
                      "result-type": "certificate-expired",
                      "sending-mta-ip": "2001:db8:abcd:0012::1",
                      "receiving-mx-hostname": "mx1.mail.DOMAIN",
                      "failed-session-count": 100
                    }, {
                      "result-type": "starttls-not-supported",
                      "sending-mta-ip": "2001:db8:abcd:0013::1",
                      "receiving-mx-hostname": "mx2.mail.DOMAIN",
                      "receiving-ip": "203.0.113.56",
                      "failed-session-count": 200,
                      "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"
                    }, {
                      "result-type": "validation-failure",
                      "sending-mta-ip": "198.51.100.62",
                      "receiving-ip": "203.0.113.58",
                      "receiving-mx-hostname": "mx-backup.mail.DOMAIN",
                      "failed-session-count": 3,
                      "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
                    }]
                  }]
                }
                """.replace("DOMAIN", domain);
    }

    /**
     * A daily report as a large sender makes it (report-id of the window and domain, a DANE policy and no failure, plus
     * an sts one with failures), for the day starting at {@code start}.
     */
    public static String daily(String organization, String domain, Instant start, long ok, long failed) {
        Instant end = start.plusSeconds(86_399);
        return """
                {"organization-name":"ORG","date-range":{"start-datetime":"START","end-datetime":"END"},
                 "contact-info":"smtp-tls-reporting@reporter.example","report-id":"START_DOMAIN",
                 "policies":[
                  {"policy":{"policy-type":"tlsa","policy-string":["3 1 1 0123456789abcdef"],"policy-domain":"DOMAIN",
                    "mx-host":["mx.DOMAIN"]},
                   "summary":{"total-successful-session-count":OK,"total-failure-session-count":0}},
                  {"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx.DOMAIN",
                    "max_age: 604800"],"policy-domain":"DOMAIN","mx-host":"mx.DOMAIN"},
                   "summary":{"total-successful-session-count":0,"total-failure-session-count":FAILED},
                   "failure-details":[{"result-type":"certificate-host-mismatch","sending-mta-ip":"192.0.2.10",
                     "receiving-mx-hostname":"mx.DOMAIN","receiving-ip":"198.51.100.25","failed-session-count":FAILED}]}
                 ]}
                """.replace("ORG", organization).replace("START", start.toString()).replace("END", end.toString())
                .replace("DOMAIN", domain).replace("FAILED", Long.toString(failed)).replace("OK", Long.toString(ok));
    }

    public static byte[] gzip(String json) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(b)) {
            gz.write(json.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return b.toByteArray();
    }

    /** RFC 8460 §5.3's mail: multipart/report; report-type="tlsrpt", a text part and the gzipped report in base64. */
    public static byte[] mail(String from, String to, String domain, byte[] gz) {
        String b64 = Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(gz);
        String m = "From: " + from + "\r\n"
                + "To: " + to + "\r\n"
                + "Date: Wed, 02 Dec 2026 01:00:00 +0000\r\n"
                + "Message-ID: <tlsrpt-" + System.nanoTime() + "@reporter.example>\r\n"
                + "Subject: Report Domain: " + domain + "\r\n Submitter: reporter.example\r\n Report-ID: <r1>\r\n"
                + "TLS-Report-Domain: " + domain + "\r\n"
                + "TLS-Report-Submitter: reporter.example\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
                + "\tboundary=\"----=_Part_7_1234.5678\"\r\n"
                + "\r\n"
                + "This is a multi-part message in MIME format.\r\n"
                + "\r\n"
                + "------=_Part_7_1234.5678\r\n"
                + "Content-Type: text/plain; charset=us-ascii\r\n"
                + "Content-Transfer-Encoding: 7bit\r\n"
                + "\r\n"
                + "This is an aggregate TLS report from reporter.example\r\n"
                + "\r\n"
                + "------=_Part_7_1234.5678\r\n"
                + "Content-Type: application/tlsrpt+gzip\r\n"
                + "Content-Transfer-Encoding: base64\r\n"
                + "Content-Disposition: attachment;\r\n"
                + "\tfilename=\"reporter.example!" + domain + "!1480550400!1480636799.json.gz\"\r\n"
                + "\r\n"
                + b64 + "\r\n"
                + "------=_Part_7_1234.5678--\r\n";
        return m.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * A valid gzip header and deflate stream that inflates to {@code mebibytes} MiB of zeros: one fully flushed block
     * of 1 MiB of zeros (about 1 KiB: deflate's best is about 1:1032) repeated. The trailer's CRC is not computed: a
     * reader that stops at its limit never gets there, and one that does not is the bug.
     */
    public static byte[] bomb(int mebibytes) {
        byte[] zeros = new byte[1 << 20];
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        byte[] buf = new byte[64 * 1024];
        d.setInput(zeros);
        int n = d.deflate(buf, 0, buf.length, Deflater.FULL_FLUSH);
        byte[] chunk = Arrays.copyOf(buf, n);
        d.setInput(zeros);
        int n2 = d.deflate(buf, 0, buf.length, Deflater.FULL_FLUSH);
        if (!Arrays.equals(chunk, Arrays.copyOf(buf, n2))) throw new IllegalStateException("blocks differ");
        d.finish();
        int last = d.deflate(buf, 0, buf.length, Deflater.FULL_FLUSH);
        byte[] tail = Arrays.copyOf(buf, last);
        d.end();
        ByteArrayOutputStream out = new ByteArrayOutputStream(mebibytes * chunk.length + 64);
        out.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff});
        for (int i = 0; i < mebibytes; i++) out.writeBytes(chunk);
        out.writeBytes(tail);
        long size = (long) mebibytes << 20;
        out.writeBytes(new byte[] {0, 0, 0, 0, (byte) size, (byte) (size >> 8), (byte) (size >> 16), (byte) (size >> 24)});
        return out.toByteArray();
    }
}
