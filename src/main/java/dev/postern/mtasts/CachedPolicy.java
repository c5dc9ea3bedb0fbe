package dev.postern.mtasts;

import java.time.Instant;

/**
 * A policy as the cache holds it.
 *
 * @param domain      lookup form
 * @param id          the TXT record's id the policy was fetched under
 * @param fetchedAt   when it was fetched (or last re-fetched unchanged)
 * @param expiresAt   {@code fetchedAt} plus the policy's max_age: it is not used after this
 * @param lastError   why the last fetch or refresh failed, or null when the last one succeeded
 * @param lastErrorAt when that was, or null
 */
public record CachedPolicy(String domain, String id, Policy policy, Instant fetchedAt, Instant expiresAt,
                           String lastError, Instant lastErrorAt) {

    public boolean expired(Instant now) {
        return !now.isBefore(expiresAt);
    }

    CachedPolicy failed(String why, Instant at) {
        return new CachedPolicy(domain, id, policy, fetchedAt, expiresAt, why, at);
    }

    /** How logs, the audit and {@code postern policy show} name it. */
    public String describe() {
        return "mta-sts policy id=" + id + " mode=" + policy.mode().word() + " (fetched " + fetchedAt + ", expires "
                + expiresAt + ")";
    }
}
