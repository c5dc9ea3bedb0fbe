package dev.postern.tls;

import java.time.Duration;
import java.util.List;

/** Making certificates (Bouncy Castle): self-signed server certificates, and small CAs and leaves for tests and tools. */
public final class Certificates {
    private Certificates() {}

    /** Key algorithm of a generated key. */
    public enum KeyType { RSA_2048, RSA_3072, RSA_4096, EC_P256, EC_P384, RSA_1024 /* only for tests of weak keys */ }

    /** A self-signed server certificate for {@code hosts} (first is the CN; all are SAN DNS names or IP addresses). */
    public static KeyMaterial selfSigned(List<String> hosts, KeyType type, Duration validity) {
        throw new UnsupportedOperationException("TODO");
    }

    /** A CA certificate (basicConstraints CA=true, keyCertSign) with the given common name. */
    public static KeyMaterial certificateAuthority(String commonName, KeyType type, Duration validity) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * A leaf issued by {@code issuer}: SAN DNS names (or IPs) {@code hosts}, serverAuth and clientAuth EKU, valid from
     * {@code notBefore} for {@code validity} (a negative offset makes expired certificates for tests). The returned
     * chain is leaf then issuer chain.
     */
    public static KeyMaterial issue(KeyMaterial issuer, List<String> hosts, KeyType type,
                                    java.time.Instant notBefore, Duration validity) {
        throw new UnsupportedOperationException("TODO");
    }
}
