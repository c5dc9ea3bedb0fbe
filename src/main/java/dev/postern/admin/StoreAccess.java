package dev.postern.admin;

import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.JdbcAuditStore;

/**
 * The admin server's reading connection to the audit store: opened at the first question, kept, and opened anew
 * after a failure. The store's methods are synchronized, so questions are answered one at a time.
 */
public final class StoreAccess implements AutoCloseable {

    /** Opens the configured store (cli/AuditDatabase). */
    @FunctionalInterface
    public interface Opener {
        JdbcAuditStore open() throws AuditStoreException;
    }

    /** A question asked of the store. */
    @FunctionalInterface
    public interface Question<T> {
        T ask(JdbcAuditStore store) throws AuditStoreException;
    }

    private final Opener opener;
    private JdbcAuditStore store;

    public StoreAccess(Opener opener) {
        this.opener = opener;
    }

    /** Asks {@code question}; a store that cannot be opened or fails is an AuditStoreException (one line). */
    public synchronized <T> T ask(Question<T> question) throws AuditStoreException {
        if (store == null) store = opener.open();
        try {
            return question.ask(store);
        } catch (AuditStoreException | RuntimeException e) {
            store.close();
            store = null;
            throw e;
        }
    }

    @Override public synchronized void close() {
        if (store != null) store.close();
        store = null;
    }
}
