package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.dane.DaneCheck;
import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Addresses;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.TlsaRecord;
import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.MtaSts;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicyCache;
import dev.postern.mtasts.PolicyFetcher;
import dev.postern.mtasts.StsRecord;
import dev.postern.outbound.NextHop;
import dev.postern.outbound.Router;
import dev.postern.outbound.TlsPlanner;
import dev.postern.outbound.TlsPolicies;
import dev.postern.tls.TlsConfigException;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The DANE and MTA-STS sections of {@code postern domains show}. DANE is asked of DNS the way delivery asks it (the
 * {@link Router}, {@link TlsaLookup#find} through {@link TlsPlanner#tlsa}, {@link TlsPlanner#daneRefusal} and
 * {@link TlsPlanner#plan}), so the command shows what delivery would do; no connection is made. MTA-STS is the
 * gateway's cache, plus the TXT record now when DNS is asked and the policy fetched now with {@code --fetch}
 * (never written to the cache, as {@code postern mta-sts show --fetch}).
 */
final class DomainLookup {
    private DomainLookup() {}

    /** The DANE section when DNS is not asked. */
    static DomainReport.Dane notLookedUp(String why) {
        return new DomainReport.Dane(false, why, null, null, null, List.of());
    }

    /** Every next hop of {@code resolved}'s domain: its addresses, TLSA records and what delivery would do. */
    static DomainReport.Dane dane(Config config, DnsResolver dns, TlsPolicies.Resolved resolved,
                                  TlsPlanner.Floor floor, String note) {
        Router.Result route = new Router(config::routeFor, dns, config.delivery().smtpPort()).route(resolved.domain());
        return switch (route) {
            case Router.Result.Later l -> new DomainReport.Dane(true, note, null,
                    l.security() == null ? null : l.security().word(), l.reason(), List.of());
            case Router.Result.Undeliverable u -> new DomainReport.Dane(true, note, null, null, u.reason() + " ("
                    + u.status() + ")", List.of());
            case Router.Result.Hops h -> {
                TlsPlanner planner = new TlsPlanner();
                List<DomainReport.DaneHost> hosts = new ArrayList<>();
                for (NextHop hop : h.hops()) hosts.add(host(dns, resolved, floor, h, hop, planner));
                // a static route to [host] has no MX answer: its host's address records decide (Router)
                boolean noMx = config.routeFor(resolved.domain()).filter(r -> !r.mxLookup()).isPresent();
                yield new DomainReport.Dane(true, note, h.source(), noMx ? null : h.security().word(), null, hosts);
            }
        };
    }

    /** One host, in the order of the scheduler's {@code tryHops}: addresses, TLSA lookup, DANE refusal, plan. */
    private static DomainReport.DaneHost host(DnsResolver dns, TlsPolicies.Resolved resolved, TlsPlanner.Floor floor,
                                              Router.Result.Hops h, NextHop hop, TlsPlanner planner) {
        Addresses found;
        try {
            found = dns.resolve(hop.host());
        } catch (DnsException e) {
            return new DomainReport.DaneHost(hop.preference(), hop.host(), hop.port(), List.of(),
                    e.bogus() ? "bogus" : null, null, e.getMessage(), null, (e.bogus() ? "bogus: " : "no DANE: ")
                    + "the address lookup failed; delivery skips this host for now", null);
        }
        List<String> addresses = found.addresses().stream().map(InetAddress::getHostAddress).toList();
        if (addresses.isEmpty()) {
            return new DomainReport.DaneHost(hop.preference(), hop.host(), hop.port(), addresses,
                    found.security().word(), found.canonicalName(), "no address", null,
                    "no DANE: the host has no address; delivery skips it", null);
        }
        // Delivery looks TLSA records up only under a DANE level; the command looks anyway, to show the state.
        TlsaLookup.Found used = TlsPlanner.tlsa(resolved, false, dns, hop, h.security(), found);
        TlsaLookup.Found shown = used != null ? used
                : TlsaLookup.find(dns, hop.host(), h.security(), found, hop.port());
        return new DomainReport.DaneHost(hop.preference(), hop.host(), hop.port(), addresses,
                found.security().word(), found.canonicalName(), null, tlsa(shown), dev.postern.probes.TlsProber.dane(shown),
                delivery(planner, resolved, floor, hop, used));
    }

    private static DomainReport.Tlsa tlsa(TlsaLookup.Found found) {
        return switch (found) {
            case TlsaLookup.Found.Secure s -> {
                List<TlsaRecord> records = s.tlsa().records();
                List<TlsaRecord> usable = DaneCheck.usable(records);
                yield new DomainReport.Tlsa("secure", false, s.why(), s.baseDomain(), s.tlsa().owner(),
                        records.stream().map(r -> new DomainReport.TlsaEntry(r.usage(), r.selector(),
                                r.matchingType(), HexFormat.of().formatHex(r.data()), DaneCheck.describe(r),
                                usable.contains(r), DaneCheck.unusable(r))).toList(), usable.size());
            }
            case TlsaLookup.Found.Absent a -> new DomainReport.Tlsa("absent", false, a.why(), null, null, List.of(), 0);
            case TlsaLookup.Found.Failed f -> new DomainReport.Tlsa("failed", f.bogus(), f.why(), null, null,
                    List.of(), 0);
        };
    }


    /**
     * What delivery would do with {@code hop} given the TLSA lookup it makes ({@code used}, null: none) and the
     * downgrade memory's {@code floor} (null: none).
     */
    private static DomainReport.Delivery delivery(TlsPlanner planner, TlsPolicies.Resolved resolved,
                                                  TlsPlanner.Floor floor, NextHop hop, TlsaLookup.Found used) {
        String level = resolved.policy().level().word();
        String refusal = TlsPlanner.daneRefusal(resolved, used);
        if (refusal != null) return new DomainReport.Delivery(refusal, level, resolved.kind().word(), true, false,
                false, null);
        try {
            TlsPlanner.Plan p = planner.plan(resolved, hop.host(), used, floor);
            return new DomainReport.Delivery(p.required() ? p.mxMismatch() : null, p.policy().level().word(),
                    p.resolved().kind().word(), p.required(), p.testing(), p.dane() != null,
                    p.floor() == null ? null : p.floor().describe() + (p.floor().enforce() ? ", refused below it"
                            : ", flagged below it"));
        } catch (TlsConfigException e) {
            return new DomainReport.Delivery("TLS policy for " + resolved.domain() + " cannot be applied: "
                    + e.getMessage(), level, resolved.kind().word(), true, false, false, null);
        }
    }

    /**
     * The MTA-STS section: {@code cache}'s policy and last error; with {@code dns} (null: DNS not asked) the TXT
     * record now; with {@code fetch} the policy fetched now, not cached.
     */
    static DomainReport.MtaSts mtaSts(Config config, PolicyCache cache, String domain, Instant now, DnsResolver dns,
                                      boolean fetch) {
        MtaSts.State state = cache.state(domain);
        CachedPolicy c = state.cached();
        DomainReport.Cached cached = c == null ? null : new DomainReport.Cached(c.id(), c.policy().mode().word(),
                c.policy().mx(), c.policy().maxAge(), c.fetchedAt(), c.expiresAt(), c.expired(now));
        return new DomainReport.MtaSts(config.mtaSts().enabled(), cached, state.lastError(), state.lastErrorAt(),
                dns == null ? null : txt(dns, domain, c), fetch ? fetch(config, dns, domain) : null);
    }

    /** The {@code _mta-sts} TXT record now, compared with the cached policy's id ({@code cached} null: none). */
    static DomainReport.Txt txt(DnsResolver dns, String domain, CachedPolicy cached) {
        try {
            String id = StsRecord.pick(dns.lookupTxt("_mta-sts." + domain)).map(StsRecord::id).orElse(null);
            return new DomainReport.Txt(id, null, id == null || cached == null ? null : id.equals(cached.id()));
        } catch (DnsException e) {
            return new DomainReport.Txt(null, e.getMessage(), null);
        }
    }

    /** The policy fetched now with the gateway's settings; nothing is cached. */
    static DomainReport.Fetched fetch(Config config, DnsResolver dns, String domain) {
        Config.MtaSts m = config.mtaSts();
        try (PolicyFetcher fetcher = new PolicyFetcher(dns, new PolicyFetcher.Settings(m.caFile(),
                m.connectTimeout(), m.fetchTimeout(), m.httpsPort()))) {
            Policy p = fetcher.fetch(domain);
            return new DomainReport.Fetched(p.mode().word(), p.mx(), p.maxAge(), null);
        } catch (PolicyFetcher.FetchException | TlsConfigException e) {
            return new DomainReport.Fetched(null, List.of(), 0, e.getMessage());
        }
    }

    /** A resolver as the gateway builds it; a trust anchor file that cannot be read is one line. */
    static DnsResolver resolver(Config config) throws CliException {
        try {
            return Gateway.resolver(config.dns());
        } catch (IllegalArgumentException e) {
            throw new CliException("postern: [dns]: " + e.getMessage(), 1);
        }
    }
}
