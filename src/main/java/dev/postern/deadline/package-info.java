/**
 * Deadlines for blocking socket I/O that {@code SO_TIMEOUT} does not bound (writes, TLS handshakes, whole phases):
 * one scheduler thread closes the socket when an armed deadline passes, which unblocks the thread stuck in the call.
 * A leaf package with no dependencies on the rest of Postern, so both the client and the server side can use it.
 */
package dev.postern.deadline;
