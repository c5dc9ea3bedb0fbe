/**
 * The receiving side: listeners, one virtual thread per SMTP session, the session state machine, relay policy and
 * the Received header. A message is acknowledged only after the spool has made it durable.
 */
package dev.postern.inbound;
