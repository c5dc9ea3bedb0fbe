package dev.postern.audit;

/**
 * Where producers hand their records. {@link #record} never blocks and never throws: a full queue or a store that is
 * down must never slow or stop mail (the writer spills to disk and counts what it could not keep).
 */
@FunctionalInterface
public interface Audit {

    /** An audit that keeps nothing (tools and tests that do not look at records). */
    Audit NONE = r -> { };

    void record(AuditRecord record);
}
