package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.AuditRecord;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.audit.TlsSessionRecord.Verification;
import dev.postern.testkit.AuditSamples;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One day's records written straight into a real SQLite audit store with chosen times, then the reports made of
 * them: which sessions count (the day, this gateway, outbound, domains delivered to), how they group, and the JSON
 * against RFC 8460 §4.4's names.
 */
class TlsRptAggregateTest {
    @TempDir Path dir;

    static final LocalDate DAY = LocalDate.parse("2026-12-02");
    static final Instant NOON = Instant.parse("2026-12-02T12:00:00Z");
    static final Aggregate.Maker MAKER = new Aggregate.Maker("Postern Example", "postmaster@gw.a.example",
            "gw.a.example");

    /** An outbound session to {@code host} for {@code domain}, counted under {@code type}, failed as {@code result}. */
    static TlsSessionRecord session(String id, Instant at, String domain, String host, String type, String result,
                                    NoTls noTls, String detail) {
        boolean tls = noTls == null || noTls == NoTls.POLICY_CHECK_FAILED;
        return new TlsSessionRecord(id, at, Direction.OUT, host + ":25", "192.0.2.10", 25, host, null,
                tls ? "TLSv1.3" : null, tls ? "TLS_AES_128_GCM_SHA256" : null, tls ? 128 : -1, null, false,
                host, List.of(), result == null && tls ? Verification.VERIFIED : tls ? Verification.FAILED
                : Verification.NOT_CHECKED, result == null ? "verified for " + host : "name mismatch", null,
                noTls, detail, new PolicyApplied("verify", "static", null, "enforce", List.of()), domain, type,
                result);
    }

    static DeliveryRecord delivery(String queueId, Instant at, String rcpt, String sessionId) {
        return AuditSamples.delivered(queueId, at, rcpt, sessionId);
    }

    static List<AuditRecord> day() {
        List<AuditRecord> r = new ArrayList<>();
        // bank.example: DANE, two good sessions, one TLSA mismatch (no delivery names it)
        r.add(session("s1", NOON, "bank.example", "mx1.bank.example", "tlsa", null, null, null));
        r.add(session("s2", NOON.plusSeconds(60), "bank.example", "mx2.bank.example", "tlsa", null, null, null));
        r.add(session("s3", NOON.plusSeconds(120), "bank.example", "mx1.bank.example", "tlsa", "tlsa-invalid",
                NoTls.POLICY_CHECK_FAILED, "mx1.bank.example[192.0.2.10]:25: TLSA mismatch: no TLSA record matched"));
        r.add(delivery("q1", NOON, "a@bank.example", "s1"));
        r.add(delivery("q2", NOON.plusSeconds(60), "b@bank.example", "s2"));
        // shop.example: MTA-STS, one good, two without STARTTLS (grouped into one failure detail)
        r.add(session("s4", NOON, "shop.example", "mx.shop.example", "sts", null, null, null));
        for (String id : List.of("s5", "s6")) {
            r.add(session(id, NOON.plusSeconds(id.hashCode() % 100), "shop.example", "mx.shop.example", "sts",
                    "starttls-not-supported", NoTls.NOT_OFFERED, "mx.shop.example[192.0.2.10]:25: does not offer "
                            + "STARTTLS"));
        }
        r.add(delivery("q3", NOON, "c@shop.example", "s4"));
        // plain.example: no policy, one session, just before midnight (in the day)
        r.add(session("s7", Instant.parse("2026-12-02T23:59:59.999Z"), "plain.example", "mx.plain.example",
                "no-policy-found", null, null, null));
        r.add(delivery("q4", Instant.parse("2026-12-02T23:59:59.999Z"), "d@plain.example", "s7"));
        // not counted: the day after (midnight exactly), the day before, a probe-only domain (no delivery), inbound,
        // a session recorded before policy domains were kept, a local delivery
        r.add(session("x1", Instant.parse("2026-12-03T00:00:00Z"), "bank.example", "mx1.bank.example", "tlsa", null,
                null, null));
        r.add(session("x2", Instant.parse("2026-12-01T23:59:59Z"), "bank.example", "mx1.bank.example", "tlsa", null,
                null, null));
        r.add(session("x3", NOON, "probed.example", "mx.probed.example", "sts", null, null, null));
        r.add(AuditSamples.in("x4", NOON, "client.example", true, false));
        r.add(AuditSamples.out("x5", NOON, "mx.bank.example", true, "verify"));
        r.add(new DeliveryRecord(NOON, "q5", "e@a.example", 1, "local", 0, null, 0, null, null, List.of(),
                DeliveryRecord.Outcome.DELIVERED, "2.0.0", "delivered to Maildir", null, List.of()));
        return r;
    }

