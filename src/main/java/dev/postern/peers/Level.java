package dev.postern.peers;

import java.util.Locale;

/** How well a session with a domain was protected, weakest first; the order is what "higher" means. */
public enum Level {
    /** No TLS. */
    PLAIN,
    /** TLS, peer not authenticated (or its certificate failed the checks). */
    ENCRYPTED,
    /** TLS with the peer authenticated: chain and name by the policy level's rules, or a pinned fingerprint. */
    VERIFIED,
    /** TLS with the peer authenticated by DANE (RFC 7672): DNSSEC-secure TLSA records matched. */
    DANE;

    /** The word of the levels file, logs and the command line: "plain", "dane". */
    public String word() { return name().toLowerCase(Locale.ROOT); }

    /** The level a word names, or null. */
    public static Level parse(String word) {
        for (Level l : values()) if (l.word().equals(word)) return l;
        return null;
    }

    public boolean above(Level other) { return compareTo(other) > 0; }
}
