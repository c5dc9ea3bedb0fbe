package dev.postern.outbound;

/**
 * One host to try for a destination: a name (or IP literal) and port, in preference order among its siblings;
 * {@code preference} is its MX preference (0 for the implicit MX of a domain without MX records), -1 for a static
 * route's host.
 */
public record NextHop(String host, int port, int preference) {
    /** A static route's host (no MX preference). */
    public NextHop(String host, int port) {
        this(host, port, -1);
    }

    @Override public String toString() { return host + ":" + port; }
}
