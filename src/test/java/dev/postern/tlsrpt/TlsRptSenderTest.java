package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.postern.audit.AuditRecord;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsRptGroup;
import dev.postern.audit.TlsRptRecord;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.TestDnsServer;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.TlsContexts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sender against real loopback services: the {@code _smtp._tls} TXT records from a DNS server on 127.0.0.1, an
 * HTTPS endpoint on 127.0.0.1 with a certificate the client checks, mail handed to a recording queue. What goes out,
 * in what form, and that nothing goes out twice: a second run, a new sender on the same data directory (a
 * restart), a stop between the marker and the queue.
 */
public class TlsRptSenderTest {
    static final LocalDate DAY = LocalDate.parse("2026-12-02");

    @TempDir Path data;
    TestDnsServer dns;
    HttpsServer https;
    final List<byte[]> posted = new CopyOnWriteArrayList<>();
    final List<String> postedTypes = new CopyOnWriteArrayList<>();
    final AtomicInteger status = new AtomicInteger(200);
    final List<Submitted> mailed = new CopyOnWriteArrayList<>();
    final List<AuditRecord> audit = new CopyOnWriteArrayList<>();
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-03T00:30:00Z"));
    HttpClient client;
    List<TlsRptGroup> groups;

    record Submitted(String sender, List<String> recipients, byte[] content, String messageId, String origin) { }

