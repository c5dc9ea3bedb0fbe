package dev.postern.testkit;

import dev.postern.config.Config;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Configurations for gateways started inside tests: loopback, port 0 (the OS picks), short timeouts and retries. */
public final class TestConfigs {
    private TestConfigs() {}

    public static Config.Limits limits() {
        return new Config.Limits(2048, 10L * 1024 * 1024, 100, 10, Duration.ofSeconds(30), Duration.ofSeconds(30),
                Duration.ofMinutes(5), 100, 50);
    }

    /** Listeners mx, submission, submissions on 127.0.0.1:0; local domains as given; no relay domains. */
    public static Config gateway(Path data, String hostname, Set<String> localDomains) {
        return new Config(null, hostname, data, List.of(
                new Config.Listener(new InetSocketAddress("127.0.0.1", 0), Config.Role.MX),
                new Config.Listener(new InetSocketAddress("127.0.0.1", 0), Config.Role.SUBMISSION),
                new Config.Listener(new InetSocketAddress("127.0.0.1", 0), Config.Role.SUBMISSIONS)),
                localDomains, Set.of(), List.of(network("127.0.0.0", 8), network("::1", 128)), new Config.Tls(null, null),
                limits(), new Config.Queue(Duration.ofSeconds(1), Duration.ofSeconds(4), Duration.ofDays(5), null),
                new Config.Delivery(20, 5, Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(30), 25),
                new Config.Dns(List.of(), Duration.ofSeconds(2), Config.Dnssec.OFF, null), Map.of());
    }

    public static Config withRelay(Config c, Set<String> relayDomains, Map<String, Config.Route> routes) {
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), relayDomains,
                c.relayNetworks(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), routes, c.outboundTls(),
                c.inbound());
    }

    /** The same config presenting the certificate chain and key in these PEM files. */
    public static Config withTls(Config c, Path certificate, Path key) {
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), new Config.Tls(certificate, key), c.limits(), c.queue(), c.delivery(), c.dns(),
                c.routes(), c.outboundTls(), c.inbound());
    }

    /** The same config presenting these certificates ({@link Config.Tls#of} for several pairs). */
    public static Config withTls(Config c, Config.Tls tls) {
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), tls, c.limits(), c.queue(), c.delivery(), c.dns(), c.routes(), c.outboundTls(),
                c.inbound());
    }

    /** The same config with its listeners' TLS from {@code provider} ({@code [tls] provider}). */
    public static Config withTlsProvider(Config c, Config.TlsProvider provider) {
        return withTls(c, c.tls().withProvider(provider));
    }

    public static Config withLimits(Config c, Config.Limits limits) {
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), c.tls(), limits, c.queue(), c.delivery(), c.dns(), c.routes(), c.outboundTls(),
                c.inbound());
    }

    public static Config withQueue(Config c, Config.Queue queue) {
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), c.tls(), c.limits(), queue, c.delivery(), c.dns(), c.routes(), c.outboundTls(),
                c.inbound());
    }

    /** Delivery to {@code smtpPort} with MX lookups at the unsigned {@code TestDnsServer} (DNSSEC off). */
    public static Config withDns(Config c, InetSocketAddress server, int smtpPort) {
        // TestDnsServer's world is unsigned: under a root trust anchor every answer would be bogus
        return withDns(c, new Config.Dns(List.of(server), Duration.ofSeconds(2), Config.Dnssec.OFF, null), smtpPort);
    }

    /** Delivery to {@code smtpPort} with {@code dns} as {@code [dns]} (a {@link SignedDnsWorld}'s, for DNSSEC). */
    public static Config withDns(Config c, Config.Dns dns, int smtpPort) {
        Config.Delivery d = c.delivery();
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), c.tls(), c.limits(), c.queue(), new Config.Delivery(d.concurrency(),
                d.perDestination(), d.connectTimeout(), d.commandTimeout(), d.dataTimeout(), smtpPort, d.tlsProvider()),
                dns, c.routes(), c.outboundTls(), c.inbound());
    }

    public static Config.Network network(String ip, int prefix) {
        try {
            return new Config.Network(java.net.InetAddress.getByName(ip).getAddress(), prefix);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
