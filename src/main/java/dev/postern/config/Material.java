package dev.postern.config;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * The file keys of certificates, private keys and CA bundles: readable, and holding what the key expects (through
 * {@link TlsCheck}), so that {@code config check} finds what {@code serve}, a reload or the first STARTTLS with a
 * partner would otherwise find later.
 */
final class Material {
    private final Function<String, Path> readableFile;
    private final TlsCheck check;

    Material(Function<String, Path> readableFile, TlsCheck check) {
        this.readableFile = readableFile;
        this.check = check;
    }

    /** A certificate (chain, leaf first) Postern presents. */
    Path certificate(String text) {
        return checked(text, "a PEM certificate", check::certificates);
    }

    /** The private key of a certificate Postern presents. */
    Path key(String text) {
        return checked(text, "a PEM private key", check::privateKey);
    }

    /** CA certificates Postern trusts for a peer. */
    Path caFile(String text) {
        return checked(text, "a PEM file of CA certificates", check::certificates);
    }

    private Path checked(String text, String expected, Function<Path, String> why) {
        Path p = readableFile.apply(text);
        String trouble = why.apply(p);
        if (trouble == null) return p;
        String where = p.toString().equals(text) ? "" : p + ": ";
        throw new IllegalArgumentException(Syntax.invalid(expected, text).getMessage() + " (" + where + trouble + ")");
    }

    /**
     * A certificate and its key, both read (null when either was missing or reported already): the key must be the
     * certificate's (compared by signing a challenge, RSA, EC or Ed25519 alike); a certificate outside its validity is
     * a warning, not a problem, as Postfix starts with one too (see docs/operations.md).
     */
    void pair(Table t, String certificateKey, Path certificate, String keyKey, Path key, Problems problems) {
        if (certificate == null || key == null) return;
        String mismatch = check.mismatch(certificate, key);
        if (mismatch != null) {
            t.problem(keyKey, "expected the private key of " + t.key(certificateKey) + ", got "
                    + Table.render(t.raw(keyKey)) + " (" + mismatch + ")");
            return;
        }
        String validity = check.validity(certificate);
        if (validity != null) problems.warn(t.key(certificateKey), validity);
    }

    /** A TLS implementation named by {@code key} must load here: Conscrypt is a native library. */
    void provider(Table t, String key, Config.TlsProvider provider) {
        String why = provider == null || !t.has(key) ? null : check.unavailable(provider);
        if (why != null) t.problem(key, "expected a TLS provider that works on this machine, got "
                + Table.render(t.raw(key)) + " (" + why + ")");
    }
}
