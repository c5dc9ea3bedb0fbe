package dev.postern.cli;

import dev.postern.audit.AdminLog;
import dev.postern.audit.AdminRecord;
import dev.postern.audit.Audit;
import dev.postern.outbound.Scheduler;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueState;
import dev.postern.queue.Spool;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The administrator's queue operations (flush, hold, release, delete), in one place for both ways of reaching a
 * spool: inside the running gateway (through the control socket, {@code scheduler} set) and directly on a stopped
 * gateway's spool ({@code scheduler} null). Every operation done is recorded for the audit and appended to the
 * admin log ({@link AdminLog}) with who asked; a refused one is not an action and is not recorded.
 *
 * <p>A message being delivered right now cannot be held or deleted under the attempt's feet ({@link
 * Scheduler#withdraw} refuses): {@link #apply} tries it again for a few seconds, and reports it as left as it is when
 * the attempt takes longer. After the attempt the message may have left the queue (delivered or bounced): it is then
 * reported as gone, never delivered twice and never lost.
 */
final class QueueAdmin {

    /** An operation that cannot be done; the message is one line for the administrator. */
    static class Refused extends Exception {
        Refused(String message) { super(message); }
    }

    /** The message is being delivered right now; asking again after the attempt may succeed. */
    static final class Busy extends Refused {
        Busy(String message) { super(message); }
    }

    /** The four operations, by their command word. */
    enum Operation {
        FLUSH(AdminRecord.Action.QUEUE_FLUSH, "flushed"), HOLD(AdminRecord.Action.QUEUE_HOLD, "held"),
        RELEASE(AdminRecord.Action.QUEUE_RELEASE, "released"), DELETE(AdminRecord.Action.QUEUE_DELETE, "deleted");

        final AdminRecord.Action action;
        final String done;

        Operation(AdminRecord.Action action, String done) {
            this.action = action;
            this.done = done;
        }

        String word() { return name().toLowerCase(Locale.ROOT); }

        /** The states a selector of this operation looks in: release only held messages, the others the rest. */
        boolean appliesTo(QueueState s) {
            return this == RELEASE ? s == QueueState.HOLD : this == DELETE || s != QueueState.HOLD;
        }
    }

    /**
     * Who asked: {@code by} the operator as the command named them ({@code --by}, else the login user), {@code peer}
     * the control socket peer's operating-system user (null when the command acted on the spool itself).
     */
    record Who(String by, String peer) {
        static Who socketPeer(String user) { return new Who(user, user); }
    }

    /** What happened to one message: {@code done}, or why not in {@code text}. */
    record Outcome(String id, boolean done, String text) {}

    /** What one command did: how many messages its selector matched, and each one's outcome. */
    record Report(int matched, List<Outcome> outcomes) {
        Report {
            outcomes = List.copyOf(outcomes);
        }

        long done() { return outcomes.stream().filter(Outcome::done).count(); }
    }

    /** How long {@link #apply} waits for attempts in progress before it reports their messages as left alone. */
    static final Duration BUSY_WAIT = Duration.ofSeconds(5);
    /** Admin log lines are appended (and fsynced) at least every this many actions of one command. */
    private static final int LOG_BATCH = 200;

    private final Spool spool;
    private final Scheduler scheduler;
    private final Audit audit;
    private final AdminLog log;
    private final List<AdminLog.Entry> unlogged = new ArrayList<>();

    QueueAdmin(Spool spool, Scheduler scheduler) {
        this(spool, scheduler, Audit.NONE, null);
    }

    /**
     * @param audit receives an administrative record of each operation done (not of refused ones)
     * @param log   the admin log each operation done is appended to; null: none
     */
    QueueAdmin(Spool spool, Scheduler scheduler, Audit audit, AdminLog log) {
        this.spool = spool;
        this.scheduler = scheduler;
        this.audit = audit;
        this.log = log;
    }

