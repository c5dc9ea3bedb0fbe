package dev.postern.audit;

import java.time.Instant;

/**
 * One fact Postern decided or observed, as data. Producers (inbound, outbound, cli) build these from plain values and
 * hand them to an {@link Audit}; the store adds the gateway's name and keeps them. The records use no type of another
 * Postern package, so {@code audit} depends on nothing of ours and every other package may write to it.
 */
public sealed interface AuditRecord
        permits TlsSessionRecord, MessageRecord, DeliveryRecord, AdminRecord, AlertRecord, ProbeRecord,
        TlsRptRecord {

    /** When it happened (for a session: when it ended, or for an outbound one when the handshake finished). */
    Instant at();
}
