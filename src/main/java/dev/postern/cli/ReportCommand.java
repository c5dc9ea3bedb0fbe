package dev.postern.cli;

import static dev.postern.trace.TraceText.printable;

import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsReport.DomainShares;
import dev.postern.audit.TlsReport.Enforced;
import dev.postern.audit.TlsReport.Part;
import dev.postern.audit.TlsReport.Shares;
import dev.postern.audit.TlsReport.Usage;
import dev.postern.audit.TlsTimeline;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.trace.Json;
import dev.postern.trace.TraceText;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code postern report ...}: figures computed from the audit store (see docs/audit.md). */
@Command(name = "report", description = "Reports from the audit store.", subcommands = {ReportCommand.Tls.class,
        ReportCommand.Timeline.class, TlsRptCommand.class})
final class ReportCommand {
    @Command(name = "tls", description = "Shares of messages and sessions in clear text, encrypted without a "
            + "verified certificate, and verified; per domain, TLS version and cipher; enforced links and their "
            + "failures; the top domains still in clear text.")
    static final class Tls implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Option(names = "--since", paramLabel = "WHEN", defaultValue = "7d",
                description = "A duration back from now (30m, 24h, 7d, 2w), a time (2026-12-01T00:00Z) or a date "
                        + "(2026-12-01, midnight UTC). Default: ${DEFAULT-VALUE}")
        String since;

        @Option(names = "--domain", paramLabel = "DOMAIN",
                description = "Only this domain (outbound: recipients' domain; inbound: senders' domain).")
        String domain;

        @Option(names = "--direction", paramLabel = "in|out", description = "Only inbound or only outbound.")
        String direction;

        @Option(names = "--format", paramLabel = "text|json|csv", defaultValue = "text",
                description = "Output format. Default: ${DEFAULT-VALUE}")
        String format;

