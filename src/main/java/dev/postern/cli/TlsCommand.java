package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Addresses;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.Security;
import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import dev.postern.outbound.NextHop;
import dev.postern.outbound.PeerFloors;
import dev.postern.outbound.Router;
import dev.postern.outbound.SmtpClient;
import dev.postern.outbound.TlsPlanner;
import dev.postern.outbound.TlsPolicies;
import dev.postern.peers.DomainLevels;
import dev.postern.peers.PeerLevels;
import dev.postern.smtp.Reply;
import dev.postern.tls.AuditFacts;
import dev.postern.tls.TlsConfigException;
import dev.postern.trace.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
            TlsProbeReport r = probe(config, t, only, limit);
            if (json) System.out.println(Json.pretty(r));
            else r.print(System.out);
            return r.verdict().mailWouldGo() ? 0 : 1;
        }

        /**
         * The probe: the policy as delivery resolves it (with the downgrade memory's floor), the route, then each
         * host in delivery's order, each of its addresses connected to under the host's plan.
         */
        TlsProbeReport probe(Config config, Target t, String only, Duration limit) throws CliException {
            Instant now = Instant.now();
            TlsPolicies.Resolved resolved = PolicyCommand.Show.policies(config, PolicyCommand.Show.mtaStsCache(config),
                    now).resolve(t.domain(), now);
            TlsPlanner.Floor floor = PeerFloors.floor(resolved, config.peerMemory(), outLevel(config, t.domain()));
            var policy = new TlsProbeReport.Policy(resolved.policy().level().word(),
                    resolved.policy().mode() == Config.PolicyMode.TESTING ? "testing" : "enforce",
                    resolved.kind().word(), resolved.source());
            DnsResolver dns = DomainLookup.resolver(config);
            Router.Result routed = t.hop() != null
                    ? new Router.Result.Hops(List.of(t.hop()), "command line", Security.SECURE)
                    : new Router(config::routeFor, dns, config.delivery().smtpPort()).route(t.domain());
            Config.Delivery d = config.delivery();
            try (SmtpClient client = new SmtpClient(config.hostname(), limit == null ? d.connectTimeout() : limit,
                    limit == null ? d.commandTimeout() : limit, limit == null ? d.dataTimeout() : limit)) {
                return switch (routed) {
                    case Router.Result.Later l -> new TlsProbeReport(target, t.domain(), policy, floorText(floor),
                            new TlsProbeReport.Route(null, null, l.reason()), List.of(), new TlsProbeReport.Verdict(
                            false, TlsProbeReport.Outcome.DEFER.word(), "mail for " + t.domain()
                            + " would be deferred: " + l.reason()));
                    case Router.Result.Undeliverable u -> new TlsProbeReport(target, t.domain(), policy,
                            floorText(floor), new TlsProbeReport.Route(null, null, u.reason()), List.of(),
                            new TlsProbeReport.Verdict(false, TlsProbeReport.Outcome.BOUNCE.word(), "mail for "
                                    + t.domain() + " would bounce: " + u.reason() + " (" + u.status() + ")"));
                    case Router.Result.Hops h -> hops(config, t, only, resolved, floor, policy, dns, h, client);
                };
            }
        }

        private TlsProbeReport hops(Config config, Target t, String only, TlsPolicies.Resolved resolved,
                                    TlsPlanner.Floor floor, TlsProbeReport.Policy policy, DnsResolver dns,
                                    Router.Result.Hops h, SmtpClient client) throws CliException {
            List<NextHop> hops = h.hops().stream().map(n -> port == null ? n
                    : new NextHop(n.host(), port, n.preference())).toList();
            if (only != null) {
                hops = hops.stream().filter(n -> n.host().equals(only)).toList();
                if (hops.isEmpty()) {
                    throw new CliException("postern: --host: " + only + " is not a next hop of " + t.domain()
                            + " (" + h.source() + ": " + String.join(", ", h.hops().stream().map(NextHop::host)
                            .toList()) + ")", 2);
                }
            }
            TlsPlanner planner = new TlsPlanner();
            List<TlsProbeReport.Host> hosts = new ArrayList<>();
            for (NextHop hop : hops) hosts.add(host(dns, resolved, floor, h.security(), hop, planner, client));
            boolean noMx = t.hop() != null || config.routeFor(t.domain()).filter(r -> !r.mxLookup()).isPresent();
            return new TlsProbeReport(target, t.domain(), policy, floorText(floor),
                    new TlsProbeReport.Route(h.source(), noMx ? null : h.security().word(), null), hosts,
                    verdict(t.domain(), resolved, hosts));
        }

        /** One host as the scheduler's {@code tryHops} takes it: addresses, TLSA, DANE refusal, plan, mx patterns. */
        private static TlsProbeReport.Host host(DnsResolver dns, TlsPolicies.Resolved resolved, TlsPlanner.Floor floor,
                                                Security mxSecurity, NextHop hop, TlsPlanner planner,
                                                SmtpClient client) {
            Addresses found;
            try {
                found = dns.resolve(hop.host());
            } catch (DnsException e) {
                return notUsed(hop, List.of(), null, "DNS lookup of " + hop.host() + " failed: " + e.getMessage());
            }
            List<String> addresses = found.addresses().stream().map(InetAddress::getHostAddress).toList();
            if (addresses.isEmpty()) return notUsed(hop, addresses, null, "host " + hop.host() + " has no address");
            TlsaLookup.Found tlsa = TlsPlanner.tlsa(resolved, false, dns, hop, mxSecurity, found);
            String dane = tlsa == null ? null : DomainLookup.verdict(tlsa);
            String refusal = TlsPlanner.daneRefusal(resolved, tlsa);
            if (refusal != null) return notUsed(hop, addresses, dane, refusal);
            TlsPlanner.Plan plan;
            try {
                plan = planner.plan(resolved, hop.host(), tlsa, floor);
            } catch (TlsConfigException e) {
                return notUsed(hop, addresses, dane, "TLS policy for " + resolved.domain() + " cannot be applied: "
                        + e.getMessage());
            }
            String outside = plan.policyRequired() ? plan.mxMismatch() : null; // as the scheduler: the policy's own
            if (outside != null) return notUsed(hop, addresses, dane, outside);
            List<TlsProbeReport.Connection> connections = new ArrayList<>();
            for (InetAddress a : found.addresses()) connections.add(connection(client, hop, a, plan));
            return new TlsProbeReport.Host(hop.host(), hop.port(), hop.preference(), addresses, dane, null,
                    connections);
        }

        private static TlsProbeReport.Host notUsed(NextHop hop, List<String> addresses, String dane, String why) {
            return new TlsProbeReport.Host(hop.host(), hop.port(), hop.preference(), addresses, dane, why, List.of());
        }

        /** One address: the probe, and under may after a failed handshake the broad retry delivery would make. */
        private static TlsProbeReport.Connection connection(SmtpClient client, NextHop hop, InetAddress address,
                                                            TlsPlanner.Plan plan) {
            SmtpClient.TlsProbe p = client.tlsProbe(hop, address, plan);
            SmtpClient.Attempt a = p.attempt();
            TlsProbeReport.Outcome outcome;
            String verdict;
            TlsProbeReport.Connection retry = null;
            String error = a.outcome() == SmtpClient.Outcome.COMPLETED ? null : a.detail();
            if (p.loopsBack() != null) {
                outcome = TlsProbeReport.Outcome.BOUNCE;
                verdict = "would bounce (554 5.4.6): " + a.detail();
            } else if (a.outcome() == SmtpClient.Outcome.COMPLETED) {
                TlsPlanner.Verdict v = a.verdict();
                if (a.tls() == null) {
                    outcome = TlsProbeReport.Outcome.CLEAR;
                    verdict = "would go in clear text: " + (!plan.attempt() ? "policy level "
                            + plan.policy().level().word() + " never sends STARTTLS"
                            : a.fallback() != null ? a.fallback().reason() : "no TLS");
                } else if (v != null && v.verified()) {
                    outcome = TlsProbeReport.Outcome.TLS_VERIFIED;
                    verdict = "would be delivered with TLS verified (" + v.summary() + ")";
                } else {
                    outcome = TlsProbeReport.Outcome.TLS_UNVERIFIED;
                    verdict = "would be delivered with TLS, not verified (" + (v == null ? "not checked"
                            : v.summary()) + "; level " + plan.policy().level().word() + " does not require it)";
                }
                if (v != null && !v.wouldFail().isEmpty()) {
                    verdict += "; in testing mode, the enforced level would refuse it: "
                            + String.join("; ", v.wouldFail());
                }
            } else if (a.outcome() == SmtpClient.Outcome.TLS_FAILED && plan.required()) {
                outcome = TlsProbeReport.Outcome.DEFER;
                verdict = "would not be sent here (TLS required by policy for " + plan.domain() + " ("
                        + plan.resolved().source() + ")): " + a.detail();
            } else if (a.outcome() == SmtpClient.Outcome.TLS_FAILED) {
                // may or testing: delivery retries with the broad suite set after a failed handshake, then clear text
                boolean handshake = a.tlsFailure() == SmtpClient.TlsFailure.HANDSHAKE
                        || a.tlsFailure() == SmtpClient.TlsFailure.CUT;
                if (handshake && !plan.broad()) retry = connection(client, hop, address, plan.broadRetry(a.detail()));
                if (retry != null && retry.tls() != null && TlsProbeReport.Outcome.of(retry.outcome()).delivers()) {
                    outcome = TlsProbeReport.Outcome.of(retry.outcome());
                    verdict = "would be delivered with TLS of the broad suite set (weak) after: " + a.detail();
                } else {
                    outcome = TlsProbeReport.Outcome.CLEAR;
                    verdict = "would go in clear text after: " + a.detail();
                }
            } else {
                outcome = TlsProbeReport.Outcome.HOST_FAILED;
                verdict = "would not be sent here (the next host is tried, then deferred): " + a.detail();
            }
            TlsPlanner.Verdict v = a.verdict();
            var check = v == null || a.tls() == null && v.wouldFail().isEmpty() ? null
                    : new TlsProbeReport.Check(v.verified(), v.summary(), v.failure(), v.wouldFail());
            var tls = a.tls() == null ? null : new TlsProbeReport.Tls(a.tls().protocol(), a.tls().cipher(),
                    a.tls().cipherBits(), p.group(), p.serverName());
            return new TlsProbeReport.Connection(address.getHostAddress(), lines(p.greeting()), lines(p.ehlo()),
                    p.startTlsOffered(), tls, AuditFacts.chain(p.chain()), check, error, retry, outcome.word(),
                    verdict);
        }

        private static List<String> lines(Reply r) {
            if (r == null) return List.of();
            return List.of(r.toWire().split("\r\n"));
        }

        /** The first address in delivery's order that would take the mail decides; else why none would. */
        static TlsProbeReport.Verdict verdict(String domain, TlsPolicies.Resolved resolved,
                                              List<TlsProbeReport.Host> hosts) {
            List<String> why = new ArrayList<>();
            for (TlsProbeReport.Host h : hosts) {
                if (h.notUsed() != null) why.add(h.host() + ": " + h.notUsed());
                for (TlsProbeReport.Connection c : h.connections()) {
                    TlsProbeReport.Outcome o = TlsProbeReport.Outcome.of(c.outcome());
                    String at = h.host() + "[" + c.address() + "]:" + h.port();
                    if (o.delivers() || o == TlsProbeReport.Outcome.BOUNCE) {
                        return new TlsProbeReport.Verdict(o.delivers(), o.word(), "mail for " + domain + " via " + at
                                + " " + c.verdict());
                    }
                    why.add(c.error() != null ? c.error() : at + ": " + c.verdict()); // an error names the peer
                }
            }
            return new TlsProbeReport.Verdict(false, TlsProbeReport.Outcome.DEFER.word(), "mail for " + domain
                    + " would be deferred (policy " + resolved.policy().level().word() + ", " + resolved.source()
                    + "): " + (why.isEmpty() ? "no next hop" : String.join("; ", why)));
        }

        private static Optional<dev.postern.peers.Seen> outLevel(Config config, String domain) throws CliException {
            try {
                return PeerLevels.read(config.dataDir()).stream().filter(l -> l.domain().equals(domain)).findFirst()
                        .map(DomainLevels::out);
            } catch (IOException e) {
                throw new CliException("postern: " + e.getMessage(), 1);
            }
        }

        private static String floorText(TlsPlanner.Floor floor) {
            return floor == null ? null : floor.describe() + (floor.enforce() ? ", refused below it"
                    : ", flagged below it");
        }
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
