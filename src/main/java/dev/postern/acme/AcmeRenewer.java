package dev.postern.acme;

import dev.postern.config.Config;
import dev.postern.queue.RetrySchedule;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.PeerCheck;
import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the gateway's ACME certificates: at start, each slot (ECDSA, RSA or both) still holding the self-signed copy,
 * or a certificate whose names are not the configured ones, is ordered at once; an issued one is renewed when a third
 * of its lifetime is left ({@code [acme] renew_before} when set). A failed attempt is logged (one error line each,
 * with the ACME server's reason) and tried again after {@code retry_first}, doubled per failure up to
 * {@code retry_max}, while the certificate in place goes on being served. An issued certificate is written over the
 * slot's files, which the gateway's reload path serves from the next handshake.
 *
 * <p>One virtual thread sleeps until the next slot is due; {@code postern cert acme renew|revoke} runs an attempt on
 * the control socket's thread. Attempts never overlap.
 */
public final class AcmeRenewer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AcmeRenewer.class);
    /** The self-signed certificate a revoked one is replaced with, until the next issuance. */
    private static final Duration SELF_SIGNED_VALIDITY = Duration.ofDays(90);

    /** What {@code postern cert acme status} shows of one slot. */
    public record SlotStatus(String keyType, String subject, String issuer, Instant notBefore, Instant notAfter,
                             boolean issued, String sha256, Instant nextAttempt, int failures, String lastFailure) {}

    /** What {@code postern cert acme status} shows. */
    public record Status(String directory, String challenge, List<String> names, List<SlotStatus> slots) {}

    private final Config.Acme settings;
    private final List<String> names;
    private final AcmeFiles files;
    private final List<AcmeFiles.Slot> slots;
    private final AcmeIssuer issuer;
    private final Clock clock;
    /** retry_first, doubled per failure in a row, at most retry_max; the queue's rule (no lifetime: tried until it works). */
    private final RetrySchedule retries;
    // written under this (attempts never overlap), read by status() at any time: when each slot is tried next, its failures in a row and the last one's reason
    private final Map<String, Instant> next = new ConcurrentHashMap<>();
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();
    private final Map<String, String> lastFailure = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private volatile Thread thread;

    /**
     * @param names the certificate's names, the gateway's hostname first, lookup form
     */
    public AcmeRenewer(Config.Acme settings, List<String> names, AcmeFiles files, Clock clock) {
        this.settings = settings;
        this.names = List.copyOf(new java.util.LinkedHashSet<>(names));
        this.files = files;
        this.slots = files.slots(settings.keyType());
        this.issuer = new AcmeIssuer(settings, files);
        this.clock = clock;
        this.retries = new RetrySchedule(settings.retryFirst(), settings.retryMax(), Duration.ZERO);
    }

    /** The hostname and {@code [acme] names}, without repeats. */
    public static List<String> names(Config config) {
        List<String> all = new ArrayList<>();
        all.add(config.hostname());
        all.addAll(config.tls().acme().names());
        return List.copyOf(new java.util.LinkedHashSet<>(all));
    }

    /** The slots served, each prepared with a self-signed copy when it has no pair yet. */
    public List<AcmeFiles.Slot> prepare() throws IOException {
        files.prepare(slots, this::selfSigned);
        return slots;
    }

    public synchronized void start() {
        for (AcmeFiles.Slot s : slots) next.put(s.name(), due(s));
        thread = Thread.ofVirtual().name("acme-renewer").start(this::run);
    }

    private void run() {
        while (!closed) {
            Instant soonest = next.values().stream().min(Instant::compareTo).orElse(Instant.MAX);
            long waitMillis = Duration.between(clock.instant(), soonest).toMillis();
            if (waitMillis > 0) {
                try {
                    Thread.sleep(Math.min(waitMillis, Duration.ofHours(1).toMillis())); // close() interrupts it
                } catch (InterruptedException e) {
                    return;
                }
                continue;
            }
            for (AcmeFiles.Slot s : slots) {
                if (closed) return;
                attemptIfDue(s);
            }
        }
    }

    /**
     * The scheduled attempt, due checked again under the lock: a {@code renew} from the command line that ran while
     * this thread waited for it has moved the slot's date, and must not be followed by a second order at once.
     */
    private synchronized void attemptIfDue(AcmeFiles.Slot s) {
        if (!next.get(s.name()).isAfter(clock.instant())) attempt(s);
    }

    /** Orders a certificate for every slot now, whatever their dates; one line per slot. */
    public List<String> renewNow() {
        List<String> lines = new ArrayList<>();
        for (AcmeFiles.Slot s : slots) lines.add(s.name() + ": " + attempt(s));
        return lines;
    }

    /**
     * Revokes every issued certificate served (each replaced at once by a self-signed one, so a revoked certificate
     * is never served again), then orders new ones; one line per slot.
     */
    public synchronized List<String> revoke() {
        List<String> lines = new ArrayList<>();
        for (AcmeFiles.Slot s : slots) {
            KeyMaterial m = files.current(s).orElse(null);
            if (m == null || !AcmeFiles.issued(m.leaf())) {
                lines.add(s.name() + ": no issued certificate to revoke");
                continue;
            }
            try {
                issuer.revoke(m.leaf());
                files.install(s, selfSigned(s.keyType()));
                log.atWarn().addKeyValue("key_type", s.name()).addKeyValue("serial", serial(m.leaf()))
                        .log("acme: certificate revoked; self-signed served until the next issuance");
                lines.add(s.name() + ": revoked serial " + serial(m.leaf()) + "; " + attempt(s));
            } catch (AcmeIssuer.Failure | IOException e) {
                log.atError().addKeyValue("key_type", s.name()).addKeyValue("reason", e.getMessage())
                        .log("acme: revocation failed");
                lines.add(s.name() + ": revocation failed: " + e.getMessage());
            }
        }
        return lines;
    }

    /** One issuance for {@code s}: installed and scheduled for renewal, or failed and scheduled after a backoff. */
    private synchronized String attempt(AcmeFiles.Slot s) {
        Instant started = clock.instant();
        try {
            KeyMaterial m = issuer.issue(names, s.keyType());
            files.install(s, m);
            files.noteIssuer(s, settings.directory());
            failures.remove(s.name());
            lastFailure.remove(s.name());
            Instant renewAt = renewAt(m.leaf());
            next.put(s.name(), renewAt);
            X509Certificate leaf = m.leaf();
            log.atInfo().addKeyValue("key_type", s.name()).addKeyValue("names", String.join(",", names))
                    .addKeyValue("issuer", leaf.getIssuerX500Principal().getName())
                    .addKeyValue("serial", serial(leaf)).addKeyValue("not_after", leaf.getNotAfter().toInstant())
                    .addKeyValue("renew_at", renewAt)
                    .addKeyValue("took_ms", Duration.between(started, clock.instant()).toMillis())
                    .log("acme: certificate issued; served from the next handshake");
            return "issued serial " + serial(leaf) + ", valid until " + leaf.getNotAfter().toInstant()
                    + ", renewal at " + renewAt;
        } catch (AcmeIssuer.Failure | IOException | RuntimeException e) {
            int n = failures.merge(s.name(), 1, Integer::sum);
            Instant retry = retries.next(n, clock.instant());
            next.put(s.name(), retry);
            String reason = e.getMessage() == null ? e.toString() : e.getMessage();
            lastFailure.put(s.name(), reason);
            log.atError().addKeyValue("key_type", s.name()).addKeyValue("names", String.join(",", names))
                    .addKeyValue("failures", n).addKeyValue("retry_at", retry).addKeyValue("reason", reason)
                    .log("acme: no certificate obtained; the current one goes on being served");
            return "failed (" + reason + "); next attempt at " + retry;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /**
     * When a slot is due: now for a self-signed copy, a certificate for other names or from another ACME directory,
     * else its renewal time.
     */
    private Instant due(AcmeFiles.Slot s) {
        KeyMaterial m = files.current(s).orElse(null);
        if (m == null || !AcmeFiles.issued(m.leaf()) || !sameNames(m.leaf())
                || !files.issuedBy(s, settings.directory())) return clock.instant();
        return renewAt(m.leaf());
    }

    /** {@code renew_before} before the end, else when a third of the lifetime is left. */
    Instant renewAt(X509Certificate leaf) {
        Instant start = leaf.getNotBefore().toInstant();
        Instant end = leaf.getNotAfter().toInstant();
        Duration before = settings.renewBefore() != null ? settings.renewBefore()
                : Duration.between(start, end).dividedBy(3);
        return end.minus(before);
    }

    private boolean sameNames(X509Certificate leaf) {
        Set<String> have = new HashSet<>();
        try {
            var sans = leaf.getSubjectAlternativeNames();
            if (sans != null) for (List<?> san : sans) if (Integer.valueOf(2).equals(san.get(0))) {
                have.add(san.get(1).toString().toLowerCase(java.util.Locale.ROOT));
            }
        } catch (CertificateParsingException e) {
            return false;
        }
        return have.equals(new HashSet<>(names));
    }

    private KeyMaterial selfSigned(Certificates.KeyType type) {
        return Certificates.selfSigned(names, type, SELF_SIGNED_VALIDITY);
    }

    /** Never waits for an attempt under way. */
    public Status status() {
        List<SlotStatus> out = new ArrayList<>();
        for (AcmeFiles.Slot s : slots) {
            KeyMaterial m = files.current(s).orElse(null);
            X509Certificate leaf = m == null ? null : m.leaf();
            out.add(new SlotStatus(s.name(), leaf == null ? null : leaf.getSubjectX500Principal().getName(),
                    leaf == null ? null : leaf.getIssuerX500Principal().getName(),
                    leaf == null ? null : leaf.getNotBefore().toInstant(),
                    leaf == null ? null : leaf.getNotAfter().toInstant(), leaf != null && AcmeFiles.issued(leaf),
                    leaf == null ? null : sha256(leaf), next.getOrDefault(s.name(), due(s)),
                    failures.getOrDefault(s.name(), 0), lastFailure.get(s.name())));
        }
        return new Status(settings.directory().toString(), settings.challenge().configName(), names, out);
    }

    private static String serial(X509Certificate c) {
        return c.getSerialNumber().toString(16);
    }

    private static String sha256(X509Certificate c) {
        try {
            return PeerCheck.sha256(c.getEncoded());
        } catch (CertificateEncodingException e) {
            return null;
        }
    }

    @Override public void close() {
        closed = true;
        Thread t = thread;
        if (t != null) t.interrupt();
    }
}
