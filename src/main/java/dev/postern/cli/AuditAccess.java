package dev.postern.cli;

import dev.postern.audit.AuditReader;
import dev.postern.config.Config;

/** How the CLI reaches the audit store of a gateway's configuration (trace, receipt). */
final class AuditAccess {
    private AuditAccess() {}

    /** A reader of the store {@code config} names; the caller closes it. */
    static AuditReader reader(Config config) throws CliException {
        try {
            return AuditDatabase.open(config);
        } catch (dev.postern.audit.AuditStore.AuditStoreException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
    }
}
