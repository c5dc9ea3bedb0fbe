package dev.postern.probes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.admin.AdminServer;
import dev.postern.admin.Call;
import dev.postern.admin.Reply;
import dev.postern.admin.StoreAccess;
import dev.postern.audit.ProbeRecord;
import dev.postern.audit.RecordCodec;
import dev.postern.logging.Untrusted;
import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The admin API of the health probes: {@code GET /api/probes} (each domain's latest probe),
 * {@code GET /api/probes/DOMAIN?since=7d} (its history, newest first), {@code POST /api/probes/DOMAIN} (probe it now;
 * the body may name who asks: {@code {"by": "alice"}}). Answers are {@code {"probes": [ProbeRecord...]}}, or the one
 * ProbeRecord of a probe run now.
 */
public final class ProbeApi {
    /** The most probes asked through the API that run at once; more are answered 429. */
    static final int ON_DEMAND_AT_ONCE = 4;
    /** The trigger of a probe asked through the API without a "by". */
    static final String API = "admin-api";

    private ProbeApi() {}

    /** Registers the routes on {@code server}. */
    public static void register(AdminServer server, HealthProbes probes, StoreAccess store) {
        server.route("GET", "/api/probes", call -> Reply.json(Map.of("probes", store.ask(s -> s.latestProbes()))));
        server.route("GET", "/api/probes/*", call -> {
            String domain = domain(call.rest());
            Instant since = call.since("7d"); // as postern's --since: a duration back, a time or a date
            List<ProbeRecord> history = store.ask(s -> s.probeHistory(domain, since));
            return Reply.json(Map.of("probes", history));
        });
        // each probe on demand holds a thread and outbound connections for up to [probes] timeout: a few at once
        java.util.concurrent.Semaphore onDemand = new java.util.concurrent.Semaphore(ON_DEMAND_AT_ONCE);
        server.route("POST", "/api/probes/*", call -> {
            String domain = domain(call.rest());
            if (!onDemand.tryAcquire()) {
                return new Reply(429, Reply.JSON, ("{\"error\":\"" + ON_DEMAND_AT_ONCE + " probes asked through the "
                        + "API are under way; retry when one has ended\"}").getBytes(
                        java.nio.charset.StandardCharsets.UTF_8), Map.of("Retry-After", "5"));
            }
            try {
                ProbeRecord r = probes.probe(domain, by(call));
                return r == null ? Reply.error(503, "the gateway is stopping") : Reply.json(r);
            } finally {
                onDemand.release();
            }
        });
    }

    /** The path's domain in lookup form; anything else is a 400 naming what is expected. */
    static String domain(String text) {
        String expected = "expected a domain like partner.example after /api/probes/";
        if (text.isEmpty()) throw new IllegalArgumentException(expected);
        try {
            String d = Domains.toAscii(text);
            if (d.indexOf('.') < 0) throw new InvalidDomainException("a single label");
            return d;
        } catch (InvalidDomainException e) {
            throw new IllegalArgumentException(expected + ", got \"" + Untrusted.clip(text)
                    + "\" (" + e.getMessage() + ")");
        }
    }

    /** Who asked: the body's "by" (1 to 64 printable characters), else "admin-api". */
    private static String by(Call call) {
        String body = call.text().strip();
        if (body.isEmpty()) return API;
        JsonNode node;
        try {
            node = RecordCodec.mapper().readTree(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("expected a JSON body like {\"by\": \"alice\"} or none");
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected a JSON body like {\"by\": \"alice\"} or none");
        }
        JsonNode by = node.get("by");
        if (by == null || by.isNull()) return API;
        String s = by.isTextual() ? by.asText().strip() : "";
        if (s.isEmpty() || s.length() > 64 || s.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException("by: expected 1 to 64 printable characters");
        }
        return s;
    }
}
