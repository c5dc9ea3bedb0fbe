/**
 * Deadlines for blocking socket I/O that {@code SO_TIMEOUT} does not bound (writes, TLS handshakes, a trickle that
 * keeps reads alive): {@link dev.postern.deadline.IoWatchdog}'s one thread closes the socket of an I/O past its
 * deadline, which unblocks the thread stuck in the call. Arming is a volatile write, cheap enough for every write.
 * A leaf package with no dependencies on the rest of Postern: the server's sessions and the SMTP client both use it.
 */
package dev.postern.deadline;
