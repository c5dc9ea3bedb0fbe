package dev.postern.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's server TLS context, reloaded when its certificate or key file changes on disk, so that a renewed
 * certificate applies to new sessions without a restart. Sessions that are open keep the context they started with.
 *
 * <p>{@link #get()} looks at the files' modification time, size and identity (inode) at most once per check interval
 * (default {@value #DEFAULT_INTERVAL_SECONDS} s), so it is cheap enough to call for every connection. On a change
 * the files are loaded with {@link Pem#load} and a new context is built with {@link TlsContexts#server}. When the new
 * files cannot be used (a half-written pair, a key that does not match, bad PEM), the previous certificate goes on
 * being served: such a pair gets one more check interval to settle (certificate and key are rarely replaced in the
 * same instant), then one error line is logged for it, and nothing more until the files change again.
 */
public final class ReloadingServerContext implements Supplier<SSLContext> {
    private static final Logger log = LoggerFactory.getLogger(ReloadingServerContext.class);

    static final int DEFAULT_INTERVAL_SECONDS = 2;
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(DEFAULT_INTERVAL_SECONDS);

    private final Path certificateFile;
    private final Path keyFile;
    private final long intervalNanos;
    private final LongSupplier nanoTime;

    /** What is served now; replaced as a whole. */
    private record Served(KeyMaterial material, SSLContext context, Stamp stamp) {}

    private volatile Served served;
    private volatile long nextCheck;
    // Guarded by this: the last stamp that failed to load, and whether its error was logged.
    private Stamp failed;
    private boolean failureLogged;

    private ReloadingServerContext(Path certificateFile, Path keyFile, Duration interval, LongSupplier nanoTime,
                                   Served initial) {
        this.certificateFile = certificateFile;
        this.keyFile = keyFile;
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
        Objects.requireNonNull(certificateFile, "certificateFile");
        Objects.requireNonNull(keyFile, "keyFile");
        if (interval.isNegative()) throw new IllegalArgumentException("negative interval " + interval);
        // The stamp is taken before reading: a change during the read is then seen at the next check, never missed.
        Stamp stamp = Stamp.of(certificateFile, keyFile);
        KeyMaterial material = Pem.load(certificateFile, keyFile);
        SSLContext context = TlsContexts.server(material); // IllegalStateException: not a key JSSE can use
        return new ReloadingServerContext(certificateFile, keyFile, interval, nanoTime,
                new Served(material, context, stamp));
    }

    /** The context for a new session: the current certificate, reloaded first when the files changed. */
    @Override public SSLContext get() {
        long now = nanoTime.getAsLong();
        if (now - nextCheck >= 0) check(now);
        return served.context();
    }

    /** The key and chain served now (for logs and tests; never log the key). */
    public KeyMaterial current() {
        return served.material();
    }

    public Path certificateFile() { return certificateFile; }

    public Path keyFile() { return keyFile; }

    private synchronized void check(long now) {
        if (now - nextCheck < 0) return; // another thread checked meanwhile
        nextCheck = now + intervalNanos;
        try {
            Stamp stamp = Stamp.of(certificateFile, keyFile);
            Served current = served;
            if (stamp.equals(current.stamp())) return;
            if (failureLogged && stamp.equals(failed)) return; // still the same broken pair: said so already
            reload(stamp, current);
        } catch (RuntimeException e) {
            // Never let a reload take the listener down: whatever happened, the old context goes on serving.
            log.error("cannot reload the TLS certificate {}: {}; still serving {}", certificateFile, e.toString(),
                    describe(served.material()));
        }
    }

    private void reload(Stamp stamp, Served current) {
        KeyMaterial material;
        SSLContext context;
        try {
            material = Pem.load(certificateFile, keyFile);
            context = TlsContexts.server(material);
        } catch (TlsConfigException | RuntimeException e) {
            if (!stamp.equals(failed)) {
                // First sight of this pair: perhaps only one of the two files has been replaced yet.
                failed = stamp;
                failureLogged = false;
                log.debug("TLS certificate files changed but cannot be used yet: {}", e.getMessage());
                if (intervalNanos > 0) return;
            }
            if (!failureLogged) {
                failureLogged = true;
                log.error("cannot reload the TLS certificate: {}; still serving {}", e.getMessage(),
                        describe(current.material()));
            }
            return;
        }
        served = new Served(material, context, stamp);
        failed = null;
        failureLogged = false;
        log.info("reloaded the TLS certificate from {}: now serving {}; open sessions keep the previous one",
                certificateFile, describe(material));
    }

    private static String describe(KeyMaterial m) {
        var leaf = m.leaf();
        return leaf.getSubjectX500Principal().getName() + " (expires " + leaf.getNotAfter().toInstant() + ", sha256 "
                + PeerCheck.sha256(encoded(leaf)) + ")";
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
