package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.dns.DnsResolver;
import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import dev.postern.outbound.NextHop;
import dev.postern.outbound.PeerFloors;
import dev.postern.outbound.TlsPlanner;
import dev.postern.outbound.TlsPolicies;
import dev.postern.peers.DomainLevels;
import dev.postern.peers.PeerLevels;
import dev.postern.probes.TlsProbeReport;
import dev.postern.probes.TlsProber;
import dev.postern.trace.Json;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern tls ...}: TLS with a destination, looked at from this gateway. */
@Command(name = "tls", description = "Look at TLS with a destination from this gateway.",
        subcommands = TlsCommand.Probe.class)
final class TlsCommand {

    @Command(name = "probe", description = "Connect to a destination as delivery would (like Postfix's "
            + "posttls-finger): the route (static route or MX, through [dns]), then for each host the greeting, EHLO, "
            + "STARTTLS, the TLS session, the certificate chain, the check against the policy that applies, and what "
            + "would happen to mail now. No mail is sent: QUIT after EHLO. A bare name is a domain; [host], "
            + "[host]:port, host:port and an IP address are one host, its policy that of its own name. "
            + "Exit 0: mail would go; 1: it would not (deferred or bounced); 2: bad usage.")
    static final class Probe implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN|HOST[:PORT]") String target;
        @Option(names = "--json", description = "JSON instead of text.") boolean json;
        @Option(names = "--port", paramLabel = "PORT", description = "The port to connect to instead of the "
                + "route's or [delivery] smtp_port.") Integer port;
        @Option(names = "--timeout", paramLabel = "DURATION", description = "Bounds the connection and each "
                + "reply and handshake, like 30s; default: [delivery] connect_timeout and command_timeout.")
        String timeout;
        @Option(names = "--host", paramLabel = "HOST", description = "Probe only this one of the domain's hosts.")
        String host;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            if (port != null && (port < 1 || port > 65535)) {
                throw new CliException("postern: --port: expected 1 to 65535, got " + port, 2);
            }
            Duration limit = timeout == null ? null : TimeOptions.duration("--timeout", timeout);
            if (limit != null && (limit.isZero() || limit.toMillis() > Integer.MAX_VALUE)) {
                throw new CliException("postern: --timeout: expected a duration above 0 like 30s, got \"" + timeout
                        + "\"", 2);
            }
            Target t = target(target, config.delivery().smtpPort());
            String only = host == null ? null : hostName(host);
            if (only != null && t.hop() != null) {
                throw new CliException("postern: --host: expected only with a domain, not with the host "
                        + target, 2);
            }
            TlsProbeReport r;
            try {
                r = offlineProber(config).probe(target, t.domain(), t.hop(),
                        new TlsProber.Options(port, only, limit, null, false));
            } catch (TlsProber.NotANextHop e) {
                throw new CliException("postern: --host: " + e.getMessage(), 2);
            }
            if (json) System.out.println(Json.pretty(r));
            else r.print(System.out);
            return r.verdict().mailWouldGo() ? 0 : 1;
        }
    }

    /**
     * The prober of the commands that run without the gateway: the policy as delivery resolves it from the files
     * (MTA-STS from the gateway's cache, the downgrade memory's floor from data/peers), the resolver of {@code [dns]}.
     */
    static TlsProber offlineProber(Config config) throws CliException {
        DnsResolver dns = DomainLookup.resolver(config);
        TlsPolicies policies = PolicyCommand.Show.policies(config, PolicyCommand.Show.mtaStsCache(config),
                Instant.now());
        java.util.List<DomainLevels> levels;
        try {
            levels = PeerLevels.read(config.dataDir());
        } catch (IOException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
        return new TlsProber(new TlsProber.Parts(() -> config, d -> policies.resolve(d, Instant.now()),
                resolved -> PeerFloors.floor(resolved, config.peerMemory(), levels.stream()
                        .filter(l -> l.domain().equals(resolved.domain())).findFirst().map(DomainLevels::out)),
                dns, new TlsPlanner()));
    }

    /** What to probe: a domain's route ({@code hop} null), or one host whose policy is that of {@code domain}. */
    record Target(String domain, NextHop hop) {}

    /**
     * A bare name is a domain; {@code [host]}, {@code [host]:port}, {@code [v6]:port}, {@code host:port} and an IP
     * address are one host, with {@code defaultPort} when none is written.
     */
    static Target target(String s, int defaultPort) throws CliException {
        String expected = "expected a domain like partner.example, or a host like [mx.partner.example]:25, "
                + "mx.partner.example:25, [2001:db8::1]:25 or 192.0.2.1";
        String text = s.strip();
        boolean bareIp = !text.startsWith("[") && text.indexOf(':') != text.lastIndexOf(':')
                || text.matches("[0-9.]+");
        if (bareIp) text = "[" + text + "]";
        if (!text.startsWith("[") && text.indexOf(':') > 0) {
            text = "[" + text.substring(0, text.indexOf(':')) + "]" + text.substring(text.indexOf(':'));
        }
        if (text.startsWith("[")) {
            try {
                Config.Route r = Config.Route.parse(text, defaultPort);
                return new Target(r.host(), new NextHop(r.host(), r.port()));
            } catch (IllegalArgumentException e) {
                throw new CliException("postern: " + expected + ", got \"" + s + "\"", 2);
            }
        }
        try {
            String d = Domains.toAscii(text);
            if (d.indexOf('.') < 0) throw new InvalidDomainException("a single label");
            return new Target(d, null);
        } catch (InvalidDomainException e) {
            throw new CliException("postern: " + expected + ", got \"" + s + "\" (" + e.getMessage() + ")", 2);
        }
    }

    /** A {@code --host} value in lookup form: a name, or an IP address as routes write it. */
    private static String hostName(String s) throws CliException {
        String bare = s.strip();
        try {
            return Config.Route.parse(bare.startsWith("[") ? bare : "[" + bare + "]", 25).host();
        } catch (IllegalArgumentException e) {
            throw new CliException("postern: --host: expected a host name like mx1.partner.example or an IP "
                    + "address, got \"" + s + "\"", 2);
        }
    }
}
