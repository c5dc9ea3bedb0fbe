/**
 * MTA-STS (RFC 8461): discovery of a domain's {@code _mta-sts} TXT record, the HTTPS fetch of its policy through
 * Postern's own resolver, the policy's parsing, the on-disk cache with its refresher, and the policy Postern publishes
 * for the domains it serves. {@code outbound.TlsPolicies} asks {@link dev.postern.mtasts.PolicySource} which policy
 * applies; nothing here decides how a session is judged.
 */
package dev.postern.mtasts;
