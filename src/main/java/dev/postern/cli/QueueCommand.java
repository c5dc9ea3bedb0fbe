package dev.postern.cli;

import dev.postern.audit.AdminLog;
import dev.postern.audit.AuditRecord;
import dev.postern.files.DurableFiles;
import dev.postern.config.Config;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueIds;
import dev.postern.queue.Spool;
import dev.postern.trace.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code postern queue ...}: look at and act on the queue of a running or stopped gateway. Reading works on the
 * spool files directly (envelopes change by atomic rename, so a reader never sees half a file). Changes go through
 * the running gateway's control socket, or, when no gateway runs, straight to the spool while holding the data
 * directory's lock so that a gateway cannot start in the middle.
 */
@Command(name = "queue", description = "List and manage queued messages.",
        subcommands = {QueueCommand.ListMessages.class, QueueCommand.Show.class, QueueCommand.Summary.class,
                QueueCommand.Flush.class, QueueCommand.Hold.class, QueueCommand.Release.class,
                QueueCommand.Delete.class})
final class QueueCommand {

    /** The selectors every command that picks messages takes; all that are given must hold. */
    static final class Selection {
        @Option(names = "--domain", paramLabel = "DOMAIN", description = "A recipient still to be delivered is in "
                + "this domain (any spelling: Unicode, xn--, any case); \".example.com\" its subdomains only.")
        String domain;
        @Option(names = "--recipient", paramLabel = "ADDRESS", description = "A recipient still to be delivered is "
                + "this address (local part in any case).")
        String recipient;
        @Option(names = "--sender", paramLabel = "ADDRESS", description = "The envelope sender is this address; "
                + "\"<>\" for the null sender (bounces).")
        String sender;
        @Option(names = "--state", paramLabel = "STATE", description = "active, deferred or hold.")
        String state;
        @Option(names = "--all", description = "Every message (needed to act on all of them).")
        boolean all;

        QueueSelector parse(List<String> ids) throws CliException {
            return QueueSelector.parse(ids, domain, recipient, sender, state, all);
        }
    }

    /** {@code --by NAME}: who is acting, for the admin log and the audit. */
    static final class Operator {
        @Option(names = "--by", paramLabel = "NAME", description = "The operator to record in data/admin.log and "
                + "the audit. Default: the user behind sudo (SUDO_USER), else the login user.")
        String by;

        String name() throws CliException {
            return by == null ? PolicyCommand.who() : check(by);
        }

        /** An operator's name as given ({@code --by}, the admin API's "by"): 1 to 100 characters, no control ones. */
        static String check(String by) throws CliException {
            String b = by.strip();
            if (b.isEmpty() || b.length() > 100 || b.codePoints().anyMatch(Character::isISOControl)) {
                throw new CliException("postern: --by: expected a name of 1 to 100 characters without control "
                        + "characters, got \"" + by.replaceAll("\\p{Cntrl}", "?") + "\"", 2);
            }
            return b;
        }
    }

    @Command(name = "list", description = "One entry per queued message, oldest first (like mailq).")
    static final class ListMessages implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Mixin Selection selection;
        @Option(names = "--json", description = "One JSON document: {\"dataDir\", \"count\", \"messages\": [...]}.")
        boolean json;

