package dev.postern.dane;

import dev.postern.dns.Addresses;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.Security;
import dev.postern.dns.TlsaResult;
import java.util.List;

/**
 * Finds the TLSA records of one MX host as RFC 7672 §2.2 says: only when the MX answer and the host's address
 * records are DNSSEC-secure; first at the CNAME-expanded host name, then, unless that gave secure records, at the
 * name the MX record gave (§2.2.2).
 */
public final class TlsaLookup {
    private TlsaLookup() {}

    /** What DANE can do for one host. */
    public sealed interface Found {
        /** Why, in words, for the log line and the audit. */
        String why();

        /**
         * Secure, non-empty TLSA records: TLS is required and judged by them.
         *
         * @param baseDomain the TLSA base domain (the host name the records were asked for, §2.2.2)
         * @param mxHost     the host name the MX record (or route) gave
         */
        record Secure(TlsaResult tlsa, String baseDomain, String mxHost) implements Found {
            /** RFC 7672 §3.2.2: the names a DANE-TA leaf may carry, the base domain first. */
            public List<String> referenceNames() {
                return baseDomain.equals(mxHost) ? List.of(baseDomain) : List.of(baseDomain, mxHost);
            }

            @Override public String why() {
                return "DNSSEC-secure TLSA records at " + tlsa.owner() + " (base domain " + baseDomain + ")";
            }
        }

        /** DANE does not apply to this host: something on the way is insecure, or securely there are no records. */
        record Absent(String why) implements Found {}

        /**
         * The TLSA lookup failed (bogus, or a temporary failure): the host must not be used for now.
         *
         * @param bogus the answer failed DNSSEC validation (else a timeout, SERVFAIL or the like)
         */
        record Failed(String why, boolean bogus) implements Found {
            public Failed(String why) { this(why, false); }
        }
    }

    /**
     * @param mxSecurity of the MX answer that named {@code mxHost} (SECURE for a static route's host, whose own
     *                   address records then decide, as Postfix does for a next hop that is not an MX)
     * @param addresses  {@code mxHost}'s addresses as {@link DnsResolver#resolve} found them
     * @param port       the port the host is contacted on: the records are {@code _PORT._tcp.HOST}
     */
    public static Found find(DnsResolver dns, String mxHost, Security mxSecurity, Addresses addresses, int port) {
        if (mxSecurity != Security.SECURE) return new Found.Absent("the MX answer is not DNSSEC-secure");
        if (addresses.security() != Security.SECURE) {
            return new Found.Absent("the address records of " + mxHost + " are not DNSSEC-secure");
        }
        String canonical = addresses.canonicalName();
        if (canonical != null && !canonical.equals(mxHost)) {
            Found expanded = at(dns, canonical, mxHost, port);
            if (!(expanded instanceof Found.Absent)) return expanded;
        }
        return at(dns, mxHost, mxHost, port);
    }

    private static Found at(DnsResolver dns, String base, String mxHost, int port) {
        TlsaResult r;
        try {
            r = dns.lookupTlsa(base, port);
        } catch (DnsException e) {
            return new Found.Failed("TLSA lookup of _" + port + "._tcp." + base
                    + (e.bogus() ? " is bogus: " : " failed: ") + e.getMessage(), e.bogus());
        }
        return switch (r.security()) {
            case BOGUS -> new Found.Failed("TLSA answer for " + r.queried() + " is bogus", true);
            case INSECURE -> new Found.Absent("the TLSA answer for " + r.queried() + " is not DNSSEC-secure");
            case SECURE -> r.records().isEmpty()
                    ? new Found.Absent("no TLSA records at " + r.queried() + " (DNSSEC-secure denial)")
                    : new Found.Secure(r, base, mxHost);
        };
    }
}
