package dev.postern.alerts;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.AlertRecord;
import dev.postern.audit.Audit;
import dev.postern.audit.AuditRecord;
import dev.postern.audit.SeenCertificate;
import dev.postern.config.Config;
import dev.postern.logging.Untrusted;
import dev.postern.tls.Pem;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The alert engine. As an {@link Audit} observer it only queues each record (bounded; when full the record is not
 * judged and counted, mail never waits); one virtual thread judges the records and, once a minute, the queue and the
 * certificates ({@link Conditions}). Each state change is handed to the audit (so it is stored as any record), logged,
 * and sent to the configured channels, which run on threads of their own.
 */
public final class Alerts implements Audit, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Alerts.class);
    /** Records waiting to be judged, at most. */
    static final int QUEUE = 10_000;

    /** Queues a message of the gateway's own ({@code outbound.Scheduler#submit}); returns the queue id. */
    @FunctionalInterface
    public interface Mailer {
        String submit(String sender, List<String> recipients, byte[] content, String messageId, String origin)
                throws IOException;
    }

    /** The queue's figures now: how many messages, and when the oldest arrived (null: none). */
    public record QueueFigures(int size, Instant oldest) { }

    @FunctionalInterface
    public interface QueueSource {
        QueueFigures now() throws IOException;
    }

    /** The store's peer certificates that end before a time (null: all of them). */
    @FunctionalInterface
    public interface SeenSource {
        List<SeenCertificate> expiringBefore(Instant before) throws Exception;
    }

    /**
     * What the engine is wired to.
     *
     * @param dataDir         where {@code alerts/state.json} lives
     * @param hostname        the gateway's hostname (postmaster@ of the alert mail)
     * @param gateway         the gateway's name in alerts ([audit] gateway_name, else the hostname)
     * @param config          {@code [alerts]} in force (read per use: a reload applies)
     * @param audit           where the state changes go (the fan-out: the store, the metrics)
     * @param mailer          how alert mail is queued
     * @param queue           the queue's figures
     * @param ownCertificates the certificate files the gateway serves ([tls], [mta_sts.publish])
     * @param seen            the store's certificates seen, asked once at start; null: none
     */
    public record Wiring(Path dataDir, String hostname, String gateway, Supplier<Config.Alerts> config, Audit audit,
                         Mailer mailer, QueueSource queue, Supplier<List<Path>> ownCertificates, SeenSource seen) { }

    private record Tick(boolean start) { }

    /** Ends the judging thread (never an interrupt: it may be writing the spool, which an interrupt would close). */
    private static final Object STOP = new Object();

    private final Wiring w;
    private final Conditions conditions;
    private final BlockingQueue<Object> inbox = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private volatile List<AlertRecord> active;
    private volatile boolean closed;
    private Thread worker;
    private Thread ticker;
    private Webhook webhook;
    private Instant ownChecked = Instant.EPOCH;
    /** How often the queue and the certificates are checked; tests make it shorter. */
    Duration checkEvery = Duration.ofMinutes(1);
    /** The webhook's timeout and delays between tries; tests make them shorter. */
    Duration webhookTimeout = Webhook.TIMEOUT;
    List<Duration> webhookBackoff = Webhook.BACKOFF;

    Alerts(Wiring wiring) {
        this.w = wiring;
        Map<String, Firing> kept;
        try {
            kept = AlertState.read(wiring.dataDir());
        } catch (IOException e) {
            // a damaged file must not stop the gateway: start from nothing (and say so); it is rewritten at the
            // next change
            log.warn("alerts: {}: starting with no alert firing", e.getMessage());
            kept = Map.of();
        }
        this.conditions = new Conditions(kept, limits(wiring.config().get()));
        this.active = List.copyOf(kept.values().stream().map(Firing::record).toList());
    }

    /** Starts the engine: the judging thread, a first check (certificates, store, queue), then one per minute. */
    public static Alerts start(Wiring wiring) {
        Alerts a = new Alerts(wiring);
        a.begin();
        return a;
    }

    void begin() {
        if (!active.isEmpty()) {
            log.atInfo().addKeyValue("firing", active.size()).log("alerts: still firing from before the restart");
        }
        worker = Thread.ofVirtual().name("alerts").start(this::run);
        inbox.offer(new Tick(true));
        ticker = Thread.ofVirtual().name("alerts-tick").start(() -> {
            while (!closed) {
                try {
                    Thread.sleep(checkEvery);
                } catch (InterruptedException e) {
                    return;
                }
                inbox.offer(new Tick(false)); // when full, the next tick does it
            }
        });
    }

    /** The observer: queues the record and returns at once. */
    @Override public void record(AuditRecord record) {
        if (record instanceof AlertRecord || closed) return;
        if (!inbox.offer(record) && dropped.incrementAndGet() % 1000 == 1) {
            log.atWarn().addKeyValue("dropped", dropped.get())
                    .log("alerts: records arrive faster than they are judged; some were not judged");
        }
    }

    /** Checks the queue and the certificates now instead of at the next minute (after a reload; tests). */
    public void checkNow() {
        inbox.offer(new Tick(false));
    }

    /** The alerts firing now, in the order they fired (their FIRING records). */
    public List<AlertRecord> active() { return active; }

    /** Records not judged because the queue was full, since start. */
    public long dropped() { return dropped.get(); }

    private void run() {
        while (!closed) {
            Object next;
            try {
                next = inbox.take();
            } catch (InterruptedException e) {
                return;
            }
            if (next == STOP) return;
            try {
                List<AlertRecord> changes = switch (next) {
                    case Tick t -> check(t.start());
                    case AdminRecord a when a.action() == AdminRecord.Action.CERTIFICATE_RELOAD -> {
                        List<AlertRecord> c = new ArrayList<>(conditions.record(a));
                        c.addAll(ownCertificates());
                        yield c;
                    }
                    case AuditRecord r -> conditions.record(r);
                    default -> List.of();
                };
                publish(changes);
            } catch (RuntimeException e) {
                log.warn("alerts: judging a {} failed: {}", next.getClass().getSimpleName(), e.toString());
            }
        }
    }

    private List<AlertRecord> check(boolean start) {
        conditions.limits(limits(w.config().get()));
        Instant now = Instant.now();
        List<AlertRecord> out = new ArrayList<>();
        if (start && w.seen() != null) {
            try {
                // all of them, not only those ending soon: a renewal seen later at the same endpoint counts
                out.addAll(conditions.certificatesSeen(w.seen().expiringBefore(null), now));
            } catch (Exception e) {
                log.warn("alerts: cannot read the certificates seen from the audit store: {}", e.getMessage());
            }
        }
        if (start || Duration.between(ownChecked, now).compareTo(Duration.ofDays(1)) >= 0) {
            out.addAll(ownCertificates());
        }
        try {
            QueueFigures q = w.queue().now();
            out.addAll(conditions.queue(q.size(), q.oldest(), now));
        } catch (IOException e) {
            log.warn("alerts: cannot read the queue: {}", e.getMessage());
        }
        out.addAll(conditions.unseen(now));
        if (out.isEmpty() && conditions.dirty()) save(); // "last seen" of partner certificates
        return out;
    }

    private List<AlertRecord> ownCertificates() {
        Instant now = Instant.now();
        ownChecked = now;
        List<Conditions.Own> own = new ArrayList<>();
        for (Path p : w.ownCertificates().get()) {
            try {
                X509Certificate c = Pem.readCertificates(p).getFirst();
                own.add(new Conditions.Own(p.toString(), c.getSubjectX500Principal().getName(),
                        c.getNotAfter().toInstant(), null));
            } catch (dev.postern.tls.TlsConfigException | RuntimeException e) {
                own.add(new Conditions.Own(p.toString(), null, null, e.getMessage()));
            }
        }
        return conditions.ownCertificates(own, now);
    }

    private void publish(List<AlertRecord> changes) {
        if (changes.isEmpty()) return;
        save();
        active = List.copyOf(conditions.firing().values().stream().map(Firing::record).toList());
        Config.Alerts c = w.config().get();
        for (AlertRecord r : changes) {
            w.audit().record(r);
            (r.state() == AlertRecord.State.FIRING ? log.atWarn() : log.atInfo())
                    .addKeyValue("key", Untrusted.clip(r.key())).addKeyValue("kind", r.kind())
                    .addKeyValue("state", r.state()).addKeyValue("subject", Untrusted.clip(r.subject()))
                    .addKeyValue("summary", Untrusted.clip(r.summary())).log("alert");
            if (c.mailTo() != null) mail(c.mailTo(), r);
            if (c.webhook() != null) webhook(c.webhook()).send(Webhook.Payload.of(w.gateway(), r));
        }
    }

    private void mail(String to, AlertRecord r) {
        String id = AlertMail.messageId(w.hostname(), r);
        try {
            // the null reverse path: an alert mail never bounces, so it can never start a loop of its own
            String queueId = w.mailer().submit("", List.of(to), AlertMail.message(w.hostname(), w.gateway(), to, id,
                    r), id, "alert");
            conditions.ownMail(queueId);
        } catch (IOException | RuntimeException e) {
            log.atWarn().addKeyValue("key", Untrusted.clip(r.key())).addKeyValue("to", to)
                    .addKeyValue("error", e.toString()).log("alert mail not queued");
        }
    }

    private Webhook webhook(URI uri) {
        if (webhook == null || !webhook.uri().equals(uri)) {
            if (webhook != null) webhook.close();
            webhook = new Webhook(uri, webhookTimeout, webhookBackoff);
        }
        return webhook;
    }

    private void save() {
        try {
            AlertState.write(w.dataDir(), conditions.firing());
            conditions.saved();
        } catch (IOException e) {
            log.warn("alerts: cannot write {}: {}", AlertState.file(w.dataDir()), e.getMessage());
        }
    }

    private static Conditions.Limits limits(Config.Alerts a) {
        return new Conditions.Limits(a.certificateWarning(), a.queueSize(), a.queueAge());
    }

    /** Stops judging; what fires is kept in the state file for the next start. */
    @Override public void close() {
        closed = true;
        if (ticker != null) ticker.interrupt();
        if (worker != null) {
            while (!inbox.offer(STOP)) inbox.poll(); // full: what was not judged yet is given up
            try {
                worker.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (conditions.dirty()) save();
        if (webhook != null) webhook.close();
    }
}
