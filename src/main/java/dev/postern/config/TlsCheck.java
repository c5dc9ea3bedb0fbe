package dev.postern.config;

import java.nio.file.Path;

/**
 * What the loader asks of certificate and key files beyond "readable": that each holds what its key expects, and that
 * a key belongs to its certificate. {@code config} does not parse PEM (that is {@code tls}, which uses {@code config});
 * the commands that start or check a gateway pass an implementation over {@code tls.Pem} ({@code cli/TlsFileCheck}).
 * Every method returns null when all is well, else the reason in a few words without the file name, e.g. "not a PEM
 * certificate (it holds a private key)".
 */
public interface TlsCheck {
    /** Why {@code file} is not a PEM certificate chain or CA bundle Postern can read. */
    String certificates(Path file);

    /** Why {@code file} is not an unencrypted PEM private key Postern can use. */
    String privateKey(Path file);

    /** Why {@code key} is not the private key of {@code certificate}'s first certificate (both already checked). */
    String mismatch(Path certificate, Path key);

    /** Why {@code certificate}'s first certificate, usable, is not valid now (expired, not yet valid): a warning. */
    String validity(Path certificate);

    /** Why the TLS implementation {@code provider} cannot be used on this machine. */
    String unavailable(Config.TlsProvider provider);

    /** Readable is enough: the loader of commands that neither start a gateway nor check its file. */
    TlsCheck NONE = new TlsCheck() {
        @Override public String certificates(Path file) { return null; }
        @Override public String privateKey(Path file) { return null; }
        @Override public String mismatch(Path certificate, Path key) { return null; }
        @Override public String validity(Path certificate) { return null; }
        @Override public String unavailable(Config.TlsProvider provider) { return null; }
    };
}
