package dev.postern.receipts;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.KeyUse;
import dev.postern.files.DurableFiles;
import dev.postern.tls.Certificates;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;

/**
 * The gateway's receipt signing key: an EC P-256 key made on first use at {@code data/receipts/signing-key.pem}
 * (PKCS#8, mode 0600, written durably) and reused afterwards. Only the private key is stored; the public key is
 * derived from it, so the two can never disagree. The key is never logged nor printed; {@link #publicPem()} and
 * {@link #jwk()} hold only the public half.
 */
public final class ReceiptKey {
    /** Where the key lives under the data directory. */
    public static final String FILE = "receipts/signing-key.pem";

    private final ECPrivateKey privateKey;
    private final ECPublicKey publicKey;
    private final ECKey jwk;

    private ReceiptKey(ECPrivateKey privateKey, ECPublicKey publicKey) throws ReceiptException {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
        this.jwk = jwk(publicKey);
    }

    /** The key of the gateway whose data directory is {@code dataDir}, made now if it has none. */
    public static ReceiptKey loadOrCreate(Path dataDir) throws IOException, ReceiptException {
        Path file = dataDir.resolve(FILE);
        // One maker at a time in this JVM, so two first uses cannot sign with two different keys.
        synchronized (ReceiptKey.class) {
            if (!Files.exists(file)) {
                DurableFiles.SYSTEM.createDirectories(file.getParent());
                PrivateKey key = Certificates.generateKeyPair(Certificates.KeyType.EC_P256).getPrivate();
                Pem.writePrivateKey(key, file); // atomic, 0600, fsynced with its directory
            }
            return load(file);
        }
    }

    /** The public key of the gateway whose data directory is {@code dataDir}; it must have made one already. */
    public static ECPublicKey existingPublicKey(Path dataDir) throws ReceiptException {
        Path file = dataDir.resolve(FILE);
        if (!Files.exists(file)) {
            throw new ReceiptException("no receipt key in " + file.getParent() + " (this gateway has signed no "
                    + "receipt yet); give the signer's public key with --key");
        }
        return load(file).publicKey;
    }

    private static ReceiptKey load(Path file) throws ReceiptException {
        PrivateKey key;
        try {
            key = Pem.readPrivateKey(file);
        } catch (TlsConfigException e) {
            throw new ReceiptException(e.getMessage(), e);
        }
        if (!(key instanceof ECPrivateKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
            throw new ReceiptException(file + ": expected an EC P-256 private key (receipts are signed with ES256)");
        }
        return new ReceiptKey(ec, p256((ECPublicKey) Certificates.publicKey(ec), file.toString()));
    }

    /** {@code key} as an ES256 verification key, or a ReceiptException naming {@code where} and what it is. */
    public static ECPublicKey p256(PublicKey key, String where) throws ReceiptException {
        if (!(key instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
            throw new ReceiptException(where + ": expected an EC P-256 public key or certificate (receipts are "
                    + "signed with ES256), got " + key.getAlgorithm()
                    + (key instanceof ECPublicKey ec ? " on a " + ec.getParams().getCurve().getField().getFieldSize()
                    + "-bit curve" : ""));
        }
        return ec;
    }

    /** The public key as a JWK (kty EC, crv P-256, alg ES256, use sig) with its RFC 7638 thumbprint as kid. */
    static ECKey jwk(ECPublicKey key) throws ReceiptException {
        try {
            return new ECKey.Builder(Curve.P_256, key).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
                    .keyIDFromThumbprint().build();
        } catch (JOSEException | IllegalArgumentException e) {
            throw new ReceiptException("not a usable P-256 key: " + e.getMessage(), e);
        }
    }

    /** The RFC 7638 JWK thumbprint (SHA-256, base64url) of a P-256 public key: the kid receipts carry. */
    public static String kid(PublicKey key) throws ReceiptException {
        return jwk(p256(key, "key")).getKeyID();
    }

    ECPrivateKey privateKey() { return privateKey; }

    public ECPublicKey publicKey() { return publicKey; }

    /** The RFC 7638 thumbprint of the public key. */
    public String kid() { return jwk.getKeyID(); }

    /** The public JWK (no private part). */
    public ECKey jwk() { return jwk; }

    /** The public key as PEM ("PUBLIC KEY"). */
    public String publicPem() { return Pem.publicKeyPem(publicKey); }
}
