/**
 * Recipient validation at RCPT time: which local parts exist in a local or relay domain (a list file, re-read when it
 * changes, or the answer of the domain's next hop to a verification probe, cached), so that mail for unknown users is
 * refused with 550 5.1.1 during the SMTP session instead of bounced later. Uses {@code smtp} and {@code names} only;
 * the probe itself is {@code outbound}'s.
 */
package dev.postern.recipients;
