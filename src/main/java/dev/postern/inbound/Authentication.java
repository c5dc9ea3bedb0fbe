package dev.postern.inbound;

import dev.postern.auth.AuthLimiter;
import dev.postern.auth.PasswordFile;

/** SMTP AUTH for submission listeners: the users' passwords and the limit on failed attempts per client. */
public record Authentication(PasswordFile.Watcher passwords, AuthLimiter limiter) {}
