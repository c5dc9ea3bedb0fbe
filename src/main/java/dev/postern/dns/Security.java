package dev.postern.dns;

import java.util.Locale;

/**
 * How far one DNS answer can be trusted (RFC 4033 §5, RFC 4035 §4.3): {@code SECURE} signed and validated to a trust
 * anchor (or, under {@code trust_ad}, marked authentic by the trusted resolver's AD bit); {@code INSECURE} provably
 * unsigned, or DNSSEC not in use; {@code BOGUS} signed but failed validation. A bogus answer is never used: the
 * resolver throws a temporary {@link DnsException} whose {@link DnsException#security()} says so, so it defers mail
 * and is never mistaken for "no such record".
 */
public enum Security {
    SECURE, INSECURE, BOGUS;

    /** The word logs, the audit and the command line use: "secure", "insecure", "bogus". */
    public String word() { return name().toLowerCase(Locale.ROOT); }

    /** The weaker of two: a chain of answers (a CNAME, then its target) is only as secure as its weakest link. */
    public Security and(Security other) {
        return this.compareTo(other) >= 0 ? this : other;
    }
}
