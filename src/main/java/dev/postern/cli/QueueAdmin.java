package dev.postern.cli;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.Audit;
import dev.postern.outbound.Scheduler;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueState;
import dev.postern.queue.Spool;
import java.io.IOException;
import java.time.Instant;
import java.util.Optional;

/**
 * The administrator's queue operations (flush, hold, release, delete), in one place for both ways of reaching a
 * spool: inside the running gateway (through the control socket, {@code scheduler} set) and directly on a stopped
 * gateway's spool ({@code scheduler} null).
 */
final class QueueAdmin {

    /** An operation that cannot be done; the message is one line for the administrator. */
    static final class Refused extends Exception {
        Refused(String message) { super(message); }
    }

    private final Spool spool;
    private final Scheduler scheduler;
    private final Audit audit;

    QueueAdmin(Spool spool, Scheduler scheduler) {
        this(spool, scheduler, Audit.NONE);
    }

    /** @param audit receives an administrative record of each operation done (not of refused ones) */
    QueueAdmin(Spool spool, Scheduler scheduler, Audit audit) {
        this.spool = spool;
        this.scheduler = scheduler;
        this.audit = audit;
    }

    /** An operation {@code actor} asked for, done with {@code result}: recorded, then returned. */
    private String done(String actor, AdminRecord.Action action, String target, String result) {
        try {
            audit.record(new AdminRecord(Instant.now(), actor, action, target, result));
        } catch (RuntimeException e) {
            // the sink must not throw; the operation is done either way
        }
        return result;
    }

    /** Schedules one message (or all with null) for immediate delivery. */
    String flush(String id) throws IOException, Refused {
        return flush(id, null);
    }

    /** @param actor who asked (the control socket peer's user), for the audit; null when not recorded */
    String flush(String id, String actor) throws IOException, Refused {
        if (id == null) {
            if (scheduler != null) {
                scheduler.flush(null);
                return done(actor, AdminRecord.Action.QUEUE_FLUSH, "all", "flushed all queued messages");
            }
            int n = 0;
            for (Spool.Entry e : spool.list()) {
                if (e.state() == QueueState.HOLD) continue;
                spool.update(e.envelope().withNextAttempt(Instant.now()), QueueState.ACTIVE);
                n++;
            }
            return n + " message(s) will be tried as soon as the gateway starts";
        }
        Spool.Entry e = existing(id);
        if (e.state() == QueueState.HOLD) throw new Refused("message " + id + " is on hold; release it first");
        if (scheduler != null) {
            scheduler.flush(id);
            return done(actor, AdminRecord.Action.QUEUE_FLUSH, id, "flushed " + id);
        }
        spool.update(e.envelope().withNextAttempt(Instant.now()), QueueState.ACTIVE);
        return id + " will be tried as soon as the gateway starts";
    }

    String hold(String id) throws IOException, Refused {
        return hold(id, null);
    }

    String hold(String id, String actor) throws IOException, Refused {
        Spool.Entry e = existing(id);
        if (e.state() == QueueState.HOLD) return id + " is already on hold";
        Envelope current = withdraw(id).orElse(e.envelope());
        spool.update(current, QueueState.HOLD);
        return done(actor, AdminRecord.Action.QUEUE_HOLD, id, "held " + id);
    }

    String release(String id) throws IOException, Refused {
        return release(id, null);
    }

    String release(String id, String actor) throws IOException, Refused {
        Spool.Entry e = existing(id);
        if (e.state() != QueueState.HOLD) throw new Refused("message " + id + " is not on hold");
        Envelope released = spool.update(e.envelope().withNextAttempt(Instant.now()), QueueState.ACTIVE);
        if (scheduler != null) scheduler.enqueue(released);
        return done(actor, AdminRecord.Action.QUEUE_RELEASE, id, "released " + id);
    }

    String delete(String id) throws IOException, Refused {
        return delete(id, null);
    }

    String delete(String id, String actor) throws IOException, Refused {
        existing(id);
        withdraw(id);
        spool.delete(id);
        return done(actor, AdminRecord.Action.QUEUE_DELETE, id, "deleted " + id);
    }

    private Optional<Envelope> withdraw(String id) throws Refused {
        if (scheduler == null) return Optional.empty();
        try {
            return Optional.ofNullable(scheduler.withdraw(id));
        } catch (Scheduler.BusyException b) {
            throw new Refused(b.getMessage());
        }
    }

    private Spool.Entry existing(String id) throws IOException, Refused {
        if (!QueueIds.isValid(id)) throw new Refused("not a queue id: " + id);
        return spool.find(id).orElseThrow(() -> new Refused("no message " + id + " in the queue"));
    }
}