    JdbcAuditStore store(String gateway) throws Exception {
        return JdbcAuditStore.open("jdbc:sqlite:" + dir.resolve("audit.db"), null, null, gateway);
    }

    @Test void countsTheDaysSessionsOfTheDomainsDeliveredTo() throws Exception {
        try (JdbcAuditStore other = store("gw-other")) {
            // another gateway sharing the store: its sessions and deliveries are its own reports' business
            other.write(List.of(session("o1", NOON, "bank.example", "mx1.bank.example", "tlsa", null, null, null),
                    delivery("o2", NOON, "z@other.example", "o1"),
                    session("o3", NOON, "other.example", "mx.other.example", "sts", null, null, null)));
        }
        try (JdbcAuditStore store = store("gw-1")) {
            store.write(day());
            Instant start = Aggregate.range(DAY).start();
            assertThat(store.tlsRptDomains(start, start.plusSeconds(86400)))
                    .containsExactly("bank.example", "plain.example", "shop.example");
            Map<String, Report> reports = Aggregate.reports(DAY, store.tlsRptGroups(start, start.plusSeconds(86400)),
                    MAKER, texts());
            assertThat(reports).containsOnlyKeys("bank.example", "plain.example", "shop.example");

            Report bank = reports.get("bank.example");
            assertThat(bank.reportId()).isEqualTo("tlsrpt.20261202.bank.example@gw.a.example");
            Report.PolicyResult tlsa = bank.policies().getFirst();
            assertThat(tlsa.policy().policyType()).isEqualTo("tlsa");
            assertThat(tlsa.policy().policyString()).containsExactly("3 1 1 aabb");
            assertThat(tlsa.policy().mxHost()).containsExactly("mx1.bank.example", "mx2.bank.example");
            assertThat(tlsa.summary()).isEqualTo(new Report.Summary(2, 1));
            assertThat(tlsa.failureDetails()).singleElement().satisfies(f -> {
                assertThat(f.resultType()).isEqualTo("tlsa-invalid");
                assertThat(f.receivingMxHostname()).isEqualTo("mx1.bank.example");
                assertThat(f.receivingIp()).isEqualTo("192.0.2.10");
                assertThat(f.failedSessionCount()).isEqualTo(1);
                assertThat(f.failureReasonCode()).contains("TLSA mismatch");
            });

            Report.PolicyResult sts = reports.get("shop.example").policies().getFirst();
            assertThat(sts.policy().policyType()).isEqualTo("sts");
            assertThat(sts.policy().policyString()).containsExactly("version: STSv1", "mode: enforce",
                    "mx: mx.shop.example", "max_age: 86400");
            assertThat(sts.policy().mxHost()).containsExactly("mx.shop.example");
            assertThat(sts.summary()).isEqualTo(new Report.Summary(1, 2));
            assertThat(sts.failureDetails()).singleElement().satisfies(f -> {
                assertThat(f.resultType()).isEqualTo("starttls-not-supported");
                assertThat(f.failedSessionCount()).isEqualTo(2);
            });

            Report.PolicyResult none = reports.get("plain.example").policies().getFirst();
            assertThat(none.policy().policyType()).isEqualTo("no-policy-found");
            assertThat(none.policy().policyString()).isNull();
            assertThat(none.summary()).isEqualTo(new Report.Summary(1, 0));
        }
    }

