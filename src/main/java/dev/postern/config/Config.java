package dev.postern.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole gateway configuration, validated. Built by {@link ConfigLoader} from a TOML file or from the embedded
 * default; immutable. Domain names in sets and maps are lower-case.
 *
 * @param source        the file it came from, or null for the embedded default
 * @param hostname      this gateway's name (banner, EHLO, Received, bounces)
 * @param dataDir       spool, Maildirs, generated certificate, control socket
 * @param localDomains  domains delivered to Maildir here
 * @param relayDomains  domains the MX role accepts and relays onward (Postfix's relay_domains)
 * @param relayNetworks client networks allowed to relay anywhere through submission listeners
 * @param routes        static routes by domain, taking precedence over MX lookup (Postfix's transport map)
 */
public record Config(Path source, String hostname, Path dataDir, List<Listener> listeners, Set<String> localDomains,
                     Set<String> relayDomains, List<Network> relayNetworks, Tls tls, Limits limits, Queue queue,
                     Delivery delivery, Dns dns, Map<String, Route> routes) {

    public Config {
        listeners = List.copyOf(listeners);
        localDomains = Set.copyOf(localDomains);
        relayDomains = Set.copyOf(relayDomains);
        relayNetworks = List.copyOf(relayNetworks);
        routes = Map.copyOf(routes);
    }

    /** What a listener is for. */
    public enum Role {
        /** Port 25 style: STARTTLS offered, accepts mail for local and relay domains from anyone. */
        MX,
        /** Port 587 style: STARTTLS required before MAIL; relays for relay networks. */
        SUBMISSION,
        /** Port 465 style: implicit TLS from the first byte (RFC 8314); otherwise as submission. */
        SUBMISSIONS
    }

    public record Listener(InetSocketAddress address, Role role) {}

    /** An address block "192.0.2.0/24" or "::1/128". */
    public record Network(byte[] address, int prefixLength) {
        public boolean contains(java.net.InetAddress candidate) {
            byte[] c = candidate.getAddress();
            if (c.length != address.length) return false;
            int full = prefixLength / 8, rest = prefixLength % 8;
            for (int i = 0; i < full; i++) if (c[i] != address[i]) return false;
            if (rest == 0) return true;
            int mask = (0xff << (8 - rest)) & 0xff;
            return (c[full] & mask) == (address[full] & mask);
        }
    }

    /**
     * The gateway's own certificate; both null means "generate a self-signed one under data/tls on first start".
     */
    public record Tls(Path certificate, Path key) {}

    public record Limits(int maxLineLength, long maxMessageSize, int maxRecipients, int maxErrors,
                         Duration commandTimeout, Duration dataTimeout, Duration sessionTimeout, int maxConnections,
                         int maxConnectionsPerIp) {}

    /** Retry schedule and bounces; {@code delayWarning} null disables delay DSNs. */
    public record Queue(Duration retryFirst, Duration retryMax, Duration lifetime, Duration delayWarning) {}

    /** Outbound: concurrency overall and per destination, timeouts, and the port MX hosts are contacted on. */
    public record Delivery(int concurrency, int perDestination, Duration connectTimeout, Duration commandTimeout,
                           Duration dataTimeout, int smtpPort) {}

    /** {@code servers} empty: the system's resolvers. */
    public record Dns(List<InetSocketAddress> servers, Duration timeout) {
        public Dns { servers = List.copyOf(servers); }
    }

    /**
     * A static next hop. "[host]:port" or "[ip]:port" means that host directly (no MX lookup, like Postfix);
     * "host:port" or "host" means look up MX of host first.
     */
    public record Route(String host, int port, boolean mxLookup) {}
}
