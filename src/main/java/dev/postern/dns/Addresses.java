package dev.postern.dns;

import java.net.InetAddress;
import java.util.List;

/**
 * The A and AAAA addresses of a host (IPv4 first) and what DANE needs to know of how they were found.
 *
 * @param addresses     empty when the name has none (NXDOMAIN or NODATA)
 * @param security      of the whole answer, CNAMEs included; the weaker of the two families
 * @param canonicalName the name the addresses belong to after any CNAMEs were followed (lookup form), the host
 *                      itself when there was none: RFC 7672 §2.2.2 looks up TLSA records there first
 */
public record Addresses(List<InetAddress> addresses, Security security, String canonicalName) {
    public Addresses {
        addresses = List.copyOf(addresses);
    }
}
