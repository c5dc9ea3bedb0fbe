package dev.postern.tlsrpt;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * How many reports the open route takes: at most {@code perClient} per client and {@code total} from everyone per
 * window (fixed windows: simple, and a report sender posts a few a day). At most {@link #MAX_CLIENTS} clients are
 * counted one by one; past that, new ones share the total only. An IPv6 client is counted by its /64: one host is
 * given a whole /64 and could otherwise post from a new address each time.
 */
final class ClientRate {
    static final int MAX_CLIENTS = 10_000;

    private final int perClient;
    private final int total;
    private final Duration window;
    private final Clock clock;
    private final Map<String, Integer> counts = new HashMap<>();
    private Instant windowStart = Instant.EPOCH;
    private int all;

    ClientRate(int perClient, int total, Duration window, Clock clock) {
        this.perClient = perClient;
        this.total = total;
        this.window = window;
        this.clock = clock;
    }

    /** Counts one report from {@code client}: 0 when it may go on, else the seconds until the next window. */
    synchronized long take(String address) {
        String client = key(address);
        Instant now = clock.instant();
        if (!now.isBefore(windowStart.plus(window))) {
            windowStart = now;
            counts.clear();
            all = 0;
        }
        long wait = Math.max(1, Duration.between(now, windowStart.plus(window)).toSeconds());
        if (all >= total) return wait;
        Integer mine = counts.get(client);
        if (mine != null && mine >= perClient) return wait;
        if (mine != null || counts.size() < MAX_CLIENTS) counts.put(client, mine == null ? 1 : mine + 1);
        all++;
        return 0;
    }

    /** What a client is counted by: an IPv6 address's /64 prefix, anything else as given. */
    static String key(String address) {
        if (address == null || address.indexOf(':') < 0) return address;
        try {
            byte[] a = java.net.InetAddress.ofLiteral(address.startsWith("[") && address.endsWith("]")
                    ? address.substring(1, address.length() - 1) : address).getAddress();
            if (a.length != 16) return address;
            return java.util.HexFormat.of().formatHex(a, 0, 8) + "::/64";
        } catch (IllegalArgumentException e) {
            return address;
        }
    }
}
