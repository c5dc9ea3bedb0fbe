package dev.postern.cli;

import dev.postern.audit.AuditWriter;
import dev.postern.trace.TraceText;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code postern audit ...}: the audit trail's plumbing. */
@Command(name = "audit", description = "The audit writer of the running gateway.",
        subcommands = {AuditCommand.Status.class, AuditCommand.Actions.class})
final class AuditCommand {

    @Command(name = "status", description = "Records queued, written, spilled, replayed and dropped; whether the"
            + " audit store is up.")
    static final class Status implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Override public Integer call() throws Exception {
            Path data = source.load().dataDir();
            if (!Gateway.runs(data)) {
                throw new CliException("postern: no gateway runs with data directory " + data
                        + " (audit status asks the running gateway)", 1);
            }
            String json = ControlClient.ask(data.resolve("control.sock"), "audit");
            AuditWriter.Stats s;
            try {
                s = AuditWriter.Stats.fromJson(json);
            } catch (IllegalArgumentException e) {
                throw new CliException("postern: the gateway's answer is not audit stats: " + e.getMessage(), 1);
            }
            System.out.print(render(s));
            return 0;
        }
    }

    @Command(name = "actions", description = "Administrators' actions from the audit store: policy overrides set,"
            + " cleared and ended, queue holds, releases, deletes and flushes, certificate reloads; who, when, why.")
    static final class Actions implements Callable<Integer> {
        @Mixin ConfigSource source;

        @picocli.CommandLine.Option(names = "--since", paramLabel = "WHEN", description = "a duration back from now"
                + " (30d, 12h) or an ISO time; default 30d") String since;

        @picocli.CommandLine.Option(names = "--json", description = "the records as JSON") boolean json;

        @Override public Integer call() throws Exception {
            java.time.Instant from = TimeOptions.since("--since", since == null ? "30d" : since,
                    java.time.Instant.now());
            java.util.List<dev.postern.audit.JdbcAuditStore.GatewayAction> actions =
                    AuditAccess.ask(source.load(), store -> store.adminActions(from));
            if (json) {
                System.out.println(dev.postern.trace.Json.pretty(actions));
                return 0;
            }
            if (actions.isEmpty()) System.out.println("no administrative action on record since "
                    + dev.postern.trace.TraceText.time(from));
            for (var a : actions) System.out.println(actionLine(a));
            return 0;
        }
    }

    /** "2026-12-02 13:00:00Z gw1 alice POLICY_OVERRIDE_SET bank.example: level may until ..., reason". */
    static String actionLine(dev.postern.audit.JdbcAuditStore.GatewayAction g) {
        dev.postern.audit.AdminRecord a = g.action();
        return dev.postern.trace.TraceText.time(a.at()) + " " + g.gateway() + " " + a.actor() + " "
                + a.action().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                + (a.target() == null ? "" : " " + a.target()) + (a.detail() == null ? "" : ": " + a.detail());
    }

    /** The stats for a person: one fact a line, the store's state first. */
    static String render(AuditWriter.Stats s) {
        var b = new StringBuilder();
        b.append(String.format("store:      %s since %s%n", s.storeUp() ? "up" : "DOWN",
                TraceText.time(s.since())));
        if (s.lastError() != null) b.append(String.format("last error: %s%n", s.lastError()));
        b.append(String.format("queued:     %,d records in memory%n", s.queued()));
        b.append(String.format("written:    %,d records from memory%n", s.written()));
        b.append(String.format("spilled:    %,d records to the spill file (now %,d bytes)%n", s.spilled(),
                s.spillBytes()));
        b.append(String.format("replayed:   %,d records from the spill file%n", s.replayed()));
        b.append(String.format("dropped:    %,d records%s%n", s.dropped(), s.dropped() > 0
                ? " (queue or spill full, or unreadable in the spill: see the log)" : ""));
        if (s.rejected() > 0) {
            b.append(String.format("rejected:   %,d records the store refused, kept in data/audit/%s (see the log)%n",
                    s.rejected(), "rejected.jsonl"));
        }
        return b.toString();
    }
}
