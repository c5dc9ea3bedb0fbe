package dev.postern.tls;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.Audit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.Provider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's server TLS context, reloaded when a certificate or key file changes on disk, so that a renewed
 * certificate applies to new sessions without a restart. Sessions that are open keep the context they started with.
 *
 * <p>It serves one or more certificate/key pairs at once (typically an RSA and an ECDSA certificate) from one context,
 * whose key manager picks per handshake a certificate the client supports (see {@link TlsContexts#server(List)}).
 *
 * <p>{@link #get()} looks at the files' modification time, size and identity (inode) at most once per check interval
 * (default {@value #DEFAULT_INTERVAL_SECONDS} s), so it is cheap enough to call for every connection. When any pair
 * changed, the changed pairs are loaded with {@link Pem#load} and a new context is built with all pairs. When a changed
 * pair cannot be used (a half-written pair, a key that does not match, bad PEM), the previous set of certificates goes
 * on being served as a whole: such a change gets one more check interval to settle (certificate and key are rarely
 * replaced in the same instant), then one error line is logged for it, and nothing more until the files change again.
 */
public final class ReloadingServerContext implements Supplier<SSLContext> {
    private static final Logger log = LoggerFactory.getLogger(ReloadingServerContext.class);

    static final int DEFAULT_INTERVAL_SECONDS = 2;
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(DEFAULT_INTERVAL_SECONDS);

    /** A certificate chain file (PEM, leaf first) and its key file; they may be the same file. */
    public record Pair(Path certificate, Path key) {
        public Pair {
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(key, "key");
        }
    }

    private final List<Pair> pairs;
    /** The TLS implementation of every context built here; null: the JDK's default. */
    private final Provider provider;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    /** Receives a record of each certificate reloaded (set once by the gateway; NONE before). */
    private volatile Audit audit = Audit.NONE;

    /** What is served now, index i from pair i; replaced as a whole. */
    private record Served(List<KeyMaterial> materials, SSLContext context, List<Stamp> stamps) {}

    private volatile Served served;
    private volatile long nextCheck;
    // Guarded by this: the last stamps that failed to load, and whether their error was logged.
    private List<Stamp> failed;
    private boolean failureLogged;

    private ReloadingServerContext(List<Pair> pairs, Provider provider, Duration interval, LongSupplier nanoTime,
                                   Served initial) {
        this.pairs = pairs;
        this.provider = provider;
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
        this.served = initial;
        this.nextCheck = nanoTime.getAsLong() + intervalNanos;
    }

    /**
     * Loads the certificate chain and key (they may be one file) and watches them, checking every
     * {@link #DEFAULT_INTERVAL}.
     *
     * @throws TlsConfigException when they cannot be used now; the message names the file and the problem
     */
    public static ReloadingServerContext load(Path certificateFile, Path keyFile) throws TlsConfigException {
        return load(certificateFile, keyFile, DEFAULT_INTERVAL);
    }

    /** As {@link #load(Path, Path)}, checking for changes at most once per {@code interval} (zero: every call). */
    public static ReloadingServerContext load(Path certificateFile, Path keyFile, Duration interval)
            throws TlsConfigException {
        return load(certificateFile, keyFile, interval, System::nanoTime);
    }

    static ReloadingServerContext load(Path certificateFile, Path keyFile, Duration interval, LongSupplier nanoTime)
            throws TlsConfigException {
        return load(List.of(new Pair(certificateFile, keyFile)), interval, nanoTime);
    }

    /**
     * Loads every pair into one context that serves them all, and watches them, checking every
     * {@link #DEFAULT_INTERVAL}.
     *
     * @throws TlsConfigException when one cannot be used now; the message names the file and the problem
     */
    public static ReloadingServerContext load(List<Pair> pairs) throws TlsConfigException {
        return load(pairs, DEFAULT_INTERVAL);
    }

    /** As {@link #load(List)}, checking for changes at most once per {@code interval} (zero: every call). */
    public static ReloadingServerContext load(List<Pair> pairs, Duration interval) throws TlsConfigException {
        return load(pairs, null, interval, System::nanoTime);
    }

    /**
     * As {@link #load(List)}, every context (the first and each reloaded one) from {@code provider}'s TLS
     * implementation; null: the JDK's default.
     */
    public static ReloadingServerContext load(List<Pair> pairs, Provider provider) throws TlsConfigException {
        return load(pairs, provider, DEFAULT_INTERVAL, System::nanoTime);
    }

    static ReloadingServerContext load(List<Pair> pairs, Duration interval, LongSupplier nanoTime)
            throws TlsConfigException {
        return load(pairs, null, interval, nanoTime);
    }

    static ReloadingServerContext load(List<Pair> pairs, Provider provider, Duration interval, LongSupplier nanoTime)
            throws TlsConfigException {
        List<Pair> all = List.copyOf(pairs);
        if (all.isEmpty()) throw new IllegalArgumentException("no certificate to serve");
        if (interval.isNegative()) throw new IllegalArgumentException("negative interval " + interval);
        // The stamps are taken before reading: a change during the read is then seen at the next check, never missed.
        List<Stamp> stamps = stamps(all);
        List<KeyMaterial> materials = new ArrayList<>();
        for (Pair p : all) materials.add(Pem.load(p.certificate(), p.key()));
        // IllegalStateException: not a key the provider can use
        SSLContext context = TlsContexts.server(materials, provider);
        return new ReloadingServerContext(all, provider, interval, nanoTime, new Served(List.copyOf(materials), context, stamps));
    }

    /** The context for a new session: the current certificates, reloaded first when files changed. */
    @Override public SSLContext get() {
        long now = nanoTime.getAsLong();
        if (now - nextCheck >= 0) check(now);
        return served.context();
    }

    /** The key and chain of the first pair served now (for logs and tests; never log the key). */
    public KeyMaterial current() {
        return served.materials().getFirst();
    }

    /** The keys and chains served now, one per pair in order (for logs and tests; never log a key). */
    public List<KeyMaterial> currentAll() {
        return served.materials();
    }

    /** Tells {@code audit} of each certificate reloaded from now on. */
    public ReloadingServerContext auditTo(Audit audit) {
        this.audit = audit;
        return this;
    }

    /** The watched pairs, in order. */
    public List<Pair> pairs() { return pairs; }

    private synchronized void check(long now) {
        if (now - nextCheck < 0) return; // another thread checked meanwhile
        nextCheck = now + intervalNanos;
        try {
            List<Stamp> stamps = stamps(pairs);
            Served current = served;
            if (stamps.equals(current.stamps())) return;
            if (failureLogged && stamps.equals(failed)) return; // still the same broken files: said so already
            reload(stamps, current);
        } catch (RuntimeException e) {
            // Never let a reload take the listener down: whatever happened, the old context goes on serving.
            log.error("cannot reload the TLS certificates {}: {}; still serving {}", certificateFiles(), e.toString(),
                    describe(served.materials()));
        }
    }

    private void reload(List<Stamp> stamps, Served current) {
        List<KeyMaterial> materials = new ArrayList<>(current.materials());
        List<Integer> changed = new ArrayList<>();
        SSLContext context;
        try {
            for (int i = 0; i < pairs.size(); i++) {
                if (stamps.get(i).equals(current.stamps().get(i))) continue; // unchanged pair: keep what it served
                materials.set(i, Pem.load(pairs.get(i).certificate(), pairs.get(i).key()));
                changed.add(i);
            }
            context = TlsContexts.server(materials, provider);
        } catch (TlsConfigException | RuntimeException e) {
            if (!stamps.equals(failed)) {
                // First sight of these files: perhaps only one of the two files of a pair has been replaced yet.
                failed = stamps;
                failureLogged = false;
                log.debug("TLS certificate files changed but cannot be used yet: {}", e.getMessage());
                if (intervalNanos > 0) return;
            }
            if (!failureLogged) {
                failureLogged = true;
                log.error("cannot reload the TLS certificate: {}; still serving {}", e.getMessage(),
                        describe(current.materials()));
            }
            return;
        }
        served = new Served(List.copyOf(materials), context, stamps);
        failed = null;
        failureLogged = false;
        for (int i : changed) {
            log.info("reloaded the TLS certificate from {}: now serving {}; open sessions keep the previous one",
                    pairs.get(i).certificate(), describe(materials.get(i)));
            try {
                audit.record(new AdminRecord(java.time.Instant.now(), "gateway", AdminRecord.Action.CERTIFICATE_RELOAD,
                        pairs.get(i).certificate().toString(), "now serving " + describe(materials.get(i))));
            } catch (RuntimeException e) {
                // the sink must not throw; the reload is done either way
            }
        }
    }

    private List<Path> certificateFiles() {
        return pairs.stream().map(Pair::certificate).toList();
    }

    private static List<Stamp> stamps(List<Pair> pairs) {
        return pairs.stream().map(p -> Stamp.of(p.certificate(), p.key())).toList();
    }

    private static String describe(List<KeyMaterial> materials) {
        return materials.stream().map(ReloadingServerContext::describe).collect(Collectors.joining(" and "));
    }

    private static String describe(KeyMaterial m) {
        var leaf = m.leaf();
        return leaf.getSubjectX500Principal().getName() + " (" + leaf.getPublicKey().getAlgorithm() + ", expires "
                + leaf.getNotAfter().toInstant() + ", sha256 " + PeerCheck.sha256(encoded(leaf)) + ")";
    }

    private static byte[] encoded(java.security.cert.X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            return new byte[0];
        }
    }

    /** What identifies a version of the two files without reading them: modification time, size, file identity. */
    private record Stamp(FileStamp certificate, FileStamp key) {
        static Stamp of(Path certificate, Path key) {
            return new Stamp(FileStamp.of(certificate), FileStamp.of(key));
        }
    }

    private record FileStamp(FileTime modified, long size, Object fileKey) {
        static final FileStamp MISSING = new FileStamp(FileTime.fromMillis(0), -1, null);

        static FileStamp of(Path file) {
            try {
                // Follows symbolic links, so a re-pointed link (as certbot's live/ directory does) counts as a change.
                BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                return new FileStamp(a.lastModifiedTime(), a.size(), a.fileKey());
            } catch (IOException e) {
                return MISSING;
            }
        }
    }
}