    /**
     * Applies {@code op} to every message {@code selector} matches, each in turn, and says what happened to each. Ids
     * named without selectors are taken as they are (an unknown one is an outcome "no message ID in the queue");
     * with selectors, a message counts only in the states the operation applies to (release: held messages; flush
     * and hold: the others; delete: all). Admin log lines are appended before this returns.
     */
    synchronized Report apply(Operation op, QueueSelector selector, Who who) throws IOException {
        try {
            if (op == Operation.FLUSH && selector.equals(QueueSelector.ALL)) { // "postern queue flush", postqueue -f
                int n = (int) spool.list().stream().filter(e -> e.state() != QueueState.HOLD).count();
                try {
                    return new Report(n, List.of(new Outcome("all", true, flush(null, who))));
                } catch (Refused r) {
                    return new Report(n, List.of(new Outcome("all", false, r.getMessage())));
                }
            }
            Map<String, Outcome> outcomes = new LinkedHashMap<>();
            Map<String, Finish> started = new LinkedHashMap<>();
            List<String> targets = new ArrayList<>();
            if (selector.selects()) {
                for (Spool.Entry e : spool.list()) {
                    if (selector.matches(e) && op.appliesTo(e.state())) targets.add(e.envelope().id());
                }
            } else {
                targets.addAll(selector.ids());
            }
            List<String> busy = new ArrayList<>();
            for (String id : targets) {
                outcomes.put(id, null);
                try {
                    started.put(id, start(op, id, who));
                } catch (Busy b) {
                    busy.add(id);
                } catch (Refused r) {
                    outcomes.put(id, new Outcome(id, false, r.getMessage()));
                }
            }
            long deadline = System.nanoTime() + BUSY_WAIT.toNanos();
            while (!busy.isEmpty() && System.nanoTime() < deadline) {
                sleep();
                for (var it = busy.iterator(); it.hasNext(); ) {
                    String id = it.next();
                    try {
                        started.put(id, start(op, id, who));
                        it.remove();
                    } catch (Busy b) {
                        // still in its attempt
                    } catch (Refused r) {
                        outcomes.put(id, new Outcome(id, false, spool.find(id).isEmpty()
                                ? leftTheQueue(op, id) : r.getMessage()));
                        it.remove();
                    }
                }
            }
            for (String id : busy) {
                outcomes.put(id, new Outcome(id, false, "message " + id + " is being delivered right now; left as it "
                        + "is (try again in a moment)"));
            }
            for (var e : started.entrySet()) {
                try {
                    outcomes.put(e.getKey(), new Outcome(e.getKey(), true, e.getValue().finish()));
                } catch (IOException failed) {
                    outcomes.put(e.getKey(), new Outcome(e.getKey(), false, "message " + e.getKey() + ": "
                            + failed.getMessage()));
                }
            }
            return new Report(targets.size(), new ArrayList<>(outcomes.values()));
        } finally {
            flushLog();
        }
    }

    /** The rest of an operation that was started: waits for what it waits for, records it, returns its text. */
    private interface Finish {
        String finish() throws IOException;
    }

