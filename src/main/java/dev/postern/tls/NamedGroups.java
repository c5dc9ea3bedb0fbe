package dev.postern.tls;

import java.util.Locale;

/** Names of TLS key-exchange groups (the IANA "TLS Supported Groups" registry), as the audit records them. */
final class NamedGroups {
    private NamedGroups() {}

    /** The registry's name for {@code code} ("x25519" for 0x001d), or "0x1234" for a code it does not name. */
    static String name(int code) {
        return switch (code) {
            case 0x0013 -> "secp192r1";
            case 0x0015 -> "secp224r1";
            case 0x0016 -> "secp256k1";
            case 0x0017 -> "secp256r1";
            case 0x0018 -> "secp384r1";
            case 0x0019 -> "secp521r1";
            case 0x001a -> "brainpoolP256r1";
            case 0x001b -> "brainpoolP384r1";
            case 0x001c -> "brainpoolP512r1";
            case 0x001d -> "x25519";
            case 0x001e -> "x448";
            case 0x001f -> "brainpoolP256r1tls13";
            case 0x0020 -> "brainpoolP384r1tls13";
            case 0x0021 -> "brainpoolP512r1tls13";
            case 0x0100 -> "ffdhe2048"; // RFC 7919
            case 0x0101 -> "ffdhe3072";
            case 0x0102 -> "ffdhe4096";
            case 0x0103 -> "ffdhe6144";
            case 0x0104 -> "ffdhe8192";
            case 0x0200 -> "MLKEM512"; // draft-ietf-tls-mlkem
            case 0x0201 -> "MLKEM768";
            case 0x0202 -> "MLKEM1024";
            case 0x11eb -> "SecP256r1MLKEM768"; // draft-ietf-tls-ecdhe-mlkem
            case 0x11ec -> "X25519MLKEM768";
            case 0x11ed -> "SecP384r1MLKEM1024";
            case 0x6399 -> "X25519Kyber768Draft00"; // the pre-standard hybrid, still sent by some
            default -> String.format(Locale.ROOT, "0x%04x", code);
        };
    }

    /**
     * The registry's name for a group as BoringSSL (Conscrypt) names it ("P-256", "X25519"), so that the audit holds
     * one name per group whichever provider made the session; a name it does not know is kept as it is.
     */
    static String fromBoringSsl(String name) {
        if (name == null) return null;
        return switch (name) {
            case "P-224" -> "secp224r1";
            case "P-256" -> "secp256r1";
            case "P-384" -> "secp384r1";
            case "P-521" -> "secp521r1";
            case "X25519" -> "x25519";
            default -> name;
        };
    }
}
