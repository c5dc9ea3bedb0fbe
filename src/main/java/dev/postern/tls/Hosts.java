package dev.postern.tls;

import java.net.IDN;
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

    /** A DNS name in the ASCII (A-label) form certificates and SNI use, without a trailing dot. */
    static String asciiDnsName(String host) {
        String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        return IDN.toASCII(name);
    }
}
