package dev.postern.cli;

import static dev.postern.trace.TraceText.printable;

import dev.postern.alerts.AlertState;
import dev.postern.alerts.AlertsApi;
import dev.postern.audit.AlertRecord;
import dev.postern.config.Config;
import dev.postern.trace.Json;
import dev.postern.trace.TraceText;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code postern alerts}: the alerts firing now (the engine's state file, {@code data/alerts/state.json}) and the state
 * changes of the last days (the audit store). Offline: the gateway need not run.
 */
@Command(name = "alerts", description = "Alerts firing now, and the recent state changes (fired, recovered).")
final class AlertsCommand implements Callable<Integer> {
    @Mixin ConfigSource source;

    @Option(names = "--since", paramLabel = "WHEN", defaultValue = "7d",
            description = "State changes since then (a duration back like 7d, a time or a date). Default: 7d.")
    String since;

    @Option(names = "--json", description = "JSON ({\"active\":[...],\"recent\":[...]}, as GET /api/alerts).")
    boolean json;

    @Override public Integer call() throws Exception {
        Instant now = Instant.now();
        Instant from = TimeOptions.since("--since", since, now);
        Config config = source.load();
        List<AlertRecord> active;
        try {
            active = AlertState.active(config.dataDir());
        } catch (IOException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
        List<AlertRecord> recent = AuditAccess.ask(config, store -> store.alerts(from));
        if (json) {
            System.out.println(Json.pretty(new AlertsApi.Answer(active, recent)));
        } else {
            text(active, recent, from, System.out);
        }
        return 0;
    }

    static void text(List<AlertRecord> active, List<AlertRecord> recent, Instant since, PrintStream out) {
        if (active.isEmpty()) {
            out.println("No alert firing.");
        } else {
            out.println("Firing (" + active.size() + "):");
            for (AlertRecord a : active) {
                out.println("  since " + TraceText.time(a.at()) + "  " + a.kind() + "  " + printable(a.key()));
                out.println("      " + printable(a.summary()));
            }
        }
        out.println();
        if (recent.isEmpty()) {
            out.println("No state change since " + TraceText.time(since) + ".");
            return;
        }
        out.println("State changes since " + TraceText.time(since) + ", newest first:");
        for (AlertRecord a : recent) {
            out.println("  " + TraceText.time(a.at()) + "  " + String.format("%-9s", a.state()) + "  "
                    + printable(a.key()) + "  " + printable(a.summary()));
        }
    }
}
