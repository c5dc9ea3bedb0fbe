package dev.postern.cli;

import dev.postern.files.DurableFiles;
import dev.postern.config.Config;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueIds;
import dev.postern.queue.Spool;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code postern queue ...}: look at and act on the queue of a running or stopped gateway. Reading works on the
 * spool files directly (envelopes change by atomic rename, so a reader never sees half a file). Changes go through
 * the running gateway's control socket, or, when no gateway runs, straight to the spool while holding the data
 * directory's lock so that a gateway cannot start in the middle.
 */
@Command(name = "queue", description = "List and manage queued messages.",
        subcommands = {QueueCommand.ListMessages.class, QueueCommand.Show.class, QueueCommand.Flush.class,
                QueueCommand.Hold.class, QueueCommand.Release.class, QueueCommand.Delete.class})
final class QueueCommand {

    @Command(name = "list", description = "One entry per queued message, oldest first.")
    static final class ListMessages implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            try (Spool spool = openSpool(config)) {
                List<Spool.Entry> entries = spool.list();
                if (entries.isEmpty()) {
                    System.out.println("Queue is empty (data dir " + config.dataDir() + ").");
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

    @Command(name = "show", description = "Envelope, delivery state and headers of one message.")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "ID") String id;

        @Override public Integer call() throws Exception {
            checkId(id);
            try (Spool spool = openSpool(source.load())) {
                Spool.Entry e = spool.find(id).orElseThrow(
                        () -> new CliException("postern: no message " + id + " in the queue", 1));
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
                try (InputStream in = spool.openContent(id);
                     BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null && !line.isEmpty(); line = r.readLine()) {
                        System.out.println(line);
                    }
                }
                return 0;
            }
        }
    }

    @Command(name = "flush", description = "Try one message (or all) now.")
    static final class Flush implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "ID", arity = "0..1") String id;

        @Override public Integer call() throws Exception {
            if (id != null) checkId(id);
            return change(source.load(), id == null ? "flush" : "flush " + id, a -> a.flush(id));
        }
    }

    /** hold, release and delete: one queue id, one request word, one operation. */
    abstract static class OneMessage implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "ID") String id;

        abstract String verb();

        abstract String apply(QueueAdmin admin, String id) throws IOException, QueueAdmin.Refused;

        @Override public Integer call() throws Exception {
            checkId(id);
            return change(source.load(), verb() + " " + id, a -> apply(a, id));
        }
    }

    @Command(name = "hold", description = "Keep a message in the queue without trying it.")
    static final class Hold extends OneMessage {
        @Override String verb() { return "hold"; }
        @Override String apply(QueueAdmin admin, String id) throws IOException, QueueAdmin.Refused {
            return admin.hold(id);
        }
    }

    @Command(name = "release", description = "Release a held message for delivery.")
    static final class Release extends OneMessage {
        @Override String verb() { return "release"; }
        @Override String apply(QueueAdmin admin, String id) throws IOException, QueueAdmin.Refused {
            return admin.release(id);
        }
    }

    @Command(name = "delete", description = "Remove a message from the queue without a bounce.")
    static final class Delete extends OneMessage {
        @Override String verb() { return "delete"; }
        @Override String apply(QueueAdmin admin, String id) throws IOException, QueueAdmin.Refused {
            return admin.delete(id);
        }
    }

    private interface Operation {
        String apply(QueueAdmin admin) throws IOException, QueueAdmin.Refused;
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
    private static int change(Config config, String request, Operation direct) throws Exception {
        Path data = config.dataDir();
        if (Gateway.runsInThisJvm(data)) return viaGateway(data.resolve("control.sock"), request);
        // Hold the data directory's lock for the whole direct change, so that no gateway starts in the middle.
        try (Spool spool = openSpool(config);
             FileChannel ch = DurableFiles.SYSTEM.openLockFile(data.resolve("postern.lock"))) {
            FileLock lock = ch.tryLock();
            if (lock == null) return viaGateway(data.resolve("control.sock"), request);
            System.out.println(direct.apply(new QueueAdmin(spool, null)));
            return 0;
        } catch (QueueAdmin.Refused r) {
            throw new CliException("postern: " + r.getMessage(), 1);
        }
    }

    private static int viaGateway(Path socket, String request) throws CliException {
        System.out.println(ControlClient.ask(socket, request));
        return 0;
    }
}