    /** Every name of the JSON is RFC 8460 §4.4's, optional ones left out rather than null. */
    @Test void jsonHasTheRfcNamesAndNoNulls() throws Exception {
        try (JdbcAuditStore store = store("gw-1")) {
            store.write(day());
            Instant start = Aggregate.range(DAY).start();
            Report bank = Aggregate.reports(DAY, store.tlsRptGroups(start, start.plusSeconds(86400)), MAKER, texts())
                    .get("bank.example");
            JsonNode json = RecordCodec.mapper().readTree(ReportMessage.json(bank));
            assertThat(names(json)).containsExactly("organization-name", "date-range", "contact-info", "report-id",
                    "policies");
            assertThat(json.get("date-range").get("start-datetime").textValue()).isEqualTo("2026-12-02T00:00:00Z");
            assertThat(json.get("date-range").get("end-datetime").textValue()).isEqualTo("2026-12-02T23:59:59Z");
            JsonNode policy = json.get("policies").get(0);
            assertThat(names(policy)).containsExactly("policy", "summary", "failure-details");
            assertThat(names(policy.get("policy"))).containsExactly("policy-type", "policy-string", "policy-domain",
                    "mx-host");
            assertThat(policy.get("policy").get("policy-string").isArray()).isTrue();
            assertThat(names(policy.get("summary"))).containsExactly("total-successful-session-count",
                    "total-failure-session-count");
            assertThat(policy.get("summary").get("total-successful-session-count").isIntegralNumber()).isTrue();
            JsonNode detail = policy.get("failure-details").get(0);
            // no sending-mta-ip (not recorded) and no additional-information: left out, never null
            assertThat(names(detail)).containsExactly("result-type", "receiving-mx-hostname", "receiving-mx-helo",
                    "receiving-ip", "failed-session-count", "failure-reason-code");
            assertThat(json.toString()).doesNotContain("null");
            // read back (as the receiving side does): the same report
            assertThat(RecordCodec.mapper().readValue(ReportMessage.json(bank), Report.class)).isEqualTo(bank);
        }
    }

    /** RFC 8460 Appendix B's example parses into the model with every count and name. */
    @Test void readsTheRfcExample() throws Exception {
        String rfc = """
                {"organization-name":"Company-X","date-range":{"start-datetime":"2016-04-01T00:00:00Z",
                "end-datetime":"2016-04-01T23:59:59Z"},"contact-info":"sts-reporting@company-x.example",
                "report-id":"5065427c-23d3-47ca-b6e0-946ea0e8c4be","policies":[{"policy":{"policy-type":"sts",
                "policy-string":["version: STSv1","mode: testing","mx: *.mail.company-y.example","max_age: 86400"],
                "policy-domain":"company-y.example","mx-host":["*.mail.company-y.example"]},"summary":{
                "total-successful-session-count":5326,"total-failure-session-count":303},"failure-details":[{
                "result-type":"certificate-expired","sending-mta-ip":"2001:db8:abcd:0012::1",
                "receiving-mx-hostname":"mx1.mail.company-y.example","failed-session-count":100},{
                "result-type":"starttls-not-supported","sending-mta-ip":"2001:db8:abcd:0013::1",
                "receiving-mx-hostname":"mx2.mail.company-y.example","receiving-ip":"203.0.113.56",
                "failed-session-count":200,"additional-information":"https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"},{
                "result-type":"validation-failure","sending-mta-ip":"198.51.100.62","receiving-ip":"203.0.113.58",
                "receiving-mx-hostname":"mx-backup.mail.company-y.example","failed-session-count":3,
                "failure-reason-code":"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"}]}]}""";
        Report r = RecordCodec.mapper().readValue(rfc, Report.class);
        assertThat(r.policies().getFirst().summary()).isEqualTo(new Report.Summary(5326, 303));
        assertThat(r.policies().getFirst().failureDetails()).extracting(Report.FailureDetail::resultType)
                .containsExactly("certificate-expired", "starttls-not-supported", "validation-failure");
        assertThat(r.policies().getFirst().failureDetails().get(1).additionalInformation()).startsWith("https://");
        assertThat(r.dateRange().end()).isEqualTo(Instant.parse("2016-04-01T23:59:59Z"));
    }

    static Aggregate.PolicyTexts texts() {
        return new Aggregate.PolicyTexts() {
            @Override public Optional<dev.postern.mtasts.Policy> sts(String domain) {
                try {
                    return domain.equals("shop.example") ? Optional.of(dev.postern.mtasts.Policy.parse(
                            "version: STSv1\r\nmode: enforce\r\nmx: mx.shop.example\r\nmax_age: 86400\r\n"))
                            : Optional.empty();
                } catch (dev.postern.mtasts.Policy.InvalidPolicyException e) {
                    throw new AssertionError(e);
                }
            }

            @Override public List<String> tlsa(String mxHost) {
                return mxHost.endsWith("bank.example") ? List.of("3 1 1 aabb") : List.of();
            }
        };
    }

    static List<String> names(JsonNode n) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> i = n.fieldNames(); i.hasNext(); ) out.add(i.next());
        return out;
    }
}
