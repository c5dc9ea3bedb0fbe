package dev.postern.metrics;

import dev.postern.admin.AdminServer;
import dev.postern.admin.Reply;
import dev.postern.admin.StoreAccess;
import dev.postern.audit.AuditWriter;
import dev.postern.audit.Fanout;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueState;
import dev.postern.queue.Spool;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's Prometheus registry: the counters of {@link RecordMeter} (fed by the audit records as they are made),
 * the gauges read when scraped (queue, audit writer, certificate expiry) and a few JVM figures. One per gateway.
 */
public final class Metrics {
    private static final Logger log = LoggerFactory.getLogger(Metrics.class);
    /** The Prometheus text format, version 0.0.4, that {@link PrometheusMeterRegistry#scrape()} writes. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** How long a queue scan (a directory listing per state) is reused: several scrapers, one scan. */
    static final Duration QUEUE_CACHE = Duration.ofSeconds(5);
    /** How far back the store's certificates are loaded at start. */
    static final Duration PARTNERS_SINCE = Duration.ofDays(30);
    private static final double DAY_SECONDS = 86_400;

    /**
     * What the gauges read when scraped.
     *
     * @param queue           the spool's census ({@code Spool::census})
     * @param audit           the audit writer's figures; null when there is no writer (a test's own sink)
     * @param ownCertificates the leaf certificates the gateway serves now
     */
    public record Sources(QueueScan queue, Supplier<AuditWriter.Stats> audit,
                          Supplier<List<X509Certificate>> ownCertificates) {}

    /** A scan of the queue. */
    @FunctionalInterface
    public interface QueueScan {
        Spool.Census census() throws IOException;
    }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final PartnerCertificates partners = new PartnerCertificates();
    private final RecordMeter meter = new RecordMeter(registry, partners);
    private final Sources sources;
    private final Cached<Spool.Census> queue;
    private final Cached<AuditWriter.Stats> audit;
    private final MultiGauge expiry;
    /** Where the partners' certificates seen before this start are read; null: nowhere. */
    private StoreAccess store;
    private volatile boolean partnersLoaded;
    /** When the load was last started (nanoTime), 0 never; guarded by the scrape's lock. */
    private long loadingSince;

    public Metrics(Sources sources) {
        this.sources = sources;
        this.queue = new Cached<>(QUEUE_CACHE, () -> {
            try {
                return sources.queue().census();
            } catch (IOException e) {
                log.warn("metrics: cannot scan the queue: {}", e.toString());
                return null;
            }
        });
        this.audit = new Cached<>(Duration.ofSeconds(1), sources.audit());
        for (QueueState s : QueueState.values()) {
            String state = s.name().toLowerCase(Locale.ROOT);
            Gauge.builder("postern.queue.messages", queue, q -> count(q.get(), s))
                    .description("Messages in the queue, by state").tag("state", state).strongReference(true)
                    .register(registry);
            Gauge.builder("postern.queue.oldest.age.seconds", queue, q -> oldestAge(q.get(), s))
                    .description("Age of the oldest message in each state (since its queue id was made), 0 when "
                            + "there is none").tag("state", state).strongReference(true).register(registry);
        }
        if (sources.audit().get() != null) auditMeters();
        expiry = MultiGauge.builder("postern.certificate.expiry.days")
                .description("Days until a certificate's notAfter (negative once expired): the gateway's own, and "
                        + "partners' seen on the wire").register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
    }

    private void auditMeters() {
        gauge("postern.audit.queued", "Audit records waiting in memory for the store (the store's lag)",
                s -> s.queued());
        gauge("postern.audit.spill.bytes", "Bytes in the audit spill file, waiting for the store to answer",
                s -> s.spillBytes());
        gauge("postern.audit.store.up", "1 while the audit store answers, else 0", s -> s.storeUp() ? 1 : 0);
        counter("postern.audit.written", "Audit records written to the store from memory", s -> s.written());
        counter("postern.audit.spilled", "Audit records written to the spill file", s -> s.spilled());
        counter("postern.audit.replayed", "Audit records replayed from the spill file", s -> s.replayed());
        counter("postern.audit.dropped", "Audit records lost (queue or spill full, unreadable spill line)",
                s -> s.dropped());
        counter("postern.audit.rejected", "Audit records the store refused, set aside in rejected.jsonl",
                s -> s.rejected());
    }

