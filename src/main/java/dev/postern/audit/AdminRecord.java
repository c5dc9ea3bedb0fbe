package dev.postern.audit;

import java.time.Instant;

/**
 * An administrator's action: who did what to what, and why.
 *
 * @param actor  the operating-system user (control socket peer, CLI user) or the name the administrator gave
 * @param action what was done
 * @param target the domain, queue id or file it was done to
 * @param detail the rest: the override's level and end, the reason given, the result
 */
public record AdminRecord(Instant at, String actor, Action action, String target, String detail)
        implements AuditRecord {

    public enum Action {
        POLICY_OVERRIDE_SET, POLICY_OVERRIDE_CLEARED, POLICY_OVERRIDE_EXPIRED,
        QUEUE_DELETE, QUEUE_HOLD, QUEUE_RELEASE, QUEUE_FLUSH,
        CONFIG_RELOAD, CERTIFICATE_RELOAD,
        /** {@code postern domains forget}: the TLS level remembered for a domain was cleared (detail: what was). */
        PEER_LEVEL_FORGOTTEN,
        /** {@code postern admin token --rotate}: a new admin token (target: the token file; never the token). */
        ADMIN_TOKEN_ROTATED
    }
}
