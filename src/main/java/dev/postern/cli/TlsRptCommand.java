package dev.postern.cli;

import static dev.postern.trace.TraceText.printable;

import dev.postern.audit.TlsRptRecord;
import dev.postern.names.Domains;
import dev.postern.tlsrpt.ReportSummary;
import dev.postern.trace.Json;
import dev.postern.trace.TraceText;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code postern report tlsrpt}: SMTP TLS reports (RFC 8460) received about our domains (IN) and sent about others'
 * (OUT), from the audit store; the same query as {@code GET /api/tlsrpt}.
 */
@Command(name = "tlsrpt", description = "SMTP TLS reports (RFC 8460) received about our domains and sent about "
        + "others': per report its organization, policy domain, window, successful and failed sessions and the top "
        + "failure result types.", subcommands = TlsRptCommand.Show.class)
final class TlsRptCommand implements Callable<Integer> {
    static final int TOP = 3;
    static final int LIMIT = 1_000;

    @Mixin ConfigSource source;

    @Option(names = "--since", paramLabel = "WHEN", defaultValue = "30d",
            description = "Reports whose window starts after this: a duration back from now (7d, 2w), a time "
                    + "(2026-12-01T00:00Z) or a date (2026-12-01). Default: ${DEFAULT-VALUE}")
    String since;

    @Option(names = "--domain", paramLabel = "DOMAIN", description = "Only reports about this policy domain.")
    String domain;

    @Option(names = "--direction", paramLabel = "in|out", description = "Only received (in) or sent (out) reports.")
    String direction;

    @Option(names = "--json", description = "JSON: {\"reports\":[...]}, each with its topFailures.")
    boolean json;

    @Override public Integer call() throws Exception {
        Instant from = TimeOptions.since("--since", since, Instant.now());
        String d = domain == null ? null : PolicyCommand.domain(domain);
        TlsRptRecord.Direction dir = direction(direction);
        List<TlsRptRecord> records = AuditAccess.ask(source.load(),
                store -> store.tlsRptReports(dir, d, from, LIMIT, true));
        List<ReportSummary> summaries = records.stream().map(r -> ReportSummary.of(r, TOP)).toList();
        if (json) {
            System.out.println(Json.pretty(Map.of("reports", summaries)));
        } else {
            text(summaries, from, d, System.out);
        }
        return 0;
    }

    static TlsRptRecord.Direction direction(String s) throws CliException {
        return s == null ? null
                : TlsRptRecord.Direction.valueOf(ReportCommand.oneOf("--direction", s, "in", "out")
                        .toUpperCase(Locale.ROOT));
    }

    static void text(List<ReportSummary> list, Instant since, String domain, PrintStream out) {
        out.println("TLS reports (RFC 8460) with a window from " + TraceText.time(since) + " on"
                + (domain == null ? "" : ", domain " + printable(Domains.toUnicode(domain))) + ": " + list.size()
                + (list.size() == LIMIT ? " (the newest " + LIMIT + "; --since narrows)" : ""));
        if (list.isEmpty()) return;
        out.printf("%-4s %-28s %-24s %-33s %10s %8s  %s%n", "dir", "policy domain", "organization", "window (UTC)",
                "successful", "failed", "top failures");
        for (ReportSummary s : list) {
            TlsRptRecord r = s.report();
            String failures = s.topFailures().isEmpty() ? "-" : s.topFailures().stream()
                    .map(f -> printable(f.resultType()) + " " + f.sessions()).collect(Collectors.joining(", "));
            out.printf("%-4s %-28s %-24s %-33s %10d %8d  %s%n", r.direction(),
                    printable(Domains.toUnicode(r.policyDomain())), printable(clip(r.organization(), 24)),
                    window(r), r.successful(), r.failed(), failures);
            out.println("     report-id " + printable(r.reportId()) + (r.peer() == null ? "" : ", from "
                    + printable(r.peer())));
        }
    }

    private static String window(TlsRptRecord r) {
        return minute(r.start()) + " - " + minute(r.end());
    }

    private static String minute(Instant t) {
        return t == null ? "?" : t.toString().substring(0, Math.min(16, t.toString().length())).replace('T', ' ');
    }

    private static String clip(String s, int n) {
        if (s == null) return "-";
        return s.length() <= n ? s : s.substring(0, n - 3) + "...";
    }

    @Command(name = "show", description = "One report with its JSON (all of them when several have this report-id).")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Parameters(paramLabel = "REPORT-ID", description = "The report's report-id.")
        String id;

        @Option(names = "--organization", paramLabel = "ORG", description = "Only the report of this organization.")
        String organization;

        @Option(names = "--domain", paramLabel = "DOMAIN", description = "Only the report about this domain.")
        String domain;

        @Option(names = "--json", description = "The stored record(s) as JSON.")
        boolean json;

        @Override public Integer call() throws Exception {
            String d = domain == null ? null : PolicyCommand.domain(domain);
            List<TlsRptRecord> found = AuditAccess.ask(source.load(),
                    store -> store.tlsRptReport(id, organization, d, null));
            if (found.isEmpty()) {
                throw new CliException("postern: no TLS report with report-id \"" + printable(id) + "\""
                        + (organization == null ? "" : " from " + printable(organization)), 1);
            }
            if (json) {
                System.out.println(Json.pretty(Map.of("reports", found)));
                return 0;
            }
            for (TlsRptRecord r : found) {
                System.out.println(r.direction() + " report " + printable(r.reportId()) + " from "
                        + printable(r.organization()) + " about " + printable(Domains.toUnicode(r.policyDomain())));
                System.out.println("  window      " + TraceText.time(r.start()) + " to " + TraceText.time(r.end()));
                System.out.println("  sessions    " + r.successful() + " successful, " + r.failed() + " failed");
                System.out.println("  recorded    " + TraceText.time(r.at()) + (r.peer() == null ? ""
                        : ", " + printable(r.peer())) + (r.outcome() == null ? "" : ", " + printable(r.outcome())));
                if (r.json() != null) {
                    // stored JSON is escaped already; printable() also stops what JSON lets through (bidi controls)
                    Json.pretty(Json.mapper().readTree(r.json())).lines().map(l -> printable(l))
                            .forEach(System.out::println);
                }
            }
            return 0;
        }
    }
}
