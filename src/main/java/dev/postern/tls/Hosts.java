package dev.postern.tls;

import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import org.bouncycastle.util.IPAddress;

/** Host-name helpers shared by certificate generation and SNI: no DNS lookups, ever. */
final class Hosts {
    private Hosts() {}

    /** True for an IPv4 or IPv6 literal (IPv6 optionally in brackets); parsed locally, never resolved. */
    static boolean isIpLiteral(String host) {
        return host != null && IPAddress.isValid(unbracket(host));
    }

    /** The literal without IPv6 brackets. */
    static String unbracket(String host) {
        return host.length() > 2 && host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /**
     * A DNS name in the ASCII (A-label) form certificates and SNI use, lower case, without a trailing dot; a
     * certificate's "*." first label is kept.
     *
     * @throws IllegalArgumentException when it is not a valid name
     */
    static String asciiDnsName(String host) {
        String prefix = host.startsWith("*.") ? "*." : "";
        try {
            return prefix + Domains.toAscii(host.substring(prefix.length()));
        } catch (InvalidDomainException e) {
            throw new IllegalArgumentException("not a valid host name: " + host + " (" + e.getMessage() + ")", e);
        }
    }
}
