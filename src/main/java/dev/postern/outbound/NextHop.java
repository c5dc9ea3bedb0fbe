package dev.postern.outbound;

/** One host to try for a destination: a name (or IP literal) and port, in preference order among its siblings. */
public record NextHop(String host, int port) {
    @Override public String toString() { return host + ":" + port; }
}
