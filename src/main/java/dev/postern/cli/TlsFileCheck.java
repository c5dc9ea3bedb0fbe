package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.config.TlsCheck;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsProviders;
import java.nio.file.Path;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Date;

/**
 * {@link TlsCheck} over {@code tls.Pem}: the files read as {@code serve} (and each reload, each partner's first
 * STARTTLS) reads them, so that {@code config check} and the start of {@code serve} refuse what they would refuse.
 */
final class TlsFileCheck implements TlsCheck {
    private final Clock clock;

    TlsFileCheck(Clock clock) { this.clock = clock; }

    /** The check {@code config check} and {@code serve} load with. */
    static final TlsFileCheck SYSTEM = new TlsFileCheck(Clock.systemUTC());

    @Override public String certificates(Path file) {
        return reason(file, Pem::readCertificates);
    }

    @Override public String privateKey(Path file) {
        return reason(file, Pem::readPrivateKey);
    }

    private interface Read {
        Object read(Path file) throws TlsConfigException;
    }

    /** Null when {@code read} reads {@code file}, else why not. */
    private static String reason(Path file, Read read) {
        try {
            read.read(file);
            return null;
        } catch (TlsConfigException e) {
            return reason(file, e);
        }
    }

    @Override public String mismatch(Path certificate, Path key) {
        try {
            Pem.load(certificate, key);
            return null;
        } catch (TlsConfigException e) {
            if (e.getMessage().startsWith(key + ": ")) return reason(key, e); // e.g. a DSA key Postern cannot sign with
            String leaf;
            try {
                java.security.PublicKey k = Pem.readCertificates(certificate).getFirst().getPublicKey();
                leaf = k instanceof java.security.interfaces.EdECKey ed ? ed.getParams().getName() : k.getAlgorithm();
            } catch (TlsConfigException unreadable) {
                return reason(certificate, unreadable);
            }
            return "it does not match the certificate's " + leaf + " public key";
        }
    }

    @Override public String validity(Path certificate) {
        X509Certificate leaf;
        try {
            leaf = Pem.readCertificates(certificate).getFirst();
        } catch (TlsConfigException e) {
            return null; // reported as a problem already
        }
        try {
            leaf.checkValidity(Date.from(clock.instant()));
            return null;
        } catch (CertificateExpiredException e) {
            return "the certificate expired on " + leaf.getNotAfter().toInstant() + "; peers that verify it will "
                    + "refuse it";
        } catch (CertificateNotYetValidException e) {
            return "the certificate is not valid before " + leaf.getNotBefore().toInstant() + "; peers that "
                    + "verify it will refuse it until then (is this machine's clock right?)";
        }
    }

    @Override public String unavailable(Config.TlsProvider provider) {
        try {
            TlsProviders.of(provider);
            return null;
        } catch (TlsConfigException e) {
            return "Conscrypt's native library does not load here: " + e.getCause();
        }
    }

    /** Pem's message without the file name it starts with (the config line names the key and the file). */
    private static String reason(Path file, TlsConfigException e) {
        String m = e.getMessage();
        return m.startsWith(file + ": ") ? m.substring(file.toString().length() + 2) : m;
    }
}