    private void gauge(String name, String description, ToDoubleFunction<AuditWriter.Stats> f) {
        Gauge.builder(name, audit, a -> {
            AuditWriter.Stats s = a.get();
            return s == null ? Double.NaN : f.applyAsDouble(s);
        }).description(description).strongReference(true).register(registry);
    }

    private void counter(String name, String description, ToDoubleFunction<AuditWriter.Stats> f) {
        FunctionCounter.builder(name, audit, a -> {
            AuditWriter.Stats s = a.get();
            return s == null ? 0 : f.applyAsDouble(s);
        }).description(description).register(registry);
    }

    /**
     * Makes the gateway's metrics, has them watch the audit records, and serves them as {@code GET /metrics} (token
     * required, as every API route). The partners' certificates seen lately are loaded from the store when the first
     * scrape comes (in the background, so that scrape is not slowed): not at start, where the store may still be
     * being opened and migrated by the audit writer.
     */
    public static Metrics register(AdminServer server, Fanout fanout, Sources sources, StoreAccess store) {
        Metrics m = new Metrics(sources);
        m.store = store;
        fanout.observe(m.observer());
        server.route("GET", "/metrics", call -> Reply.text(200, CONTENT_TYPE, m.scrape()));
        return m;
    }

    /** Loads the store's partner certificates once; after a failure, again at a scrape a minute later. */
    private void loadPartners() {
        if (store == null || partnersLoaded) return;
        long now = System.nanoTime();
        if (loadingSince != 0 && now - loadingSince < Duration.ofMinutes(1).toNanos()) return;
        loadingSince = now;
        Thread.ofVirtual().name("metrics-certificates").start(() -> {
            try {
                partners.load(store.ask(s -> s.certificatesSeen(null)), Instant.now().minus(PARTNERS_SINCE));
                partnersLoaded = true;
            } catch (Exception e) {
                log.warn("metrics: the partners' certificates seen before this start are not shown until seen "
                        + "again or the store answers: {}", e.getMessage());
            }
        });
    }

    /** The observer to hand to {@link Fanout#observe}. */
    public dev.postern.audit.Audit observer() { return meter; }

    /** The registry in the Prometheus text format, the certificate rows made anew first. */
    public synchronized String scrape() {
        loadPartners();
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (X509Certificate c : sources.ownCertificates().get()) {
            Instant end = c.getNotAfter().toInstant();
            rows.add(MultiGauge.Row.of(tags("own", "listeners", c.getSubjectX500Principal().getName(), sha256(c)),
                    end, Metrics::daysLeft));
        }
        for (PartnerCertificates.Seen s : partners.snapshot()) {
            rows.add(MultiGauge.Row.of(tags("partner", s.endpoint(), s.subject(), s.sha256()), s.notAfter(),
                    Metrics::daysLeft));
        }
        expiry.register(rows, true);
        return registry.scrape();
    }

    /** The sha256 label: the first 16 hex digits, enough to tell certificates apart and find them in the store. */
    private static Tags tags(String owner, String endpoint, String subject, String sha256) {
        return Tags.of("owner", owner, "endpoint", endpoint == null ? "" : endpoint, "subject",
                subject == null ? "" : subject, "sha256", sha256.substring(0, Math.min(16, sha256.length())));
    }

    private static double daysLeft(Instant notAfter) {
        return (notAfter.toEpochMilli() - System.currentTimeMillis()) / 1000.0 / DAY_SECONDS;
    }

    private static String sha256(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            return "unknown";
        }
    }

    private static double count(Spool.Census c, QueueState s) {
        return c == null ? Double.NaN : c.counts().getOrDefault(s, 0);
    }

    private static double oldestAge(Spool.Census c, QueueState s) {
        if (c == null) return Double.NaN;
        String id = c.oldest().get(s);
        if (id == null) return 0;
        return Math.max(0, System.currentTimeMillis() - QueueIds.time(id).toEpochMilli()) / 1000.0;
    }

    /** A value read at most once per {@code ttl}; a null value is read again at the next ask. */
    static final class Cached<T> {
        private final long ttlNanos;
        private final Supplier<T> read;
        private T value;
        private long readAt;
        private boolean loaded;

        Cached(Duration ttl, Supplier<T> read) {
            this.ttlNanos = ttl.toNanos();
            this.read = read;
        }

        synchronized T get() {
            long now = System.nanoTime();
            // a failed read (null) is kept for the TTL too: a spool that cannot be read is not scanned per gauge
            if (!loaded || now - readAt >= ttlNanos) {
                value = read.get();
                readAt = now;
                loaded = true;
            }
            return value;
        }
    }
}
