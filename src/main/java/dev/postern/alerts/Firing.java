package dev.postern.alerts;

import dev.postern.audit.AlertRecord;
import java.time.Instant;
import java.util.List;

/**
 * An alert that is firing, as the state file keeps it.
 *
 * @param record    the FIRING record that started it
 * @param lastSeen  when its cause was last seen (a partner certificate: the latest session that showed it)
 * @param notAfter  a certificate's end, for certificate alerts; else null
 * @param endpoints where a partner certificate was seen ("out mx1.bank.example:25", "in 192.0.2.7"); else empty
 * @param level     a downgrade's remembered level ("encrypted", "verified"), what a session must reach to recover;
 *                  else null
 */
record Firing(AlertRecord record, Instant lastSeen, Instant notAfter, List<String> endpoints, String level) {
    Firing {
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    }

    Firing seen(Instant at, String endpoint) {
        List<String> more = endpoint == null || endpoints.contains(endpoint) ? endpoints
                : java.util.stream.Stream.concat(endpoints.stream(), java.util.stream.Stream.of(endpoint))
                        .skip(Math.max(0, endpoints.size() + 1 - MAX_ENDPOINTS)).toList();
        return new Firing(record, at.isAfter(lastSeen) ? at : lastSeen, notAfter, more, level);
    }

    /** A certificate shown by a load balancer's many addresses keeps its latest few places. */
    static final int MAX_ENDPOINTS = 16;
}
