package dev.postern.outbound;

import dev.postern.config.Config;
import dev.postern.peers.Direction;
import dev.postern.peers.Level;
import dev.postern.peers.PeerLevels;
import dev.postern.peers.Seen;
import java.time.Instant;
import java.util.Optional;

/**
 * The downgrade memory on the delivery side: the floor a destination's remembered level puts under its plan, and what
 * each finished session teaches it. The memory learns from every trustworthy session whatever the mode, so turning
 * refuse on later protects at once.
 */
public final class PeerFloors {
    /** No memory: no floor, nothing learnt. */
    public static final PeerFloors NONE = new PeerFloors(null, Config.PeerMemory.DEFAULT);

    private final PeerLevels levels;
    private final Config.PeerMemory config;

    public PeerFloors(PeerLevels levels, Config.PeerMemory config) {
        this.levels = levels;
        this.config = config;
    }

    /**
     * The floor for the destination of {@code resolved}, or null: none remembered, the memory off for it, or an
     * active override (an administrator's decision outranks what was seen).
     */
    public TlsPlanner.Floor floor(TlsPolicies.Resolved resolved) {
        if (levels == null) return null;
        return floor(resolved, config, levels.get(resolved.domain(), Direction.OUT));
    }

    /**
     * The floor {@code seen} (the level remembered outbound, empty: none) puts under {@code resolved}'s plan as
     * {@code config} says; for the gateway's memory and for {@code postern domains show}, which reads the file.
     */
    public static TlsPlanner.Floor floor(TlsPolicies.Resolved resolved, Config.PeerMemory config,
                                         Optional<Seen> seen) {
        if (resolved.override().isPresent()) return null;
        Config.MemoryMode mode = config.outboundFor(resolved.domain());
        if (mode == Config.MemoryMode.OFF) return null;
        if (seen.isEmpty() || seen.get().level() == Level.PLAIN) return null;
        return new TlsPlanner.Floor(resolved.domain(), seen.get().level(), seen.get().since(),
                mode == Config.MemoryMode.REFUSE);
    }

    /**
     * Notes what session {@code a} showed of {@code domain}. Only sessions whose TLS was settled
     * and not refused teach anything: a session that failed its policy (or the floor) proves nothing, a broad-suite
     * retry is not remembered (a floor must never demand what only the weak retry reached), and one that never got
     * as far as TLS (connection lost) showed nothing. Testing-mode sessions count: their verdict fails nothing.
     */
    void learn(String domain, SmtpClient.Attempt a, Instant at) {
        Level achieved = achieved(a);
        boolean broad = a.tls() != null && a.fallback() != null; // TLS reached only by the broad-suite retry
        if (levels == null || achieved == null || broad) return;
        levels.observe(domain, Direction.OUT, achieved, at);
    }

    /** What a session showed: null when it showed nothing trustworthy. */
    static Level achieved(SmtpClient.Attempt a) {
        if (a.outcome() == SmtpClient.Outcome.TLS_FAILED || a.tlsSessionId() == null) return null;
        if (a.tls() == null) return Level.PLAIN;
        if (a.verdict() == null || a.verdict().failure() != null) return null;
        return a.verdict().achieved();
    }

    /** The level a session below the floor reached: plain without TLS, else its verdict's. */
    static Level reached(SmtpClient.Attempt a) {
        return a.tls() == null || a.verdict() == null ? Level.PLAIN : a.verdict().achieved();
    }

    /** What the session offered, in words, for the downgrade reason. */
    static String offered(SmtpClient.Attempt a) {
        if (a.tls() != null && a.verdict() != null) {
            return a.verdict().verified() ? "verified TLS (" + a.verdict().summary() + ")"
                    : "TLS, " + a.verdict().summary();
        }
        if (a.tlsFailure() == null) return "no TLS" + (a.noTlsReason() == null ? "" : " (" + a.noTlsReason() + ")");
        return switch (a.tlsFailure()) {
            case NO_STARTTLS -> "no STARTTLS";
            case STARTTLS_REFUSED -> "STARTTLS, then refused it";
            case HANDSHAKE -> "STARTTLS, and the TLS handshake failed";
            case CUT -> "STARTTLS, and the connection was cut before TLS was up";
            case POLICY_CHECK -> "TLS that failed its checks";
        };
    }
}
