/**
 * Signed delivery receipts: what a delivered message's hops were, with their TLS facts ({@link
 * dev.postern.receipts.Receipt}, made from a {@link dev.postern.audit.MessageTrace}), signed by the gateway as a JWS
 * with ES256 ({@link dev.postern.receipts.Receipts}), under a P-256 key kept in {@code data/receipts/}
 * ({@link dev.postern.receipts.ReceiptKey}), so a sender can prove to an auditor how a message left. Asks no store.
 */
package dev.postern.receipts;
