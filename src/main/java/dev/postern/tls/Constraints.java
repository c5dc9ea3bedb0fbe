package dev.postern.tls;

import java.util.List;

/**
 * What a TLS session may be: the lowest protocol, an allow-list of suites (empty: Postern's safe set), and the fewest
 * symmetric key bits. Applied before the handshake (only allowed options are offered) and checked after it.
 */
public record Constraints(String minProtocol, List<String> ciphers, int minCipherBits) {
    public static final Constraints DEFAULT = new Constraints("TLSv1.2", List.of(), 0);

    public Constraints {
        ciphers = List.copyOf(ciphers);
    }

    public boolean allowsProtocol(String protocol) {
        return rank(protocol) >= rank(minProtocol);
    }

    public boolean allowsSuite(String suite) {
        return (ciphers.isEmpty() || ciphers.contains(suite)) && TlsFacts.cipherBits(suite) >= minCipherBits;
    }

    /** Why a negotiated session breaks these constraints, or null when it does not. */
    public String violation(String protocol, String suite) {
        if (!allowsProtocol(protocol)) return "protocol " + protocol + " is below the required " + minProtocol;
        if (!ciphers.isEmpty() && !ciphers.contains(suite)) return "cipher " + suite + " is not in the allowed list";
        int bits = TlsFacts.cipherBits(suite);
        if (bits < minCipherBits) {
            return "cipher " + suite + " has " + bits + "-bit keys, policy requires " + minCipherBits;
        }
        return null;
    }

    /**
     * These constraints where they differ from Postern's defaults, in the words of the policy keys ("min_protocol
     * TLSv1.3, min_cipher_bits 256"), for the reason of a failed handshake; empty for the defaults.
     */
    public String describe() {
        List<String> parts = new java.util.ArrayList<>();
        if (rank(minProtocol) > rank(DEFAULT.minProtocol)) parts.add("min_protocol " + minProtocol);
        if (!ciphers.isEmpty()) parts.add("ciphers " + String.join(" ", ciphers));
        if (minCipherBits > 0) parts.add("min_cipher_bits " + minCipherBits);
        return String.join(", ", parts);
    }

    private static int rank(String protocol) {
        return switch (protocol) {
            case "TLSv1.3" -> 13;
            case "TLSv1.2" -> 12;
            case "TLSv1.1" -> 11;
            case "TLSv1" -> 10;
            default -> 0;
        };
    }
}
