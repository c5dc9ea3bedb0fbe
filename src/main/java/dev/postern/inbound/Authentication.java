package dev.postern.inbound;

import dev.postern.auth.AuthLimiter;
import dev.postern.auth.PasswordFile;

/**
 * SMTP AUTH for submission listeners: the users' passwords, the limit on failed attempts per client, and how long a
 * failed attempt waits for its answer ({@code [auth] failure_delay}).
 */
public record Authentication(PasswordFile.Watcher passwords, AuthLimiter limiter, java.time.Duration failureDelay) {
    /** Failed attempts answered at once (tests that are not about the delay). */
    public Authentication(PasswordFile.Watcher passwords, AuthLimiter limiter) {
        this(passwords, limiter, java.time.Duration.ZERO);
    }
}
