package dev.postern.tlsrpt;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsRptRecord;
import java.io.IOException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A stored report as the summary shows it ({@code postern report tlsrpt}): the record without its JSON, and the
 * failure result types it counts, most failed sessions first.
 */
public record ReportSummary(@JsonUnwrapped TlsRptRecord report, List<Failures> topFailures) {

    /** Failed sessions of one result type ("starttls-not-supported"), over the report's policies. */
    public record Failures(String resultType, long sessions) { }

    /** The summary of {@code r}, its top {@code n} result types read from its stored JSON (none when it has none). */
    public static ReportSummary of(TlsRptRecord r, int n) {
        TlsRptRecord bare = new TlsRptRecord(r.at(), r.direction(), r.reportId(), r.organization(), r.policyDomain(),
                r.start(), r.end(), r.successful(), r.failed(), r.peer(), r.outcome(), null);
        return new ReportSummary(bare, failures(r.json(), n));
    }

    static List<Failures> failures(String json, int n) {
        if (json == null) return List.of();
        Report report;
        try {
            report = RecordCodec.mapper().readValue(json, Report.class);
        } catch (IOException | RuntimeException e) {
            return List.of(); // written by an older version, or cut: the summary goes without
        }
        Map<String, Long> by = new TreeMap<>();
        for (Report.PolicyResult p : report.policies()) {
            if (p.failureDetails() == null) continue;
            for (Report.FailureDetail f : p.failureDetails()) {
                if (f.resultType() != null) by.merge(f.resultType(), f.failedSessionCount(), Long::sum);
            }
        }
        return by.entrySet().stream().map(e -> new Failures(e.getKey(), e.getValue()))
                .sorted(Comparator.comparingLong(Failures::sessions).reversed()).limit(n).toList();
    }
}
