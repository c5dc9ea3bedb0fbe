/**
 * The audit trail: every TLS session, received message, delivery attempt and administrative action as a record
 * ({@link dev.postern.audit.AuditRecord}), written off the mail path to SQLite or PostgreSQL, and the questions asked of
 * it (trace, TLS report, certificates seen, receipts). Depends on no other Postern package.
 */
package dev.postern.audit;
