package dev.postern.probes;

import dev.postern.config.Config;
import dev.postern.dane.DaneCheck;
import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Addresses;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.Security;
import dev.postern.outbound.NextHop;
import dev.postern.outbound.Router;
import dev.postern.outbound.SmtpClient;
import dev.postern.outbound.TlsPlanner;
import dev.postern.outbound.TlsPolicies;
import dev.postern.smtp.Reply;
import dev.postern.tls.AuditFacts;
import dev.postern.tls.TlsConfigException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one TLS probe of a destination, for {@code postern tls probe}, {@code postern probe} and the periodic health
 * probes: the policy as delivery resolves it (with the downgrade memory's floor), the route (static route or MX),
 * then each host in delivery's order as the scheduler takes it (addresses, TLSA under a DANE level, the DANE refusal,
 * the plan, MTA-STS mx patterns), each address connected to with {@link SmtpClient#tlsProbe}: greeting, EHLO,
 * STARTTLS, the session judged under the plan, QUIT. No mail, and no audit record of the session (a probe is not
 * mail traffic: the client it uses has {@code Audit.NONE}).
 */
public final class TlsProber {

    /**
     * What a probe reads of a gateway, live or from its files.
     *
     * @param config   the configuration in force (read once per probe: a reload applies to the next one)
     * @param policies a domain's resolved policy now, as delivery resolves it
     * @param floors   the downgrade memory's floor under a resolution (null: none)
     * @param dns      the resolver of {@code [dns]}
     * @param planner  the planner of delivery
     */
    public record Parts(Supplier<Config> config, Function<String, TlsPolicies.Resolved> policies,
                        Function<TlsPolicies.Resolved, TlsPlanner.Floor> floors, DnsResolver dns,
                        TlsPlanner planner) {}

    /**
     * How to probe.
     *
     * @param port      connect to this port instead of the route's (null: the route's)
     * @param onlyHost  probe only this next hop of the domain (lookup form; null: all)
     * @param perStep   bounds the connection and each reply and handshake instead of {@code [delivery]}'s timeouts
     *                  (null: those)
     * @param total     bounds the whole probe, every host together (null: no bound beyond the steps')
     * @param firstPass stop at the first address that decides (would take the mail, or makes it bounce), as
     *                  delivery does; else every host and address is probed and shown
     */
    public record Options(Integer port, String onlyHost, Duration perStep, Duration total, boolean firstPass) {
        /** Every host, delivery's timeouts: {@code postern tls probe} without options. */
        public static final Options ALL = new Options(null, null, null, null, false);
    }

    /** {@code onlyHost} is not one of the domain's next hops; the message says which they are. */
    public static final class NotANextHop extends IllegalArgumentException {
        NotANextHop(String message) { super(message); }
    }

    private final Parts parts;

    public TlsProber(Parts parts) {
        this.parts = parts;
    }

    /** Probes {@code domain} by its route, as {@link #probe(String, String, NextHop, Options)} does. */
    public TlsProbeReport probe(String domain, Options options) {
        return probe(domain, domain, null, options);
    }

    /**
     * Probes the destination {@code domain} (lookup form) by its route, or only {@code hop} under {@code domain}'s
     * policy when it is not null. {@code target} is what the user named, for the report. Never throws for network
     * or DNS trouble: that is in the report. Under {@code options.total()} the probe runs on a virtual thread of its
     * own, interrupted at the end of the time (which closes its socket), and the report says the time ran out.
     *
     * @throws NotANextHop when {@code options.onlyHost()} is not a next hop of {@code domain}
     */
    public TlsProbeReport probe(String target, String domain, NextHop hop, Options options) {
        if (options.total() == null) return new Run(target, domain, hop, options, Long.MAX_VALUE).report();
        long deadline = System.nanoTime() + options.total().toNanos();
        Run run = new Run(target, domain, hop, options, deadline);
        var made = new java.util.concurrent.atomic.AtomicReference<TlsProbeReport>();
        var thrown = new java.util.concurrent.atomic.AtomicReference<RuntimeException>();
        Thread t = Thread.ofVirtual().name("probe-" + domain).start(() -> {
            try {
                made.set(run.report());
            } catch (RuntimeException e) {
                thrown.set(e);
            }
        });
        try {
            if (!t.join(options.total())) {
                run.timedOut = true;
                t.interrupt(); // a virtual thread's blocking socket call ends with its socket closed
                t.join(Duration.ofSeconds(2));
            }
        } catch (InterruptedException e) {
            t.interrupt();
            Thread.currentThread().interrupt();
        }
        if (thrown.get() != null) throw thrown.get();
        if (made.get() != null) return made.get();
        // still stuck (a DNS lookup past its own timeout, say): what was seen so far
        return run.partial();
    }

    /** One probe: its state, on the thread that runs it. */
    private final class Run {
        final String target;
        final String domain;
        final NextHop hop;
        final Options options;
        final long deadline;
        final Config config = parts.config().get();
        volatile boolean timedOut;
        /** The hosts probed so far (read by {@link #partial} when the run is stuck). */
        final List<TlsProbeReport.Host> hosts = java.util.Collections.synchronizedList(new ArrayList<>());
        volatile TlsProbeReport.Policy policy;
        volatile TlsPolicies.Resolved resolved;
        volatile String floorText;

        Run(String target, String domain, NextHop hop, Options options, long deadline) {
            this.target = target;
            this.domain = domain;
            this.hop = hop;
            this.options = options;
            this.deadline = deadline;
        }

        boolean outOfTime() {
            return timedOut || System.nanoTime() - deadline >= 0;
        }

        String timeoutNote() {
            return "the probe's time (" + dev.postern.config.Durations.format(options.total()) + ") ran out";
        }

        TlsProbeReport partial() {
            TlsProbeReport.Policy p = policy != null ? policy : new TlsProbeReport.Policy(null, null, null, null);
            List<TlsProbeReport.Host> seen = List.copyOf(hosts);
            return new TlsProbeReport(target, domain, p, floorText, new TlsProbeReport.Route(null, null,
                    timeoutNote()), seen, new TlsProbeReport.Verdict(false, TlsProbeReport.Outcome.DEFER.word(),
                    "mail for " + domain + " would be deferred: " + timeoutNote()));
        }

        TlsProbeReport report() {
            resolved = parts.policies().apply(domain);
            TlsPlanner.Floor floor = parts.floors().apply(resolved);
            floorText = floorText(floor);
            policy = new TlsProbeReport.Policy(resolved.policy().level().word(),
                    resolved.policy().mode() == Config.PolicyMode.TESTING ? "testing" : "enforce",
                    resolved.kind().word(), resolved.source());
            DnsResolver dns = parts.dns();
            Router.Result routed = hop != null
                    ? new Router.Result.Hops(List.of(hop), "command line", Security.SECURE)
                    : new Router(config::routeFor, dns, config.delivery().smtpPort()).route(domain);
            Config.Delivery d = config.delivery();
            Duration connect = bound(options.perStep() == null ? d.connectTimeout() : options.perStep());
            Duration command = bound(options.perStep() == null ? d.commandTimeout() : options.perStep());
            Duration data = bound(options.perStep() == null ? d.dataTimeout() : options.perStep());
            try (SmtpClient client = new SmtpClient(config.hostname(), connect, command, data)) {
                return switch (routed) {
                    case Router.Result.Later l -> new TlsProbeReport(target, domain, policy, floorText,
                            new TlsProbeReport.Route(null, null, l.reason()), List.of(), new TlsProbeReport.Verdict(
                            false, TlsProbeReport.Outcome.DEFER.word(), "mail for " + domain
                            + " would be deferred: " + l.reason()));
                    case Router.Result.Undeliverable u -> new TlsProbeReport(target, domain, policy, floorText,
                            new TlsProbeReport.Route(null, null, u.reason()), List.of(), new TlsProbeReport.Verdict(
                            false, TlsProbeReport.Outcome.BOUNCE.word(), "mail for " + domain + " would bounce: "
                            + u.reason() + " (" + u.status() + ")"));
                    case Router.Result.Hops h -> hops(floor, dns, h, client);
                };
            }
        }

        /** A step's timeout, never longer than the whole probe may take. */
        private Duration bound(Duration step) {
            return options.total() != null && options.total().compareTo(step) < 0 ? options.total() : step;
        }

        private TlsProbeReport hops(TlsPlanner.Floor floor, DnsResolver dns, Router.Result.Hops h, SmtpClient client) {
            List<NextHop> hops = h.hops().stream().map(n -> options.port() == null ? n
                    : new NextHop(n.host(), options.port(), n.preference())).toList();
            String only = options.onlyHost();
            if (only != null) {
                hops = hops.stream().filter(n -> n.host().equals(only)).toList();
                if (hops.isEmpty()) {
                    throw new NotANextHop(only + " is not a next hop of " + domain + " (" + h.source() + ": "
                            + String.join(", ", h.hops().stream().map(NextHop::host).toList()) + ")");
                }
            }
            List<String> notes = new ArrayList<>();
            for (NextHop next : hops) {
                if (outOfTime()) {
                    notes.add(timeoutNote() + " before " + next.host());
                    break;
                }
                TlsProbeReport.Host probed = host(dns, floor, h.security(), next, client);
                hosts.add(probed);
                if (options.firstPass() && decided(probed)) break;
            }
            if (outOfTime() && notes.isEmpty()) notes.add(timeoutNote());
            boolean noMx = hop != null || config.routeFor(domain).filter(r -> !r.mxLookup()).isPresent();
            List<TlsProbeReport.Host> all = List.copyOf(hosts);
            return new TlsProbeReport(target, domain, policy, floorText,
                    new TlsProbeReport.Route(h.source(), noMx ? null : h.security().word(), null), all,
                    verdict(domain, resolved, all, notes));
        }

        /** One host as the scheduler's {@code tryHops} takes it: addresses, TLSA, DANE refusal, plan, mx patterns. */
        private TlsProbeReport.Host host(DnsResolver dns, TlsPlanner.Floor floor, Security mxSecurity, NextHop next,
                                         SmtpClient client) {
            Addresses found;
            try {
                found = dns.resolve(next.host());
            } catch (DnsException e) {
                return notUsed(next, List.of(), null, "DNS lookup of " + next.host() + " failed: " + e.getMessage());
            }
            List<String> addresses = found.addresses().stream().map(InetAddress::getHostAddress).toList();
            if (addresses.isEmpty()) return notUsed(next, addresses, null, "host " + next.host() + " has no address");
            TlsaLookup.Found tlsa = TlsPlanner.tlsa(resolved, false, dns, next, mxSecurity, found);
            String dane = tlsa == null ? null : dane(tlsa);
            String refusal = TlsPlanner.daneRefusal(resolved, tlsa);
            if (refusal != null) return notUsed(next, addresses, dane, refusal);
            TlsPlanner.Plan plan;
            try {
                plan = parts.planner().plan(resolved, next.host(), tlsa, floor);
            } catch (TlsConfigException e) {
                return notUsed(next, addresses, dane, "TLS policy for " + resolved.domain() + " cannot be applied: "
                        + e.getMessage());
            }
            String outside = plan.policyRequired() ? plan.mxMismatch() : null; // as the scheduler: the policy's own
            if (outside != null) return notUsed(next, addresses, dane, outside);
            List<TlsProbeReport.Connection> connections = new ArrayList<>();
            for (InetAddress a : found.addresses()) {
                if (!connections.isEmpty() && outOfTime()) break;
                TlsProbeReport.Connection c = connection(client, next, a, plan);
                connections.add(c);
                if (options.firstPass() && decides(c)) break;
            }
            return new TlsProbeReport.Host(next.host(), next.port(), next.preference(), addresses, dane, null,
                    connections);
        }
    }

    /** The address would take the mail, or makes it bounce: delivery stops there. */
    static boolean decides(TlsProbeReport.Connection c) {
        TlsProbeReport.Outcome o = TlsProbeReport.Outcome.of(c.outcome());
        return o.delivers() || o == TlsProbeReport.Outcome.BOUNCE;
    }

    private static boolean decided(TlsProbeReport.Host h) {
        return h.connections().stream().anyMatch(TlsProber::decides);
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
        var heldTo = new TlsProbeReport.HeldTo(plan.auditLevel(), plan.auditKind() == null ? null
                : plan.auditKind().word(), plan.auditMode());
        String achieved = a.outcome() != SmtpClient.Outcome.COMPLETED ? null : a.tls() == null ? "plain"
                : v == null ? "encrypted" : v.achieved().word();
        return new TlsProbeReport.Connection(address.getHostAddress(), lines(p.greeting()), lines(p.ehlo()),
                p.startTlsOffered(), tls, AuditFacts.chain(p.chain()), check, error, retry, outcome.word(),
                verdict, heldTo, achieved);
    }

    private static List<String> lines(Reply r) {
        if (r == null) return List.of();
        return List.of(r.toWire().split("\r\n"));
    }

    /**
     * The first address in delivery's order that would take the mail decides; else why none would, with
     * {@code notes} (the probe's time ran out) after the hosts' reasons.
     */
    static TlsProbeReport.Verdict verdict(String domain, TlsPolicies.Resolved resolved, List<TlsProbeReport.Host> hosts,
                                          List<String> notes) {
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
        why.addAll(notes);
        return new TlsProbeReport.Verdict(false, TlsProbeReport.Outcome.DEFER.word(), "mail for " + domain
                + " would be deferred (policy " + resolved.policy().level().word() + ", " + resolved.source()
                + "): " + (why.isEmpty() ? "no next hop" : String.join("; ", why)));
    }

    /** What a host's TLSA lookup found, in words ({@code postern tls probe}, {@code postern domains show}). */
    public static String dane(TlsaLookup.Found found) {
        return switch (found) {
            case TlsaLookup.Found.Secure s -> {
                int n = s.tlsa().records().size();
                int usable = DaneCheck.usable(s.tlsa().records()).size();
                yield "DANE applies (" + n + (n == 1 ? " record, " : " records, ") + usable + " usable)"
                        + (usable == 0 ? ": TLS required, the server not authenticated (RFC 7672 §2.2)" : "");
            }
            case TlsaLookup.Found.Absent a -> "no DANE: " + a.why();
            case TlsaLookup.Found.Failed f -> (f.bogus() ? "bogus: " : "DANE lookup failed: ") + f.why();
        };
    }

    private static String floorText(TlsPlanner.Floor floor) {
        return floor == null ? null : floor.describe() + (floor.enforce() ? ", refused below it"
                : ", flagged below it");
    }
}
