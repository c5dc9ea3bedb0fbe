package dev.postern.audit;

import java.time.Instant;
import java.util.List;

/**
 * Where records are kept: SQLite in the data directory or a shared PostgreSQL. Used by one writer thread
 * ({@link #write}, {@link #prune}); readers (the CLI, the admin API) open a store of their own.
 */
public interface AuditStore extends AutoCloseable {

    /** Writes the batch in one transaction, all or nothing, each row stamped with this gateway's name. */
    void write(List<AuditRecord> batch) throws AuditStoreException;

    /**
     * Deletes at most {@code limit} records (of any kind) made before {@code cutoff}, oldest first, and the stored
     * certificates no remaining session names; returns how many records went (0: nothing older is left).
     */
    int prune(Instant cutoff, int limit) throws AuditStoreException;

    @Override void close();

    /** The store cannot be reached or refused the write; the message says which and why, in one line. */
    final class AuditStoreException extends Exception {
        private final boolean refused;

        public AuditStoreException(String message, Throwable cause) { this(message, cause, false); }

        /**
         * @param refused the store is up but will never take these records as they are (a value it cannot hold): trying
         *                again later cannot help, unlike a store that is down
         */
        public AuditStoreException(String message, Throwable cause, boolean refused) {
            super(message, cause);
            this.refused = refused;
        }

        public boolean refused() { return refused; }
    }
}
