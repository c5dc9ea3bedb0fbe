package dev.postern.audit;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit every producer is handed: each record goes to the store's writer first, then to the observers that watch
 * records as they happen (metrics, alerts). An observer must return at once (queue its work) and may not throw; one
 * that throws is logged and the others still see the record.
 */
public final class Fanout implements Audit {
    private static final Logger log = LoggerFactory.getLogger(Fanout.class);

    private final Audit primary;
    private final List<Audit> observers = new CopyOnWriteArrayList<>();

    public Fanout(Audit primary) {
        this.primary = primary;
    }

    /** Adds an observer; it sees the records made from now on. */
    public void observe(Audit observer) {
        observers.add(observer);
    }

    @Override public void record(AuditRecord record) {
        primary.record(record);
        for (Audit o : observers) {
            try {
                o.record(record);
            } catch (RuntimeException e) {
                log.warn("audit observer {} failed on a {}: {}", o.getClass().getSimpleName(),
                        record.getClass().getSimpleName(), e.toString());
            }
        }
    }
}
