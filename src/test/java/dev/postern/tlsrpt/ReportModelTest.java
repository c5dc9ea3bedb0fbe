package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one model of both sides, pinned byte for byte: what Postern sends (a list given is written, even empty; absent
 * members left out) and what it stores of a received report (the reader's normalized form: empty lists left out).
 */
class ReportModelTest {
    @TempDir Path dir;

    static final Instant NOW = Instant.parse("2026-12-03T08:00:00Z");

    @Test void sentJsonIsExactlyAsBefore() throws Exception {
        Map<String, Report> reports;
        try (JdbcAuditStore store = JdbcAuditStore.open("jdbc:sqlite:" + dir.resolve("a.db"), null, null, "gw-1")) {
            store.write(TlsRptAggregateTest.day());
            Instant start = Aggregate.range(TlsRptAggregateTest.DAY).start();
            reports = Aggregate.reports(TlsRptAggregateTest.DAY, store.tlsRptGroups(start, start.plusSeconds(86400)),
                    TlsRptAggregateTest.MAKER, TlsRptAggregateTest.texts());
        }
        assertThat(sent(reports.get("bank.example"))).isEqualTo(BANK);
        // no failures: "failure-details":[] written; no policy string or MX for no-policy-found: left out
        assertThat(sent(reports.get("plain.example"))).isEqualTo(PLAIN);
    }

    @Test void storedJsonOfAReceivedReportLeavesEmptyMembersOut() throws Exception {
        ReportReader reader = new ReportReader(5L << 20);
        Report daily = reader.read(ReportSamples.daily("G", "a.example", Instant.parse("2026-12-01T00:00:00Z"), 10, 2)
                .getBytes(StandardCharsets.UTF_8), NOW);
        assertThat(ReportReceiver.storedJson(daily)).isEqualTo(DAILY);
        String empty = "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":\"2026-12-01T00:00:00+01:00\","
                + "\"end-datetime\":\"2026-12-01T23:59:59Z\"},\"contact-info\":null,\"report-id\":\"r1\",\"policies\":["
                + "{\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-string\":[],\"policy-domain\":\"a.example\","
                + "\"mx-host\":[]},\"summary\":{\"total-successful-session-count\":3,\"total-failure-session-count\":0},"
                + "\"failure-details\":[]}]}";
        Report r = reader.read(empty.getBytes(StandardCharsets.UTF_8), NOW);
        assertThat(r.policies().getFirst().failureDetails()).isNull();
        assertThat(ReportReceiver.storedJson(r)).isEqualTo(EMPTY);
        // the stored form read back through the shared mapper (the summary's way): the same report
        assertThat(RecordCodec.mapper().readValue(EMPTY, Report.class)).isEqualTo(r);
        assertThat(ReportSummary.failures(EMPTY, 3)).isEmpty();
    }

    @Test void theMapperReadsMxHostAsOneString() throws Exception {
        Report r = RecordCodec.mapper().readValue(new String(ReportMessage.json(new Report("O",
                Aggregate.range(TlsRptAggregateTest.DAY), null, "r", java.util.List.of())), StandardCharsets.UTF_8)
                .replace("\"policies\":[]", "\"policies\":[{\"policy\":{\"policy-type\":\"sts\","
                        + "\"policy-domain\":\"a.example\",\"mx-host\":\"mx.a.example\"}}]"), Report.class);
        assertThat(r.policies().getFirst().policy().mxHost()).containsExactly("mx.a.example");
    }

    static String sent(Report r) {
        return new String(ReportMessage.json(r), StandardCharsets.UTF_8);
    }

    static final String BANK = "{\"organization-name\":\"Postern Example\",\"date-range\":{\"start-datetime\":\"2026-12-02T00:00:00Z\",\"end-da"
                + "tetime\":\"2026-12-02T23:59:59Z\"},\"contact-info\":\"postmaster@gw.a.example\",\"report-id\":\"tlsrpt.2026120"
                + "2.bank.example@gw.a.example\",\"policies\":[{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":[\"3 1 1 aab"
                + "b\"],\"policy-domain\":\"bank.example\",\"mx-host\":[\"mx1.bank.example\",\"mx2.bank.example\"]},\"summary\":{\"to"
                + "tal-successful-session-count\":2,\"total-failure-session-count\":1},\"failure-details\":[{\"result-type\":\""
                + "tlsa-invalid\",\"receiving-mx-hostname\":\"mx1.bank.example\",\"receiving-mx-helo\":\"mx1.bank.example\",\"rec"
                + "eiving-ip\":\"192.0.2.10\",\"failed-session-count\":1,\"failure-reason-code\":\"mx1.bank.example[192.0.2.10]"
                + ":25: TLSA mismatch: no TLSA record matched\"}]}]}";
    static final String PLAIN = "{\"organization-name\":\"Postern Example\",\"date-range\":{\"start-datetime\":\"2026-12-02T00:00:00Z\",\"end-da"
                + "tetime\":\"2026-12-02T23:59:59Z\"},\"contact-info\":\"postmaster@gw.a.example\",\"report-id\":\"tlsrpt.2026120"
                + "2.plain.example@gw.a.example\",\"policies\":[{\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-domain\""
                + ":\"plain.example\"},\"summary\":{\"total-successful-session-count\":1,\"total-failure-session-count\":0},\"fa"
                + "ilure-details\":[]}]}";
    static final String DAILY = "{\"organization-name\":\"G\",\"date-range\":{\"start-datetime\":\"2026-12-01T00:00:00Z\",\"end-datetime\":\"2026-"
                + "12-01T23:59:59Z\"},\"contact-info\":\"smtp-tls-reporting@reporter.example\",\"report-id\":\"2026-12-01T00:00"
                + ":00Z_a.example\",\"policies\":[{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":[\"3 1 1 0123456789abcdef"
                + "\"],\"policy-domain\":\"a.example\",\"mx-host\":[\"mx.a.example\"]},\"summary\":{\"total-successful-session-coun"
                + "t\":10,\"total-failure-session-count\":0}},{\"policy\":{\"policy-type\":\"sts\",\"policy-string\":[\"version: ST"
                + "Sv1\",\"mode: enforce\",\"mx: mx.a.example\",\"max_age: 604800\"],\"policy-domain\":\"a.example\",\"mx-host\":[\"m"
                + "x.a.example\"]},\"summary\":{\"total-successful-session-count\":0,\"total-failure-session-count\":2},\"failu"
                + "re-details\":[{\"result-type\":\"certificate-host-mismatch\",\"sending-mta-ip\":\"192.0.2.10\",\"receiving-mx-"
                + "hostname\":\"mx.a.example\",\"receiving-ip\":\"198.51.100.25\",\"failed-session-count\":2}]}]}";
    static final String EMPTY = "{\"organization-name\":\"O\",\"date-range\":{\"start-datetime\":\"2026-11-30T23:00:00Z\",\"end-datetime\":\"2026-"
                + "12-01T23:59:59Z\"},\"report-id\":\"r1\",\"policies\":[{\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-do"
                + "main\":\"a.example\"},\"summary\":{\"total-successful-session-count\":3,\"total-failure-session-count\":0}}]}";
}