        @Override public Integer call() throws Exception {
            Instant now = Instant.now();
            Instant from = TimeOptions.since("--since", since, now);
            String d = domain == null ? null : PolicyCommand.domain(domain);
            Direction dir = direction(direction);
            String fmt = oneOf("--format", format, "text", "json", "csv");
            TlsReport report = AuditAccess.ask(source.load(), store -> store.report(from, d, dir));
            switch (fmt) {
                case "json" -> System.out.println(Json.pretty(report));
                case "csv" -> csv(report, System.out);
                default -> text(report, System.out);
            }
            return 0;
        }
    }

    @Command(name = "timeline", description = "TLS coverage over time: messages in and out per hour (or --bucket) in "
            + "clear text, encrypted only, verified and unknown, as the report counts them (the dashboard's chart).")
    static final class Timeline implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Option(names = "--since", paramLabel = "WHEN", defaultValue = "24h",
                description = "A duration back from now, a time or a date; the first bucket starts at the bucket "
                        + "boundary at or before it. Default: ${DEFAULT-VALUE}")
        String since;

        @Option(names = "--bucket", paramLabel = "DURATION", defaultValue = "1h",
                description = "Each bucket's length (1h, 1d, 15m). Default: ${DEFAULT-VALUE}")
        String bucket;

        @Option(names = "--format", paramLabel = "text|json", defaultValue = "text",
                description = "Output format. Default: ${DEFAULT-VALUE}")
        String format;

        @Override public Integer call() throws Exception {
            Instant from = TimeOptions.since("--since", since, Instant.now());
            java.time.Duration size = TimeOptions.duration("--bucket", bucket);
            if (size.compareTo(java.time.Duration.ofMinutes(1)) < 0) {
                throw new CliException("postern: --bucket: expected at least 1m, got \"" + bucket + "\"", 2);
            }
            String fmt = oneOf("--format", format, "text", "json");
            TlsTimeline timeline;
            try {
                timeline = AuditAccess.ask(source.load(), store -> store.timeline(from, size));
            } catch (IllegalArgumentException e) {
                throw new CliException("postern: --" + e.getMessage(), 2);
            }
            if (fmt.equals("json")) System.out.println(Json.pretty(timeline));
            else timeline(timeline, System.out);
            return 0;
        }
    }

    static void timeline(TlsTimeline t, PrintStream out) {
        out.println("TLS coverage from " + TraceText.time(t.since()) + " to " + TraceText.time(t.until()) + " per "
                + dev.postern.config.Durations.format(t.bucketLength()) + " (messages: clear / encrypted only / verified / "
                + "unknown)");
        out.printf("  %-20s  %-27s  %s%n", "bucket start (UTC)", "in", "out");
        for (TlsTimeline.Bucket b : t.buckets()) {
            out.printf("  %-20s  %-27s  %s%n", TraceText.time(b.start()), four(b.in()), four(b.out()));
        }
        out.printf("  %-20s  %-27s  %s%n", "total", four(t.total(Direction.IN)), four(t.total(Direction.OUT)));
    }

    private static String four(Shares s) {
        return s.clear() + " / " + s.unverified() + " / " + s.verified() + " / " + s.unknown();
    }

    static Direction direction(String s) throws CliException {
        return s == null ? null : Direction.valueOf(oneOf("--direction", s, "in", "out").toUpperCase(Locale.ROOT));
    }

    static String oneOf(String option, String value, String... allowed) throws CliException {
        for (String a : allowed) if (a.equals(value)) return a;
        throw new CliException("postern: " + option + ": expected " + String.join(" or ", allowed) + ", got \""
                + value + "\"", 2);
    }

    // ---- text

    static void text(TlsReport r, PrintStream out) {
        out.println("TLS report from " + TraceText.time(r.since()) + " to " + TraceText.time(r.until())
                + (r.domain() == null ? ", all domains" : ", domain " + printable(r.domain())));
        for (Part p : r.directions()) {
            boolean in = p.direction() == Direction.IN;
            out.println();
            out.println(in ? "Inbound: messages received over SMTP (domain: the sender's), sessions from clients"
                    : "Outbound: recipients delivered (domain: the recipient's), sessions to next hops");
            out.printf("  %-32s %8s  %-16s %-16s %-16s %s%n", "", "total", "clear", "encrypted only", "verified",
                    "unknown");
            shares(out, "messages", p.messages());
            shares(out, "sessions", p.sessions());
            if (!p.domains().isEmpty()) {
                out.println("  by domain (messages)");
                int shown = 0;
                for (DomainShares d : p.domains()) {
                    if (shown++ == 20) {
                        out.println("    ... " + (p.domains().size() - 20) + " more (--format csv lists all)");
                        break;
                    }
                    shares(out, "  " + printable(d.domain()), d.messages());
                }
            }
            usage(out, "TLS versions", p.protocols());
            usage(out, "cipher suites", p.ciphers());
            if (!in) {
                out.println("  enforced links (policy requires TLS, or tests it)");
                if (p.enforced().isEmpty()) {
                    out.println("    none");
                } else {
                    out.printf("    %-30s %9s %10s %8s %11s%n", "domain", "attempts", "delivered", "failed",
                            "would fail");
                    for (Enforced e : p.enforced()) enforced(out, printable(e.domain()), e);
                    enforced(out, "total", p.enforcedTotal());
                }
            }
            out.println("  top domains in clear text");
            if (p.topClear().isEmpty()) out.println("    none");
            for (DomainShares d : p.topClear()) {
                out.printf("    %-30s %d of %d messages%n", printable(d.domain()), d.messages().clear(), d.messages().total());
            }
        }
    }

    private static void shares(PrintStream out, String label, Shares s) {
        out.printf("  %-32s %8d  %-16s %-16s %-16s %s%n", label, s.total(), share(s, s.clear()),
                share(s, s.unverified()), share(s, s.verified()), share(s, s.unknown()));
    }

    private static String share(Shares s, long n) {
        return String.format(Locale.ROOT, "%d (%.1f%%)", n, s.percent(n));
    }

    private static void usage(PrintStream out, String title, List<Usage> list) {
        if (list.isEmpty()) return;
        out.println("  " + title + " (messages / sessions)");
        for (Usage u : list) out.printf("    %-42s %8d / %d%n", printable(u.name()), u.messages(), u.sessions());
    }

    private static void enforced(PrintStream out, String label, Enforced e) {
        out.printf("    %-30s %9d %10d %8d %11d%n", label, e.attempts(), e.delivered(), e.failed(), e.wouldFail());
    }

    // ---- CSV: one figure per line, for a spreadsheet's pivot table

    static void csv(TlsReport r, PrintStream out) {
        out.println("direction,figure,name,measure,value");
        for (Part p : r.directions()) {
            String dir = p.direction().name().toLowerCase(Locale.ROOT);
            csvShares(out, dir, "messages", "", p.messages());
            csvShares(out, dir, "sessions", "", p.sessions());
            for (DomainShares d : p.domains()) csvShares(out, dir, "domain", d.domain(), d.messages());
            for (Usage u : p.protocols()) csvUsage(out, dir, "protocol", u);
            for (Usage u : p.ciphers()) csvUsage(out, dir, "cipher", u);
            for (Enforced e : p.enforced()) {
                row(out, dir, "enforced", e.domain(), "attempts", e.attempts());
                row(out, dir, "enforced", e.domain(), "delivered", e.delivered());
                row(out, dir, "enforced", e.domain(), "failed", e.failed());
                row(out, dir, "enforced", e.domain(), "would_fail", e.wouldFail());
            }
            for (DomainShares d : p.topClear()) row(out, dir, "top_clear", d.domain(), "clear", d.messages().clear());
        }
    }

    private static void csvShares(PrintStream out, String dir, String figure, String name, Shares s) {
        row(out, dir, figure, name, "total", s.total());
        row(out, dir, figure, name, "clear", s.clear());
        row(out, dir, figure, name, "unverified", s.unverified());
        row(out, dir, figure, name, "verified", s.verified());
        row(out, dir, figure, name, "unknown", s.unknown());
    }

    private static void csvUsage(PrintStream out, String dir, String figure, Usage u) {
        row(out, dir, figure, u.name(), "messages", u.messages());
        row(out, dir, figure, u.name(), "sessions", u.sessions());
    }

    private static void row(PrintStream out, String dir, String figure, String name, String measure, long value) {
        out.println(dir + "," + figure + "," + csvField(name) + "," + measure + "," + value);
    }

    /** RFC 4180: quoted when it holds a comma, quote or line break. */
    static String csvField(String s) {
        s = printable(s); // a name from the wire: no control character reaches a terminal or a spreadsheet
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
