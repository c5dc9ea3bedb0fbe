package dev.postern.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.MessageTrace;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.config.Config;
import dev.postern.config.Durations;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueJson;
import dev.postern.queue.Spool;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The dashboard and the read API it draws from (docs/monitoring.md, section "dashboard"). Each route answers what the
 * matching command prints with {@code --json}, through the same code: {@code /api/report/tls} the store's
 * {@code report} ({@code postern report tls --format json}), {@code /api/report/timeline} its {@code timeline}
 * ({@code postern report timeline --format json}), {@code /api/trace} {@code postern trace --json},
 * {@code /api/queue} {@code postern queue list|show --json} ({@link QueueJson}), {@code /api/overrides}
 * {@code postern policy overrides --json} and its changes ({@link Overrides}). The page ({@code /}, {@code /assets/})
 * is served without the token: it holds no data, only the code that asks for it with the token.
 */
public final class DashboardApi {
    private static final String RESOURCES = "/dev/postern/admin/dashboard/";
    /** The page's files: name, type. Nothing else under /assets/ is served. */
    private static final Map<String, String> ASSETS = Map.of(
            "dashboard.js", "text/javascript; charset=utf-8",
            "dashboard.css", "text/css; charset=utf-8");
    /** No inline script or style, nothing from elsewhere: the page's own files and its own API only. */
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    /** {@code postern trace}'s search, which lives in cli (it parses addresses as the SMTP session does). */
    @FunctionalInterface
    public interface Tracer {
        List<MessageTrace> search(JdbcAuditStore store, String q, Instant since) throws AuditStoreException;
    }

    /**
     * What the routes read.
     *
     * @param config the gateway's configuration as it is now (reloads included)
     * @param spool  the gateway's queue
     */
    public record Parts(StoreAccess store, Supplier<Config> config, Spool spool, Overrides overrides,
                        Tracer tracer) { }

    private final Parts parts;

    private DashboardApi(Parts parts) {
        this.parts = parts;
    }

    /** Registers the page and the read API on {@code server}. */
    public static void register(AdminServer server, Parts parts) {
        DashboardApi api = new DashboardApi(parts);
        server.route(new AdminServer.Route("GET", "/", true, 0, c -> asset("index.html",
                "text/html; charset=utf-8")));
        server.route(new AdminServer.Route("GET", "/assets/*", true, 0, api::assets));
        server.route("GET", "/api/report/tls", api::report);
        server.route("GET", "/api/report/timeline", api::timeline);
        server.route("GET", "/api/trace", api::trace);
        server.route("GET", "/api/queue/*", api::queue);
        server.route("GET", "/api/overrides", c -> Reply.json(parts.overrides().list()));
        server.route("POST", "/api/overrides", api::setOverride);
        server.route("DELETE", "/api/overrides/*", api::clearOverride);
        server.route("GET", "/api/dashboard", api::dashboard);
    }

    // ---- the page

    private Reply assets(Call call) throws IOException {
        String type = ASSETS.get(call.rest());
        return type == null ? Reply.error(404, "not found") : asset(call.rest(), type);
    }

