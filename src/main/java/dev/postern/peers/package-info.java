/**
 * The downgrade memory: per domain (lookup form) and direction, the highest TLS level seen with it (plain, encrypted,
 * verified, dane) and when, kept in {@code data/peers/levels.json}. Knows nothing of policies or sessions: outbound
 * and inbound decide what a session achieved and what to do about a session below the remembered level.
 */
package dev.postern.peers;
