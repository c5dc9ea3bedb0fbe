/**
 * DANE for SMTP (RFC 7672, RFC 6698, RFC 7671): where an MX host's TLSA records come from ({@link TlsaLookup}) and
 * whether a server's certificate chain satisfies them ({@link DaneCheck}). Knows nothing of policies or levels.
 */
package dev.postern.dane;
