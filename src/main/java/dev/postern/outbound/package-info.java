/**
 * The sending side: routing (static routes, MX), the SMTP client with opportunistic STARTTLS, and the scheduler
 * that decides which queued message is tried when, records each recipient's outcome, retries and bounces.
 */
package dev.postern.outbound;