        @Override public Integer call() throws Exception {
            QueueSelector selector = selection.parse(List.of());
            Config config = source.load();
            try (Spool spool = openSpool(config)) {
                List<Spool.Entry> entries = spool.list().stream().filter(selector::matches).toList();
                if (json) {
                    List<MessageJson> messages = new ArrayList<>();
                    for (Spool.Entry e : entries) messages.add(MessageJson.of(e, null));
                    System.out.println(Json.pretty(new ListJson(config.dataDir().toString(), messages.size(),
                            messages)));
                    return 0;
                }
                if (entries.isEmpty()) {
                    System.out.println(selector.selects() ? "No message matches " + selector.describe() + "."
                            : "Queue is empty (data dir " + config.dataDir() + ").");
                    return 0;
                }
                System.out.printf("%-26s  %-8s  %10s  %-20s  %s%n", "ID", "STATE", "SIZE", "ARRIVED", "SENDER");
                for (Spool.Entry e : entries) {
                    Envelope env = e.envelope();
                    System.out.printf("%-26s  %-8s  %10d  %-20s  <%s>%n", env.id(), e.state().name().toLowerCase(),
                            env.size(), env.received().toString().substring(0, 19) + "Z", env.sender());
                    for (Envelope.Recipient r : env.pending()) {
                        System.out.printf("%30s -> <%s> attempts=%d%s%n", "", r.address(), r.attempts(),
                                r.lastResult().isEmpty() ? "" : " last: " + r.lastResult());
                    }
                }
                System.out.println("-- " + entries.size() + " message(s) (data dir " + config.dataDir() + ")");
                return 0;
            }
        }
    }

    /** {@code queue list --json}. */
    record ListJson(String dataDir, int count, List<MessageJson> messages) {}

    /**
     * One message as {@code queue list --json} and {@code queue show --json} print it. Field names are stable;
     * times are ISO-8601 UTC; {@code state} is active, deferred or hold; {@code sender} is "" for the null sender;
     * {@code headers} (show only) are the header lines as queued, folded lines as they are.
     */
    record MessageJson(String id, String state, String sender, Instant arrived, String client, long size,
                       String bodyType, boolean smtputf8, boolean requireTls, Instant nextAttempt,
                       boolean delayWarned, List<RecipientJson> recipients, List<String> headers) {
        static MessageJson of(Spool.Entry e, List<String> headers) {
            Envelope env = e.envelope();
            List<RecipientJson> rcpts = env.recipients().stream().map(r -> new RecipientJson(r.address(),
                    r.status().name().toLowerCase(Locale.ROOT), r.attempts(), r.lastResult(), r.lastAttempt()))
                    .toList();
            return new MessageJson(env.id(), e.state().name().toLowerCase(Locale.ROOT), env.sender(), env.received(),
                    env.client(), env.size(), env.bodyType(), env.smtputf8(), env.requireTls(), env.nextAttempt(),
                    env.delayWarned(), rcpts, headers);
        }
    }

    /** {@code status}: pending, delivered or failed; {@code lastResult} "" before any attempt. */
    record RecipientJson(String address, String status, int attempts, String lastResult, Instant lastAttempt) {}

    @Command(name = "show", description = "Envelope, delivery state and headers of one message.")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "ID") String id;
        @Option(names = "--json", description = "One JSON document: the message's envelope, recipients and headers.")
        boolean json;

        @Override public Integer call() throws Exception {
            checkId(id);
            try (Spool spool = openSpool(source.load())) {
                Spool.Entry e = spool.find(id).orElseThrow(
                        () -> new CliException("postern: no message " + id + " in the queue", 1));
                List<String> headers = new ArrayList<>();
                try (InputStream in = spool.openContent(id);
                     BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null && !line.isEmpty(); line = r.readLine()) {
                        headers.add(line);
                    }
                }
                if (json) {
                    System.out.println(Json.pretty(MessageJson.of(e, headers)));
                    return 0;
                }
                Envelope env = e.envelope();
                System.out.println("id:        " + env.id());
                System.out.println("state:     " + e.state().name().toLowerCase());
                System.out.println("sender:    <" + env.sender() + ">");
                System.out.println("arrived:   " + env.received());
                System.out.println("client:    " + env.client());
                System.out.println("size:      " + env.size() + " bytes, body " + env.bodyType()
                        + (env.smtputf8() ? ", SMTPUTF8" : ""));
                System.out.println("next try:  " + env.nextAttempt());
                for (Envelope.Recipient r : env.recipients()) {
                    System.out.println("recipient: <" + r.address() + "> " + r.status().name().toLowerCase()
                            + ", attempts " + r.attempts() + (r.lastResult().isEmpty() ? "" : ", last: "
                            + r.lastResult()));
                }
                System.out.println();
                headers.forEach(System.out::println);
                return 0;
            }
        }
    }

    @Command(name = "summary", description = "Queued messages by domain and age in minutes (like qshape).")
    static final class Summary implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Option(names = "--by", paramLabel = "recipient|sender", defaultValue = "recipient",
                description = "Rows by recipient domain (default) or by sender domain.") String by;
        @Option(names = "--state", paramLabel = "STATE", description = "Only active, deferred or hold messages.")
        String state;
        @Option(names = "--json", description = "One JSON document: {\"by\", \"buckets\", \"total\", \"rows\"}.")
        boolean json;

        @Override public Integer call() throws Exception {
            boolean bySender = switch (by.toLowerCase(Locale.ROOT)) {
                case "recipient" -> false;
                case "sender" -> true;
                default -> throw new CliException("postern: --by: expected recipient or sender, got \"" + by + "\"", 2);
            };
            QueueSelector selector = QueueSelector.parse(List.of(), null, null, null, state, false);
            try (Spool spool = openSpool(source.load())) {
                List<Spool.Entry> entries = spool.list().stream().filter(selector::matches).toList();
                QueueShape shape = QueueShape.of(entries, bySender, Instant.now());
                System.out.print(json ? Json.pretty(shape) + "\n" : shape.text());
                return 0;
            }
        }
    }

    /**
     * flush, hold, release and delete: queue ids, or selectors, or both (all must hold). Through the running
     * gateway's control socket, else on the spool under the data directory's lock.
     */
    abstract static class Change implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Mixin Selection selection;
        @Mixin Operator operator;
        @Parameters(paramLabel = "ID", arity = "0..*", description = "Queue ids.") List<String> ids;

        abstract QueueAdmin.Operation operation();

        @Override public Integer call() throws Exception {
            QueueAdmin.Operation op = operation();
            QueueSelector selector = selection.parse(ids);
            String by = operator.name();
            boolean flushAll = false;
            if (selector.none()) {
                if (op != QueueAdmin.Operation.FLUSH) {
                    throw new CliException("postern: queue " + op.word() + ": name queue ids or a selector (--domain, "
                            + "--recipient, --sender, --state, or --all for every message)", 2);
                }
                selector = QueueSelector.ALL; // "postern queue flush": everything, as postqueue -f
                flushAll = true;
            }
            QueueAdmin.Report report = change(source.load(), op, selector, by);
            return print(op, selector, flushAll, report);
        }
    }

    @Command(name = "flush", description = "Try messages now: ids, selected ones, or (with nothing named) all.")
    static final class Flush extends Change {
        @Override QueueAdmin.Operation operation() { return QueueAdmin.Operation.FLUSH; }
    }

    @Command(name = "hold", description = "Keep messages in the queue without trying them.")
    static final class Hold extends Change {
        @Override QueueAdmin.Operation operation() { return QueueAdmin.Operation.HOLD; }
    }

    @Command(name = "release", description = "Release held messages for delivery.")
    static final class Release extends Change {
        @Override QueueAdmin.Operation operation() { return QueueAdmin.Operation.RELEASE; }
    }

    @Command(name = "delete", description = "Remove messages from the queue without a bounce.")
    static final class Delete extends Change {
        @Override QueueAdmin.Operation operation() { return QueueAdmin.Operation.DELETE; }
    }

    /**
     * What a change did. Named ids alone: a line per id (what was done on standard output, why not on standard error).
     * Selectors: the count on standard output, a line on standard error per message left as it was. Exit 0 when
     * every matched message was acted on (none matched included), 1 when one was not.
     */
    private static int print(QueueAdmin.Operation op, QueueSelector selector, boolean flushAll,
                             QueueAdmin.Report report) {
        if (flushAll) {
            report.outcomes().forEach(o -> System.out.println(o.text()));
            return 0;
        }
        for (QueueAdmin.Outcome o : report.outcomes()) {
            if (!o.done()) System.err.println("postern: " + o.text());
            else if (!selector.selects()) System.out.println(o.text());
        }
        long failed = report.outcomes().size() - report.done();
        if (selector.selects() || report.matched() > 1) {
            String s = report.matched() == 1 ? "" : "s";
            System.out.println(report.matched() + " message" + s + " matched " + selector.describe() + ": "
                    + report.done() + " " + op.done + (failed == 0 ? "" : ", " + failed + " left as they were"));
        }
        return failed == 0 ? 0 : 1;
    }

    private static void checkId(String id) throws CliException {
        if (!QueueIds.isValid(id)) throw new CliException("postern: not a queue id: " + id, 2);
    }

    private static Spool openSpool(Config config) throws IOException, CliException {
        Path queue = config.dataDir().resolve("queue");
        if (!Files.isDirectory(queue)) {
            throw new CliException("postern: no queue in " + config.dataDir() + " (wrong --data or --config?)", 1);
        }
        return Spool.open(queue);
    }

    /** Runs a change through the running gateway, or directly under the data directory's lock. */
    private static QueueAdmin.Report change(Config config, QueueAdmin.Operation op, QueueSelector selector, String by)
            throws Exception {
        Path data = config.dataDir();
        ControlServer.QueueRequest request = new ControlServer.QueueRequest(op.word(), selector, by);
        if (Gateway.runsInThisJvm(data)) return viaGateway(data.resolve("control.sock"), request);
        // Hold the data directory's lock for the whole direct change, so that no gateway starts in the middle.
        List<AuditRecord> made = new ArrayList<>();
        QueueAdmin.Report report;
        try (Spool spool = openSpool(config);
             FileChannel ch = DurableFiles.SYSTEM.openLockFile(data.resolve("postern.lock"))) {
            FileLock lock = ch.tryLock();
            if (lock == null) return viaGateway(data.resolve("control.sock"), request);
            report = new QueueAdmin(spool, null, made::add, AdminLog.in(data)).apply(op, selector,
                    new QueueAdmin.Who(by, null));
        }
        if (!made.isEmpty()) {
            try {
                AuditAccess.ask(config, store -> {
                    store.write(List.copyOf(made));
                    return null;
                });
            } catch (CliException e) {
                System.err.println(e.getMessage() + " (the actions are in " + AdminLog.in(data).file() + ")");
            }
        }
        return report;
    }

    private static QueueAdmin.Report viaGateway(Path socket, ControlServer.QueueRequest request) throws Exception {
        String answer = ControlClient.ask(socket, "queue " + Json.mapper().writeValueAsString(request));
        return Json.mapper().readValue(answer, QueueAdmin.Report.class);
    }
}
