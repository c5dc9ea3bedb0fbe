package dev.postern.tlsrpt;

import dev.postern.admin.AdminServer;
import dev.postern.admin.Call;
import dev.postern.admin.Reply;
import dev.postern.admin.StoreAccess;
import dev.postern.audit.TlsRptRecord;
import dev.postern.config.Durations;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin server's TLS report routes (docs/monitoring.md, section tlsrpt-receive):
 * <ul>
 * <li>{@code POST /tlsrpt}, open (no token): RFC 8460 §5.4's https reception, for the {@code rua=https://...} of our
 *     {@code _smtp._tls} records, through a reverse proxy that forwards only this path. A sender on the internet has
 *     no admin token, so this one route takes reports without it, with tight bounds instead: a body of at most
 *     {@link #OPEN_MAX_BODY} on the wire, {@link #PER_CLIENT} reports per client and {@link #TOTAL} in all per hour
 *     (429 past them), and only reports about our domains.</li>
 * <li>{@code POST /api/tlsrpt}, with the token: the same for an administrator (a report saved from elsewhere), with
 *     the body up to {@code max_report_size} and no rate.</li>
 * <li>{@code GET /api/tlsrpt?direction=IN|OUT&domain=&since=&limit=}: {@code {"reports":[...]}} newest first,
 *     without each report's JSON ({@code json} is null).</li>
 * <li>{@code GET /api/tlsrpt/report?id=REPORT-ID&organization=&domain=&direction=}: the one report, with its JSON.</li>
 * </ul>
 */
public final class ReportRoutes {
    private static final Logger log = LoggerFactory.getLogger(ReportRoutes.class);
    static final int OPEN_MAX_BODY = 1 << 20;
    static final int PER_CLIENT = 20;
    static final int TOTAL = 1_000;
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1_000;
    /**
     * Reports the open route reads at once: reading one may hold about 100 MB (5 MB of tiny JSON objects from a 1 MB
     * gzip), so without a bound a few dozen concurrent POSTs from anyone would fill the heap the mail needs.
     */
    static final int PARSING = 2;
    /**
     * Report JSON (inflated) the open route reads per hour from everyone. Each report is kept in the audit store (up
     * to 1 MiB of it per policy domain), so without a byte bound 1,000 reports an hour of a few KB of gzip each could
     * add a GB an hour to the store for anyone who can reach the route.
     */
    static final long OPEN_BYTES_PER_HOUR = 64L << 20;

    private final ReportReceiver receiver;
    private final StoreAccess store;
    private final ClientRate rate;
    private final Clock clock;
    final java.util.concurrent.Semaphore parsing = new java.util.concurrent.Semaphore(PARSING);
    /** {@link #OPEN_BYTES_PER_HOUR}; tests make it smaller. */
    long openBytesPerHour = OPEN_BYTES_PER_HOUR;
    private Instant bytesWindow = Instant.EPOCH;
    private long bytesTaken;

    ReportRoutes(ReportReceiver receiver, StoreAccess store, ClientRate rate, Clock clock) {
        this.receiver = receiver;
        this.store = store;
        this.rate = rate;
        this.clock = clock;
    }

    /** Registers the routes on {@code server}. */
    public static void register(AdminServer server, ReportReceiver receiver, StoreAccess store) {
        Clock clock = Clock.systemUTC();
        ReportRoutes r = new ReportRoutes(receiver, store, new ClientRate(PER_CLIENT, TOTAL, Duration.ofHours(1),
                clock), clock);
        int max = (int) Math.min(Integer.MAX_VALUE - 16, receiver.maxReportSize());
        server.route(new AdminServer.Route("POST", "/tlsrpt", true, Math.min(OPEN_MAX_BODY, max), r::open));
        server.route(new AdminServer.Route("POST", "/api/tlsrpt", false, max, r::post));
        server.route("GET", "/api/tlsrpt", r::list);
        server.route("GET", "/api/tlsrpt/report", r::show);
    }

    Reply open(Call call) throws InterruptedException {
        String client = client(call);
        if (!parsing.tryAcquire(1, java.util.concurrent.TimeUnit.SECONDS)) {
            log.atWarn().addKeyValue("client", client).log("tls report refused: too many being read at once (503)");
            return new Reply(503, Reply.JSON, "{\"error\":\"busy reading other reports; retry later\"}"
                    .getBytes(StandardCharsets.UTF_8), Map.of("Retry-After", "10"));
        }
        try {
            long wait = rate.take(client);
            if (wait > 0) {
                log.atWarn().addKeyValue("client", client).log("tls report refused: too many from this client (429)");
                return new Reply(429, Reply.JSON, ("{\"error\":\"too many reports; retry after " + wait + " s\"}")
                        .getBytes(StandardCharsets.UTF_8), Map.of("Retry-After", Long.toString(wait)));
            }
            long later = spend(call);
            if (later > 0) {
                log.atWarn().addKeyValue("client", client).log("tls report refused: the hour's bytes are spent (429)");
                return new Reply(429, Reply.JSON, ("{\"error\":\"too many report bytes this hour; retry after "
                        + later + " s\"}").getBytes(StandardCharsets.UTF_8), Map.of("Retry-After",
                        Long.toString(later)));
            }
            return receive(call, "https POST from " + client);
        } finally {
            parsing.release();
        }
    }

    /** Counts the report's inflated size against the hour's bytes: 0 when it may go on, else seconds to wait. */
    private long spend(Call call) {
        long size;
        // inflated no further than the hour allows, whatever max_report_size says (it may be up to 1 GiB)
        long cap = Math.min(receiver.maxReportSize(), openBytesPerHour);
        try {
            size = ReportBytes.json(ReportBytes.mediaType(call.header("content-type").orElse("")), call.body(), cap)
                    .length;
        } catch (ReportException e) {
            // larger than the hour's bytes: counted as all of them; any other fault is refused by receive
            if (e.status() != 413 || cap == receiver.maxReportSize()) return 0;
            size = cap + 1;
        }
        Instant now = clock.instant();
        synchronized (this) {
            if (!now.isBefore(bytesWindow.plus(Duration.ofHours(1)))) {
                bytesWindow = now;
                bytesTaken = 0;
            }
            if (bytesTaken + size > openBytesPerHour) {
                return Math.max(1, Duration.between(now, bytesWindow.plus(Duration.ofHours(1))).toSeconds());
            }
            bytesTaken += size;
            return 0;
        }
    }

    Reply post(Call call) {
        return receive(call, "admin POST from " + call.peer());
    }

    private Reply receive(Call call, String peer) {
        try {
            return Reply.json(receiver.accept(call.header("content-type").orElse(""), call.body(), peer));
        } catch (ReportException e) {
            log.atWarn().addKeyValue("peer", peer).addKeyValue("status", e.status())
                    .addKeyValue("reason", dev.postern.logging.Untrusted.clip(e.getMessage())).log("tls report refused");
            return Reply.error(e.status(), e.getMessage());
        }
    }

    /**
     * The client's address; behind a reverse proxy on this machine (a loopback peer with X-Forwarded-For) the address
     * the proxy saw, the last one of the header (the ones before it are the client's own claims).
     */
    static String client(Call call) {
        String peer = call.peer();
        String xff = call.header("x-forwarded-for").orElse(null);
        boolean loopback = peer != null && (peer.startsWith("127.") || peer.equals("::1")
                || peer.equals("0:0:0:0:0:0:0:1") || peer.equals("[::1]"));
        if (!loopback || xff == null) return peer;
        String last = xff.substring(xff.lastIndexOf(',') + 1).strip();
        return last.isEmpty() || last.length() > 64 ? peer : last;
    }

    Reply list(Call call) throws Exception {
        TlsRptRecord.Direction direction = direction(call);
        String domain = call.domain();
        Instant since = call.param("since").map(s -> since(s, clock.instant())).orElse(null);
        int limit = call.param("limit").map(ReportRoutes::limit).orElse(DEFAULT_LIMIT);
        List<TlsRptRecord> reports = store.ask(s -> s.tlsRptReports(direction, domain, since, limit, false));
        return Reply.json(Map.of("reports", reports));
    }

    Reply show(Call call) throws Exception {
        String id = call.param("id").filter(s -> !s.isBlank())
                .orElseThrow(() -> new IllegalArgumentException("id: the report-id is required"));
        String org = call.param("organization").filter(s -> !s.isEmpty()).orElse(null);
        TlsRptRecord.Direction direction = direction(call);
        String domain = call.domain();
        List<TlsRptRecord> found = store.ask(s -> s.tlsRptReport(id, org, domain, direction));
        if (found.isEmpty()) return Reply.error(404, "no TLS report with this report-id");
        if (found.size() > 1) {
            return Reply.json(409, Map.of("error", found.size() + " reports have this report-id: give organization, "
                    + "domain or direction", "matches", found.stream().map(ReportRoutes::summary).toList()));
        }
        return Reply.json(found.getFirst());
    }

    private static TlsRptRecord summary(TlsRptRecord r) {
        return new TlsRptRecord(r.at(), r.direction(), r.reportId(), r.organization(), r.policyDomain(), r.start(),
                r.end(), r.successful(), r.failed(), r.peer(), r.outcome(), null);
    }

    private static TlsRptRecord.Direction direction(Call call) {
        String d = call.param("direction").orElse(null);
        if (d == null || d.isEmpty()) return null;
        return switch (d.toUpperCase(Locale.ROOT)) {
            case "IN" -> TlsRptRecord.Direction.IN;
            case "OUT" -> TlsRptRecord.Direction.OUT;
            default -> throw new IllegalArgumentException("direction: expected IN or OUT");
        };
    }

    /** A duration back from now (30d), a time (2026-12-01T00:00Z) or a date (midnight UTC), as the CLI's --since. */
    static Instant since(String s, Instant now) {
        try {
            return Durations.point(s, now, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("since: " + e.getMessage());
        }
    }

    private static int limit(String s) {
        try {
            int n = Integer.parseInt(s);
            if (n >= 1 && n <= MAX_LIMIT) return n;
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("limit: expected 1 to " + MAX_LIMIT);
    }
}