    /**
     * Starts {@code op} on one message. A delete is queued with the spool's group committer ({@link Spool#remove}),
     * so that many deletes share their directory fsyncs; it is recorded once it is durable. The others are done here.
     */
    private Finish start(Operation op, String id, Who who) throws IOException, Refused {
        if (op != Operation.DELETE) {
            String text;
            try {
                text = one(op, id, who);
            } catch (NoSuchFileException gone) {
                // delivered between existing() and the spool's update: this message's outcome, not the batch's
                throw new Refused(leftTheQueue(op, id));
            }
            return () -> text;
        }
        // a held message is not the scheduler's (and must not be marked withdrawn there: nothing would clear it)
        if (existing(id).state() != QueueState.HOLD) withdraw(id);
        CompletableFuture<Void> removed = spool.remove(id);
        return () -> {
            try {
                removed.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while its removal was being made durable");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
            return done(who, AdminRecord.Action.QUEUE_DELETE, id, "deleted " + id);
        };
    }

    private static String leftTheQueue(Operation op, String id) {
        return "message " + id + " left the queue during its delivery attempt (delivered or bounced); nothing "
                + op.done;
    }

    private String one(Operation op, String id, Who who) throws IOException, Refused {
        return switch (op) {
            case FLUSH -> flush(id, who);
            case HOLD -> hold(id, who);
            case RELEASE -> release(id, who);
            case DELETE -> delete(id, who);
        };
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An operation {@code who} asked for, done with {@code result}: recorded, then returned. */
    private String done(Who who, AdminRecord.Action action, String target, String result) throws IOException {
        AdminLog.Entry entry = new AdminLog.Entry(Instant.now(), who == null ? null : who.by(),
                who == null ? null : who.peer(), action, target, result);
        try {
            audit.record(entry.record());
        } catch (RuntimeException e) {
            // the sink must not throw; the operation is done either way
        }
        if (log != null) {
            unlogged.add(entry);
            if (unlogged.size() >= LOG_BATCH) flushLog();
        }
        return result;
    }

    private void flushLog() throws IOException {
        if (log == null || unlogged.isEmpty()) return;
        try {
            log.append(unlogged);
        } finally {
            unlogged.clear();
        }
    }

    /** Schedules one message (or all with null) for immediate delivery. */
    synchronized String flush(String id, Who who) throws IOException, Refused {
        try {
            if (id == null) {
                if (scheduler != null) {
                    scheduler.flush(null);
                    return done(who, AdminRecord.Action.QUEUE_FLUSH, "all", "flushed all queued messages");
                }
                int n = 0;
                for (Spool.Entry e : spool.list()) {
                    if (e.state() == QueueState.HOLD) continue;
                    spool.update(e.envelope().withNextAttempt(Instant.now()), QueueState.ACTIVE);
                    n++;
                }
                return done(who, AdminRecord.Action.QUEUE_FLUSH, "all",
                        n + " message(s) will be tried as soon as the gateway starts");
            }
            Spool.Entry e = existing(id);
            if (e.state() == QueueState.HOLD) throw new Refused("message " + id + " is on hold; release it first");
            if (scheduler != null) {
                scheduler.flush(id);
                return done(who, AdminRecord.Action.QUEUE_FLUSH, id, "flushed " + id);
            }
            spool.update(e.envelope().withNextAttempt(Instant.now()), QueueState.ACTIVE);
            return done(who, AdminRecord.Action.QUEUE_FLUSH, id, id + " will be tried as soon as the gateway starts");
        } finally {
            if (id == null) flushLog();
        }
    }

    synchronized String hold(String id, Who who) throws IOException, Refused {
        Spool.Entry e = existing(id);
        if (e.state() == QueueState.HOLD) return id + " is already on hold";
        Envelope current = withdraw(id).orElse(e.envelope());
        spool.update(current, QueueState.HOLD);
        return done(who, AdminRecord.Action.QUEUE_HOLD, id, "held " + id);
    }

    synchronized String release(String id, Who who) throws IOException, Refused {
        Spool.Entry e = existing(id);
        if (e.state() != QueueState.HOLD) throw new Refused("message " + id + " is not on hold");
        Envelope released = spool.update(e.envelope().withNextAttempt(Instant.now()), QueueState.ACTIVE);
        if (scheduler != null) scheduler.release(released);
        return done(who, AdminRecord.Action.QUEUE_RELEASE, id, "released " + id);
    }

    synchronized String delete(String id, Who who) throws IOException, Refused {
        if (existing(id).state() != QueueState.HOLD) withdraw(id);
        spool.delete(id);
        return done(who, AdminRecord.Action.QUEUE_DELETE, id, "deleted " + id);
    }

    /** One operation on one id, its admin log line written: the control socket's old one-id requests. */
    synchronized String single(Operation op, String id, Who who) throws IOException, Refused {
        try {
            return id == null ? flush(null, who) : one(op, id, who);
        } finally {
            flushLog();
        }
    }

    private Optional<Envelope> withdraw(String id) throws Refused {
        if (scheduler == null) return Optional.empty();
        try {
            return Optional.ofNullable(scheduler.withdraw(id));
        } catch (Scheduler.BusyException b) {
            throw new Busy(b.getMessage());
        }
    }

    private Spool.Entry existing(String id) throws IOException, Refused {
        if (!QueueIds.isValid(id)) throw new Refused("not a queue id: " + id);
        return spool.find(id).orElseThrow(() -> new Refused("no message " + id + " in the queue"));
    }
}
