package dev.postern.acme;

import dev.postern.config.Config;
import dev.postern.files.DurableFiles;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * What ACME keeps in {@code data/acme/} (directory 0700, every file 0600 through {@link DurableFiles} and
 * {@link Pem}): the account key ({@code account.key}, EC P-256, made once) and the served pairs,
 * {@code ecdsa.crt}/{@code ecdsa.key} and {@code rsa.crt}/{@code rsa.key}, each with the directory URL that issued it
 * ({@code ecdsa.directory}). Until the first issuance a pair holds a
 * copy of the self-signed certificate, so the gateway's reload path ({@code tls.ReloadingServerContext}) watches the
 * same two files from the start and serves each issued certificate without a restart.
 */
public final class AcmeFiles {
    /** One served pair: which key type, its files. */
    public record Slot(String name, Certificates.KeyType keyType, Path certificate, Path key) {}

    private final Path dir;

    public AcmeFiles(Path dataDir) {
        this.dir = dataDir.resolve("acme");
    }

    public Path dir() { return dir; }

    /** The pairs {@code [acme] key_type} asks for, ECDSA first. */
    public List<Slot> slots(Config.AcmeKeyType type) {
        Slot ec = new Slot("ecdsa", Certificates.KeyType.EC_P256, dir.resolve("ecdsa.crt"), dir.resolve("ecdsa.key"));
        Slot rsa = new Slot("rsa", Certificates.KeyType.RSA_2048, dir.resolve("rsa.crt"), dir.resolve("rsa.key"));
        return switch (type) {
            case ECDSA -> List.of(ec);
            case RSA -> List.of(rsa);
            case BOTH -> List.of(ec, rsa);
        };
    }

    /** Makes the directory and, for each slot without a usable pair, puts {@code selfSigned}'s pair of its type there. */
    public void prepare(List<Slot> slots, java.util.function.Function<Certificates.KeyType, KeyMaterial> selfSigned)
            throws IOException {
        DurableFiles.SYSTEM.createDirectories(dir);
        for (Slot s : slots) {
            if (current(s).isEmpty()) Pem.writePrivate(selfSigned.apply(s.keyType()), s.certificate(), s.key());
        }
    }

    /** The pair in a slot now, if both files read and match. */
    public Optional<KeyMaterial> current(Slot s) {
        if (!Files.exists(s.certificate()) || !Files.exists(s.key())) return Optional.empty();
        try {
            return Optional.of(Pem.load(s.certificate(), s.key()));
        } catch (TlsConfigException e) {
            return Optional.empty();
        }
    }

    /** Installs an issued pair: the reload path serves it at its next check (a few seconds). */
    public void install(Slot s, KeyMaterial issued) throws IOException {
        DurableFiles.SYSTEM.createDirectories(dir);
        // two renames: the reload path gives a pair seen half-replaced one more check before it calls it broken
        Pem.writePrivate(issued, s.certificate(), s.key());
    }

    /**
     * Notes which ACME directory issued a slot's pair ({@code ecdsa.directory}, beside it): a certificate of another
     * directory (staging before production, a CA changed) is not the one configured and is ordered again.
     */
    public void noteIssuer(Slot s, java.net.URI directory) throws IOException {
        DurableFiles.SYSTEM.write(directoryFile(s), (directory + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Whether the slot's pair was issued by {@code directory}, as {@link #noteIssuer} noted (false when not noted). */
    public boolean issuedBy(Slot s, java.net.URI directory) {
        try {
            return Files.readString(directoryFile(s)).strip().equals(directory.toString());
        } catch (IOException e) {
            return false;
        }
    }

    private Path directoryFile(Slot s) {
        return dir.resolve(s.name() + ".directory");
    }

    /** Whether a certificate came from an ACME server, not from us: ours are self-signed (issuer = subject). */
    public static boolean issued(X509Certificate leaf) {
        return !leaf.getIssuerX500Principal().equals(leaf.getSubjectX500Principal());
    }

    /** The account key, made (EC P-256) and written 0600 at first use. */
    public KeyPair accountKey() throws IOException {
        Path file = dir.resolve("account.key");
        DurableFiles.SYSTEM.createDirectories(dir);
        if (Files.exists(file)) {
            try {
                PrivateKey key = Pem.readPrivateKey(file);
                return new KeyPair(Certificates.publicKey(key), key);
            } catch (TlsConfigException e) {
                throw new IOException(file + ": " + e.getMessage() + " (move it away to make a new ACME account)", e);
            }
        }
        KeyPair pair = Certificates.generateKeyPair(Certificates.KeyType.EC_P256);
        Pem.writePrivateKey(pair.getPrivate(), file);
        return pair;
    }
}
