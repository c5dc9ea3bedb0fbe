package dev.postern.peers;

/** Both directions of one domain; either may be null (never seen that way). */
public record DomainLevels(String domain, Seen in, Seen out) {

    public Seen get(Direction d) { return d == Direction.IN ? in : out; }

    DomainLevels with(Direction d, Seen s) {
        return d == Direction.IN ? new DomainLevels(domain, s, out) : new DomainLevels(domain, in, s);
    }

    /** The latest session either way, for eviction. */
    java.time.Instant lastSeen() {
        java.time.Instant a = in == null ? null : in.lastSeen(), b = out == null ? null : out.lastSeen();
        return a == null ? b : b == null || a.isAfter(b) ? a : b;
    }

    /** Nothing above plain either way: protects nothing, evicted first. */
    boolean plainOnly() {
        return (in == null || in.level() == Level.PLAIN) && (out == null || out.level() == Level.PLAIN);
    }
}
