/**
 * The building blocks of SMTP AUTH (RFC 4954), independent of sockets so that the session only has to move lines:
 * the SASL exchanges SCRAM-SHA-256 (RFC 5802, RFC 7677), PLAIN (RFC 4616) and LOGIN as a small state machine
 * ({@link dev.postern.auth.Sasl}, {@link dev.postern.auth.Scram}), the password file {@code data/users} with bcrypt or
 * Argon2id hashes and optional SCRAM secrets (RFC 5803), re-read when it changes so that
 * {@code postern user add} takes effect on a running gateway ({@link dev.postern.auth.PasswordFile}), and a limiter
 * that locks out client addresses after repeated failed attempts ({@link dev.postern.auth.AuthLimiter}).
 */
package dev.postern.auth;
