package dev.postern.audit;

import java.time.Instant;
import java.util.List;

/**
 * A store that is opened when first needed and opened again after it failed: a PostgreSQL that is down when the
 * gateway starts, or restarted while it runs, must not stop the gateway nor leave the writer with a dead connection.
 * The writer sees a failed write and spills; its next try opens a fresh connection (and runs the migrations again,
 * which is a no-op once they are applied).
 */
public final class ReopeningStore implements AuditStore {

    /** Opens the underlying store: connects and migrates. */
    @FunctionalInterface
    public interface Opener {
        AuditStore open() throws AuditStoreException;
    }

    private final Opener opener;
    private AuditStore current;

    public ReopeningStore(Opener opener) {
        this.opener = opener;
    }

    @Override public synchronized void write(List<AuditRecord> batch) throws AuditStoreException {
        AuditStore s = store();
        try {
            s.write(batch);
        } catch (AuditStoreException | RuntimeException e) {
            drop();
            throw e instanceof AuditStoreException a ? a : new AuditStoreException(e.toString(), e);
        }
    }

    @Override public synchronized int prune(Instant cutoff, int limit) throws AuditStoreException {
        AuditStore s = store();
        try {
            return s.prune(cutoff, limit);
        } catch (AuditStoreException | RuntimeException e) {
            drop();
            throw e instanceof AuditStoreException a ? a : new AuditStoreException(e.toString(), e);
        }
    }

    /**
     * Opens the store now (connects, runs the migrations) instead of at the first write, so that this one-time cost
     * falls at start-up rather than on the first messages; a failure here is only reported: the writer tries again.
     */
    public synchronized void open() throws AuditStoreException {
        store();
    }

    private AuditStore store() throws AuditStoreException {
        if (current == null) current = opener.open();
        return current;
    }

    /** Forgets a store that failed, so the next call connects afresh. */
    private void drop() {
        if (current == null) return;
        try {
            current.close();
        } catch (RuntimeException ignored) {
            // it failed already; a fresh connection comes next time
        }
        current = null;
    }

    @Override public synchronized void close() {
        drop();
    }
}
