package dev.postern.inbound;

import dev.postern.config.Config;
import dev.postern.peers.Direction;
import dev.postern.peers.Level;
import dev.postern.peers.PeerLevels;
import dev.postern.peers.Seen;
import dev.postern.smtp.Reply;
import dev.postern.tls.NameMatcher;
import dev.postern.tls.TlsFacts;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The downgrade memory on the receiving side, per MAIL FROM domain (lookup form): a session below the level the domain
 * showed before is refused or flagged, and accepted mail from a session with TLS teaches it. Plain sessions never
 * raise anything (anyone can claim any sender in clear text), and nothing is learnt before a message was accepted.
 */
final class SenderMemory {
    static final SenderMemory NONE = new SenderMemory(null, Config.MemoryMode.OFF);

    private final PeerLevels levels;
    private final Config.MemoryMode mode;

    SenderMemory(PeerLevels levels, Config.MemoryMode mode) {
        this.levels = levels;
        this.mode = mode;
    }

    /**
     * A session below its sender domain's level.
     *
     * @param seen    what the domain showed before
     * @param session what this session has
     * @param refuse  refuse (else flag: log, mark in the audit, accept)
     */
    record Below(String domain, Seen seen, Level session, boolean refuse) {
        /** "downgrade: D was seen at L since T, this session has S". */
        String reason() {
            return dev.postern.peers.Downgrade.text(domain, seen.level(), seen.since()) + ", this session has "
                    + describe(session);
        }

        /** The policy level that asks what the memory asks, for the audit record. */
        String policyLevel() {
            return seen.level() == Level.ENCRYPTED ? "encrypt" : "verify";
        }

        /**
         * The reply of a refusal. Without TLS: 530 5.7.0, RFC 3207 §4's "Must issue a STARTTLS command first" (X.7.0,
         * "other or undefined security status", RFC 3463 §3.8, is what RFC 3207 uses; X.7.10 "Encryption Needed" is
         * registered for authentication mechanisms, RFC 5248 / RFC 4954; X.7.30 is REQUIRETLS's, RFC 8689). With
         * TLS but no verified client certificate: 550 5.7.1, "delivery not authorized", as for a listener or partner
         * that requires a certificate. Both permanent: a sender that really is this domain knows how to do better.
         */
        Reply reply() {
            return session == Level.PLAIN
                    ? Reply.of(530, "5.7.0", "Must issue a STARTTLS command first: mail from " + domain
                            + " has come over TLS before")
                    : Reply.of(550, "5.7.1", "a verified client certificate is required: mail from " + domain
                            + " has come with one before");
        }
    }

    /**
     * The level of a session for mail from {@code domain}: plain, encrypted, or verified (a client certificate that
     * chains to a trusted CA and names {@code domain} or a name under it). A trusted certificate for another name
     * proves nothing of this domain: counted as verified, any holder of one (a partner under a shared CA) could raise
     * any sender domain it names in MAIL FROM, and that domain's own mail without a certificate would be refused.
     */
    static Level level(TlsFacts tls, InboundPolicy.ClientCertificate cert, String domain) {
        if (tls == null) return Level.PLAIN;
        boolean verified = cert != null && cert.facts().trusted() && domain != null
                && NameMatcher.firstMatch(cert.facts().names(), List.of("." + domain)) != null;
        return verified ? Level.VERIFIED : Level.ENCRYPTED;
    }

    /** The session's shortfall for mail from {@code domain}, or empty (fine, unknown, or the memory off). */
    Optional<Below> check(String domain, Level session) {
        if (levels == null || domain == null || mode == Config.MemoryMode.OFF) return Optional.empty();
        Optional<Seen> seen = levels.get(domain, Direction.IN);
        // inbound levels stop at verified: a client is never authenticated by DANE
        if (seen.isEmpty() || !seen.get().level().above(session)) return Optional.empty();
        return Optional.of(new Below(domain, seen.get(), session, mode == Config.MemoryMode.REFUSE));
    }

    /** Notes an accepted message from {@code domain} in a session at {@code session}: only TLS sessions teach. */
    void learn(String domain, Level session, Instant at) {
        if (levels == null || domain == null || session == Level.PLAIN) return;
        levels.observe(domain, Direction.IN, session, at);
    }

    private static String describe(Level l) {
        return switch (l) {
            case PLAIN -> "no TLS";
            case ENCRYPTED -> "TLS without a verified client certificate";
            default -> "a verified client certificate";
        };
    }
}
