package dev.postern.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.RecordCodec;
import dev.postern.config.Config;
import dev.postern.mtasts.PolicyCache;
import dev.postern.tlsrpt.Aggregate;
import dev.postern.tlsrpt.TlsRptSender;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code postern tlsrpt send [--day YYYY-MM-DD] [--dry-run]}: makes the SMTP TLS reports (RFC 8460) of a day now,
 * the same way as the gateway's daily run and under the same markers (a report made before is not made again). The
 * sending is the running gateway's (its queue carries the mailed reports): the command asks it through the control
 * socket. {@code --dry-run} sends nothing and writes no marker; without a running gateway it reads the audit store,
 * DNS and the MTA-STS cache itself.
 */
@Command(name = "tlsrpt", description = "SMTP TLS reports (RFC 8460) this gateway sends.",
        subcommands = {TlsRptSendCommand.Send.class})
final class TlsRptSendCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "send", description = "Make (and send) the reports of a day now; a report already made is not "
            + "made again.")
    static final class Send implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Option(names = "--day", paramLabel = "YYYY-MM-DD", description = "The UTC day to report (default: yesterday).")
        String day;

        @Option(names = "--dry-run", description = "Print the reports and where they would go; send nothing.")
        boolean dryRun;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            LocalDate d = day(day);
            Path data = config.dataDir();
            List<TlsRptSender.Outcome> outcomes;
            if (Gateway.runs(data)) {
                String json = ControlClient.ask(data.resolve("control.sock"), "tlsrpt " + d + " "
                        + (dryRun ? "dry-run" : "send"));
                outcomes = RecordCodec.mapper().readValue(json, new TypeReference<List<TlsRptSender.Outcome>>() { });
            } else if (dryRun) {
                outcomes = offline(config, d);
            } else {
                throw new CliException("postern: no gateway is running with data directory " + data + "; reports go "
                        + "out through its queue: start it, or use --dry-run", 1);
            }
            print(outcomes, dryRun);
            return 0;
        }

        private static LocalDate day(String text) throws CliException {
            if (text == null) return TlsRptSender.yesterday(Instant.now());
            try {
                LocalDate d = LocalDate.parse(text);
                if (d.isAfter(TlsRptSender.yesterday(Instant.now()))) {
                    throw new CliException("postern: --day " + text + ": expected a day that has ended (UTC), "
                            + "yesterday or earlier", 2);
                }
                return d;
            } catch (DateTimeParseException e) {
                throw new CliException("postern: --day " + text + ": expected a day like 2026-12-02", 2);
            }
        }

        /** The dry run without a gateway: the store, DNS and the MTA-STS cache read here; nothing sent. */
        private static List<TlsRptSender.Outcome> offline(Config config, LocalDate d) throws CliException {
            Aggregate.PolicyTexts texts = Aggregate.PolicyTexts.of(PolicyCache.open(config.dataDir()
                    .resolve("mta-sts"), config.mtaSts().maxDomains()).offline(Instant.now()), Gateway.resolver(
                    config.dns()));
            TlsRptSender sender = new TlsRptSender(config.dataDir(), TlsRptSender.Settings.of(config.watch().tlsRpt(),
                    config.hostname()), groups(config),
                    Gateway.resolver(config.dns()), texts, (a, b, c, m, o) -> {
                        throw new IOException("dry run");
                    }, r -> { }, TlsRptSender.httpClient(), Clock.systemUTC());
            try {
                return sender.run(d, true);
            } catch (AuditStoreException | IOException e) {
                throw new CliException("postern: " + e.getMessage(), 1);
            }
        }

        private static void print(List<TlsRptSender.Outcome> outcomes, boolean dryRun) throws JsonProcessingException {
            if (outcomes.isEmpty()) System.out.println("no domain was delivered to that day: no report");
            for (TlsRptSender.Outcome o : outcomes) {
                System.out.println(o.domain() + ": " + (o.reportId() == null ? "no report" : "report " + o.reportId())
                        + (o.note() == null ? "" : " (" + o.note() + ")"));
                for (String t : o.targets()) System.out.println("  " + t);
                if (dryRun && o.json() != null) {
                    Object tree = RecordCodec.mapper().readTree(o.json());
                    System.out.println(RecordCodec.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(tree));
                }
            }
        }
    }

    /** The day's groups from the configured store, opened for the question and closed again. */
    static TlsRptSender.Source groups(Config config) {
        return (start, end) -> {
            try (JdbcAuditStore store = AuditDatabase.open(config)) {
                return store.tlsRptGroups(start, end);
            }
        };
    }

    /** The gateway's answer to "tlsrpt DAY MODE" on the control socket: the outcomes as one line of JSON. */
    static String answer(TlsRptSender sender, boolean send, String day, boolean dryRun) throws QueueAdmin.Refused {
        if (!dryRun && !send) throw new QueueAdmin.Refused("[tls_rpt] send is false: no report is sent "
                + "(--dry-run shows them)");
        try {
            return RecordCodec.mapper().writeValueAsString(sender.run(LocalDate.parse(day), dryRun));
        } catch (AuditStoreException | IOException | DateTimeParseException e) {
            throw new QueueAdmin.Refused("tlsrpt: " + e.getMessage());
        }
    }
}
