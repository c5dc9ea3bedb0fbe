package dev.postern.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

/** Reading and writing PEM files: certificate chains, PKCS#8 keys (and PKCS#1/SEC1 keys on read). */
public final class Pem {
    private Pem() {}

    /** Loads a key and chain from PEM files (they may be the same file). Throws {@link TlsConfigException} naming the file. */
    public static KeyMaterial load(Path certificateFile, Path keyFile) throws TlsConfigException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Reads all certificates of a PEM file (a CA bundle). */
    public static List<X509Certificate> readCertificates(Path file) throws TlsConfigException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Writes chain (PEM) and key (PKCS#8 PEM, file mode 0600 where the filesystem supports it), each atomically. */
    public static void write(KeyMaterial material, Path certificateFile, Path keyFile) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }
}
