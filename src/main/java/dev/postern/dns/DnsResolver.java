package dev.postern.dns;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * Looks up what mail routing needs (MX, A, AAAA) with dnsjava, against configured servers (tests point it at a
 * server on loopback) or the system's. Thread-safe; one instance per gateway.
 */
public final class DnsResolver {

    /** {@code servers} empty means the system resolvers (/etc/resolv.conf). */
    public DnsResolver(List<InetSocketAddress> servers, Duration timeout) {
        throw new UnsupportedOperationException("TODO");
    }

    /** MX records of {@code domain}, sorted by preference (ties in random order, RFC 5321 §5.1). */
    public MxResult lookupMx(String domain) throws DnsException {
        throw new UnsupportedOperationException("TODO");
    }

    /** A and AAAA addresses of {@code host} (IPv4 first); empty when the name has none (NXDOMAIN or NODATA). */
    public List<InetAddress> lookupAddresses(String host) throws DnsException {
        throw new UnsupportedOperationException("TODO");
    }
}