    @BeforeEach void services() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Report CA", Certificates.KeyType.EC_P256,
                Duration.ofDays(30));
        KeyMaterial cert = Certificates.issue(ca, List.of("127.0.0.1"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(10));
        https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(TlsContexts.server(cert)));
        https.createContext("/tlsrpt", ex -> {
            posted.add(ex.getRequestBody().readAllBytes());
            postedTypes.add(ex.getRequestHeaders().getFirst("Content-Type"));
            ex.sendResponseHeaders(status.get(), -1);
            ex.close();
        });
        https.start();
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.leaf());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        client = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();

        dns = TestDnsServer.start();
        dns.txt("_smtp._tls.bank.example", "v=TLSRPTv1; rua=mailto:tlsrpt@bank.example,https://127.0.0.1:"
                + https.getAddress().getPort() + "/tlsrpt");
        dns.txt("_smtp._tls.shop.example", "v=TLSRPTv1;rua=mailto:a@shop.example");
        dns.txt("_smtp._tls.shop.example", "v=TLSRPTv1;rua=mailto:b@shop.example"); // two records: none applies
        dns.txt("_smtp._tls.web.example", "v=TLSRPTv1; rua=https://127.0.0.1:" + https.getAddress().getPort()
                + "/tlsrpt");
        groups = List.of(
                new TlsRptGroup("bank.example", "no-policy-found", null, "mx.bank.example", null, null, null, 4),
                new TlsRptGroup("bank.example", "no-policy-found", "certificate-host-mismatch", "mx.bank.example",
                        "192.0.2.1", "mx.bank.example", "name mismatch", 2),
                new TlsRptGroup("shop.example", "no-policy-found", null, "mx.shop.example", null, null, null, 1),
                new TlsRptGroup("plain.example", "no-policy-found", null, "mx.plain.example", null, null, null, 1));
    }

    @AfterEach void stop() {
        https.stop(0);
        dns.close();
    }

    TlsRptSender sender(TlsRptSender.Mail mail) {
        return new TlsRptSender(data, new TlsRptSender.Settings(true, "gw.a.example", "Postern Example",
                "postmaster@gw.a.example", "tlsrpt-sender@a.example", true), (s, e) -> {
                    assertThat(s).isEqualTo(Instant.parse("2026-12-02T00:00:00Z"));
                    assertThat(e).isEqualTo(Instant.parse("2026-12-03T00:00:00Z"));
                    return groups;
                }, new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2)), Aggregate.PolicyTexts.NONE, mail,
                audit::add, client, clock);
    }

    TlsRptSender sender() {
        return sender((from, rcpts, content, id, origin) -> {
            mailed.add(new Submitted(from, rcpts, content, id, origin));
            return "Q" + mailed.size();
        });
    }

    @Test void eachReportGoesToEachRuaOnceAndNeverAgain() throws Exception {
        List<TlsRptSender.Outcome> outcomes = sender().run(DAY, false);
        assertThat(outcomes).extracting(TlsRptSender.Outcome::domain)
                .containsExactly("bank.example", "plain.example", "shop.example");
        assertThat(outcomes.get(1).note()).contains("no valid _smtp._tls record");
        assertThat(outcomes.get(2).note()).as("two TLSRPT records: none").contains("no valid _smtp._tls record");
        assertThat(outcomes.getFirst().targets()).containsExactly(
                "mailto:tlsrpt@bank.example: queued (queue id Q1)",
                "https://127.0.0.1:" + https.getAddress().getPort() + "/tlsrpt: sent (HTTP 200)");

        // the mail: RFC 8460 §5.3
        Submitted m = mailed.getFirst();
        assertThat(m.sender()).isEqualTo("tlsrpt-sender@a.example");
        assertThat(m.recipients()).containsExactly("tlsrpt@bank.example");
        assertThat(m.origin()).isEqualTo("tls-rpt report");
        String mail = new String(m.content(), StandardCharsets.US_ASCII);
        String json = new String(reportOf(mail), StandardCharsets.UTF_8);
        assertThat(mail).contains("Message-ID: <" + m.messageId() + ">\r\n",
                "Subject: Report Domain: bank.example\r\n Submitter: gw.a.example\r\n Report-ID: "
                        + "<tlsrpt.20261202.bank.example@gw.a.example>\r\n",
                "TLS-Report-Domain: bank.example\r\n", "TLS-Report-Submitter: gw.a.example\r\n",
                "Content-Type: multipart/report; report-type=\"tlsrpt\";",
                "Content-Type: application/tlsrpt+gzip\r\n",
                "filename=\"gw.a.example!bank.example!1796169600!1796255999!20261202.json.gz\"");
        assertThat(mail.lines().allMatch(l -> l.length() <= 998)).isTrue();
        Report r = RecordCodec.mapper().readValue(json, Report.class);
        assertThat(r.policies().getFirst().summary()).isEqualTo(new Report.Summary(4, 2));
        assertThat(r.policies().getFirst().failureDetails().getFirst().resultType())
                .isEqualTo("certificate-host-mismatch");

        // the POST: the same bytes, the RFC's media type
        assertThat(posted).hasSize(1);
        assertThat(postedTypes).containsExactly("application/tlsrpt+gzip");
        assertThat(new String(gunzip(posted.getFirst()), StandardCharsets.UTF_8)).isEqualTo(json);

        // one audit record for the settled report
        assertThat(audit).singleElement().isInstanceOfSatisfying(TlsRptRecord.class, t -> {
            assertThat(t.direction()).isEqualTo(TlsRptRecord.Direction.OUT);
            assertThat(t.reportId()).isEqualTo("tlsrpt.20261202.bank.example@gw.a.example");
            assertThat(t.policyDomain()).isEqualTo("bank.example");
            assertThat(t.successful()).isEqualTo(4);
            assertThat(t.failed()).isEqualTo(2);
            assertThat(t.outcome()).isEqualTo("mailto:tlsrpt@bank.example: queued; https://127.0.0.1:"
                    + https.getAddress().getPort() + "/tlsrpt: sent");
            assertThat(t.json()).isEqualTo(json);
        });
        assertThat(data.resolve("tlsrpt/sent/2026-12-02/.done")).exists();

        // a second run, then a restart (a new sender on the same data directory): nothing more leaves
        assertThat(sender().run(DAY, false).getFirst().note()).startsWith("made before");
        TlsRptSender restarted = sender();
        restarted.retry(DAY);
        assertThat(restarted.run(DAY, false).getFirst().note()).startsWith("made before");
        assertThat(mailed).hasSize(1);
        assertThat(posted).hasSize(1);
        assertThat(audit).hasSize(1);
    }

    @Test void aDryRunMakesTheReportsAndSendsNothing() throws Exception {
        List<TlsRptSender.Outcome> dry = sender().run(DAY, true);
        assertThat(dry.getFirst().json()).contains("\"total-failure-session-count\":2");
        assertThat(dry.getFirst().targets()).allMatch(t -> t.endsWith(": pending"));
        assertThat(mailed).isEmpty();
        assertThat(posted).isEmpty();
        assertThat(audit).isEmpty();
        assertThat(data.resolve("tlsrpt")).doesNotExist();
        // and the real run afterwards still sends
        sender().run(DAY, false);
        assertThat(mailed).hasSize(1);
    }

    /** A stop after the queue took the mail but before the marker said so: on restart it is not sent again. */
    @Test void aStopBetweenMarkerAndQueueNeverSendsTwice() throws Exception {
        TlsRptSender crashing = sender((from, rcpts, content, id, origin) -> {
            mailed.add(new Submitted(from, rcpts, content, id, origin)); // in the spool...
            throw new IllegalStateException("the process dies here"); // ...and the marker never hears of it
        });
        assertThatThrownBy(() -> crashing.run(DAY, false)).hasMessageContaining("dies");
        assertThat(Files.readString(data.resolve("tlsrpt/sent/2026-12-02/bank.example.json"))).contains("SUBMITTING");
        assertThat(data.resolve("tlsrpt/sent/2026-12-02/.done")).doesNotExist();

        List<TlsRptSender.Outcome> after = sender().run(DAY, false);
        assertThat(after.getFirst().targets().getFirst()).startsWith("mailto:tlsrpt@bank.example: unknown "
                + "(interrupted while submitting");
        assertThat(mailed).hasSize(1);
        assertThat(posted).as("the https target was still pending: sent").hasSize(1);
        assertThat(audit).singleElement().isInstanceOfSatisfying(TlsRptRecord.class, t -> assertThat(t.outcome())
                .contains("mailto:tlsrpt@bank.example: failed: interrupted while submitting"));
    }

    @Test void anHttpsFailureIsRetriedLaterAndGivenUpAfterADay() throws Exception {
        groups = List.of(new TlsRptGroup("web.example", "sts", null, "mx.web.example", null, null, null, 3));
        status.set(503);
        TlsRptSender s = sender();
        assertThat(s.run(DAY, false).getFirst().targets().getFirst()).contains("retry (HTTP 503), next try "
                + "2026-12-03T00:40:00Z");
        s.retry(DAY);
        assertThat(posted).as("not before its time").hasSize(1);
        clock.advance(Duration.ofMinutes(10));
        status.set(200);
        s.retry(DAY);
        assertThat(posted).hasSize(2);
        assertThat(posted.get(1)).isEqualTo(posted.get(0));
        assertThat(audit).singleElement().isInstanceOfSatisfying(TlsRptRecord.class,
                t -> assertThat(t.outcome()).isEqualTo("sent"));

        // another day whose endpoint never answers 2xx: tried with growing gaps, then given up, recorded once
        LocalDate next = DAY.plusDays(1);
        clock.set(Instant.parse("2026-12-04T00:30:00Z"));
        status.set(500);
        TlsRptSender t = new TlsRptSender(data, new TlsRptSender.Settings(true, "gw.a.example", "Postern Example",
                "postmaster@gw.a.example", "tlsrpt-sender@a.example", true), (a, b) -> groups,
                new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2)), Aggregate.PolicyTexts.NONE,
                (a, b, c, d, e) -> "Q", audit::add, client, clock);
        t.run(next, false);
        for (int i = 0; i < 30; i++) {
            clock.advance(Duration.ofHours(2));
            t.retry(next);
        }
        assertThat(posted.size() - 2).as("attempts in a day: 10, 20, 40, 80 min, then every 2 h").isBetween(12, 16);
        assertThat(audit).hasSize(2);
        assertThat(((TlsRptRecord) audit.get(1)).outcome()).startsWith("failed: HTTP 500 (gave up after");
    }

    /** The gateway's setting: a record naming a loopback URL gets nothing POSTed, and the report is settled. */
    @Test void aLocalHttpsUrlIsRefusedInTheGateway() throws Exception {
        groups = List.of(new TlsRptGroup("web.example", "sts", null, "mx.web.example", null, null, null, 3));
        TlsRptSender s = new TlsRptSender(data, new TlsRptSender.Settings(true, "gw.a.example", "Postern Example",
                "postmaster@gw.a.example", "tlsrpt-sender@a.example", false), (a, b) -> groups,
                new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2)), Aggregate.PolicyTexts.NONE,
                (a, b, c, d, e) -> "Q", audit::add, client, clock);
        assertThat(s.run(DAY, false).getFirst().targets().getFirst()).contains(": failed (refused: 127.0.0.1 is a "
                + "local or private address (127.0.0.1))");
        assertThat(posted).isEmpty();
        assertThat(audit).singleElement().isInstanceOfSatisfying(TlsRptRecord.class,
                t -> assertThat(t.outcome()).startsWith("failed: refused"));
        assertThat(TlsRptSender.privateAddress("10.1.2.3")).isNotNull();
        assertThat(TlsRptSender.privateAddress("fd00::1")).isNotNull();
        assertThat(TlsRptSender.privateAddress("192.0.2.1")).isNull();
        // networks that are not the internet either: shared address space (carrier NAT, Tailscale's 100.64/10),
        // benchmarking, reserved; IPv6 forms that reach a private IPv4 address (NAT64, 6to4, IPv4-compatible)
        for (String inside : List.of("100.64.0.1", "100.127.255.254", "198.18.0.1", "240.0.0.1", "255.255.255.255",
                "64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:a00:1::1", "2002:7f00:1::", "::127.0.0.1")) {
            assertThat(TlsRptSender.privateAddress(inside)).as(inside).isNotNull();
        }
        for (String outside : List.of("100.63.255.255", "100.128.0.1", "64:ff9b::c000:201", "2002:c000:201::1",
                "2001:db8::1", "8.8.8.8")) {
            assertThat(TlsRptSender.privateAddress(outside)).as(outside).isNull();
        }
    }

    /** A record listing many addresses gets the report at its first few only. */
    @Test void aLongRuaListIsCut() throws Exception {
        StringBuilder rua = new StringBuilder("v=TLSRPTv1; rua=");
        for (int i = 0; i < 20; i++) rua.append(i == 0 ? "" : ",").append("mailto:r").append(i).append("@many.example");
        String text = rua.toString(); // longer than one TXT string: in parts, which the reader joins (RFC 7208 §3.3)
        dns.txt("_smtp._tls.many.example", text.substring(0, 200), text.substring(200, 400), text.substring(400));
        groups = List.of(new TlsRptGroup("many.example", "no-policy-found", null, "mx.many.example", null, null, null,
                1));
        sender().run(DAY, false);
        assertThat(mailed).extracting(m -> m.recipients().getFirst()).containsExactly("r0@many.example",
                "r1@many.example", "r2@many.example", "r3@many.example", "r4@many.example");
        assertThat(mailed).extracting(Submitted::messageId).doesNotHaveDuplicates();
    }

    /** The report inside a §5.3 mail: the base64 part after the application/tlsrpt+gzip header, gunzipped. */
    public static byte[] reportOf(String mail) throws IOException {
        Matcher boundary = Pattern.compile("boundary=\"([^\"]+)\"").matcher(mail);
        assertThat(boundary.find()).isTrue();
        String[] parts = mail.split("\r\n--" + Pattern.quote(boundary.group(1)));
        assertThat(parts).hasSize(4); // preamble, text, report, "--" epilogue
        assertThat(parts[3]).startsWith("--");
        String part = parts[2];
        assertThat(part).contains("Content-Type: application/tlsrpt+gzip", "Content-Transfer-Encoding: base64");
        String body = part.substring(part.indexOf("\r\n\r\n") + 4);
        return gunzip(Base64.getMimeDecoder().decode(body));
    }

    static byte[] gunzip(byte[] gz) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }

    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) { this.now = now; }

        void advance(Duration d) { now = now.plus(d); }

        void set(Instant i) { now = i; }

        @Override public ZoneId getZone() { return ZoneOffset.UTC; }

        @Override public Clock withZone(ZoneId zone) { return this; }

        @Override public Instant instant() { return now; }
    }
}
