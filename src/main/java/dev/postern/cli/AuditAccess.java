package dev.postern.cli;

import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.config.Config;

/** How every command reaches the audit store of a gateway's configuration (trace, receipt, report, certs). */
final class AuditAccess {
    private AuditAccess() {}

    /** A question asked of the store. */
    interface Question<T> {
        T ask(JdbcAuditStore store) throws AuditStoreException;
    }

    /**
     * Opens the store {@code config} names, asks {@code question} and closes it; a store that cannot be opened or read
     * is one line ("postern: audit store ...") and exit code 1.
     */
    static <T> T ask(Config config, Question<T> question) throws CliException {
        try (JdbcAuditStore store = AuditDatabase.open(config)) {
            return question.ask(store);
        } catch (AuditStoreException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
    }
}