    private static Reply asset(String name, String type) throws IOException {
        try (InputStream in = DashboardApi.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) return Reply.error(404, "not found");
            return new Reply(200, type, in.readAllBytes(), Map.of("Content-Security-Policy", CSP,
                    "Referrer-Policy", "no-referrer", "X-Frame-Options", "DENY"));
        }
    }

    // ---- reports

    private Reply report(Call call) throws AuditStoreException {
        Instant since = call.since("7d");
        String domain = call.domain();
        Direction direction = call.param("direction").filter(s -> !s.isBlank()).map(DashboardApi::direction)
                .orElse(null);
        return Reply.json(parts.store().ask(s -> s.report(since, domain, direction)));
    }

    private Reply timeline(Call call) throws AuditStoreException {
        Instant since = call.since("24h");
        Duration bucket = duration("bucket", call.param("bucket").orElse("1h"));
        return Reply.json(parts.store().ask(s -> s.timeline(since, bucket)));
    }

    private Reply dashboard(Call call) throws Exception {
        Instant now = Instant.now();
        Instant since = call.since("7d");
        Config config = parts.config().get();
        DashboardSummary summary = parts.store().ask(s -> {
            TlsReport report = s.report(since, null, Direction.OUT);
            try {
                return DashboardSummary.of(now, report, config.outboundTls(),
                        d -> s.partnerCertificate(d).orElse(null), s.policyEvents(since, DashboardSummary.EVENTS));
            } catch (AuditStoreException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return Reply.json(summary);
    }

    // ---- trace

    private Reply trace(Call call) throws AuditStoreException {
        String q = call.param("q").map(String::strip).orElse("");
        if (q.isEmpty()) throw new IllegalArgumentException("q: expected a queue id, a Message-ID or an address");
        if (q.length() > 1000) throw new IllegalArgumentException("q: expected at most 1000 characters");
        Instant since = call.since("7d");
        List<MessageTrace> found = parts.store().ask(s -> parts.tracer().search(s, q, since));
        if (found.isEmpty()) return Reply.error(404, "no message " + q + " on record");
        return Reply.json(found);
    }

    // ---- queue

    private Reply queue(Call call) throws IOException {
        String id = call.rest();
        if (id.isEmpty()) {
            return Reply.json(QueueJson.list(parts.spool(), parts.config().get().dataDir().toString()));
        }
        if (!QueueIds.isValid(id)) return Reply.error(400, "not a queue id: " + id);
        Optional<Spool.Entry> e = parts.spool().find(id);
        if (e.isEmpty()) return Reply.error(404, "no message " + id + " in the queue");
        List<String> headers;
        try {
            headers = QueueJson.headers(parts.spool(), id);
        } catch (java.nio.file.NoSuchFileException gone) {
            return Reply.error(404, "no message " + id + " in the queue");
        }
        return Reply.json(QueueJson.MessageJson.of(e.get(), headers));
    }

    // ---- overrides

    private Reply setOverride(Call call) {
        JsonNode body = body(call);
        Overrides.Change change = new Overrides.Change(text(body, "domain"), text(body, "level"),
                text(body, "until"), text(body, "reason"), text(body, "by"), call.peer());
        if (change.domain() == null) throw new IllegalArgumentException("domain: expected a domain, got nothing");
        try {
            return Reply.json(parts.overrides().set(change));
        } catch (Overrides.Refused e) {
            return Reply.error(e.status(), e.getMessage());
        }
    }

    private Reply clearOverride(Call call) {
        JsonNode body = call.body().length == 0 ? null : body(call);
        String reason = Optional.ofNullable(text(body, "reason")).or(() -> call.param("reason")).orElse(null);
        String by = Optional.ofNullable(text(body, "by")).or(() -> call.param("by")).orElse(null);
        if (call.rest().isEmpty()) throw new IllegalArgumentException("expected /api/overrides/DOMAIN");
        try {
            return Reply.json(parts.overrides().clear(new Overrides.Change(call.rest(), null, null, reason, by,
                    call.peer())));
        } catch (Overrides.Refused e) {
            return Reply.error(e.status(), e.getMessage());
        }
    }

    private static JsonNode body(Call call) {
        try {
            JsonNode n = RecordCodec.mapper().readTree(call.body());
            if (n == null || !n.isObject()) throw new IllegalArgumentException("expected a JSON object");
            return n;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("expected a JSON object: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the request body");
        }
    }

    /** A string field, null when absent or null; anything else is refused. */
    private static String text(JsonNode body, String field) {
        if (body == null) return null;
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new IllegalArgumentException(field + ": expected a string");
        return v.asText();
    }

    // ---- parameters: one line naming the parameter, as the commands name their option (since: Call.since)

    private static Duration duration(String name, String s) {
        try {
            return Durations.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": expected " + Durations.EXPECTED + ", got \"" + s + "\"");
        }
    }

    private static Direction direction(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "in" -> Direction.IN;
            case "out" -> Direction.OUT;
            default -> throw new IllegalArgumentException("direction: expected in or out, got \"" + s + "\"");
        };
    }
}
