package dev.postern.outbound;

import dev.postern.config.Config;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.MxResult;
import dev.postern.dns.Security;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Finds the next hops of a destination domain: a static route when one is configured (exact domain, then ".parent"
 * entries), else the domain's MX hosts, else the domain itself (RFC 5321 §5.1). A null MX (RFC 7505) or a domain
 * that does not exist is final.
 */
public final class Router {

    /** What routing found. */
    public sealed interface Result {
        /**
         * @param security of the MX answer the hops come from (RFC 7672 §2.2.1: DANE only below a secure one);
         *                 SECURE for a static route's host, whose own address records then decide (as Postfix does
         *                 for a next hop that is not an MX)
         */
        record Hops(List<NextHop> hops, String source, Security security) implements Result {
            public Hops(List<NextHop> hops, String source) { this(hops, source, Security.INSECURE); }
        }
        /** Mail to this domain can never be delivered; {@code status} is the enhanced code for the DSN. */
        record Undeliverable(String status, String reason) implements Result {}
        /**
         * Try again later (DNS trouble).
         *
         * @param security {@link Security#BOGUS} when the MX answer failed DNSSEC validation, else null
         */
        record Later(String reason, Security security) implements Result {
            public Later(String reason) { this(reason, null); }
        }
    }

    private final Function<String, Optional<Config.Route>> routes;
    private final DnsResolver dns;
    private final int defaultPort;

    /** @param routes the static route for a domain, if any ({@link Config#routeFor}) */
    public Router(Function<String, Optional<Config.Route>> routes, DnsResolver dns, int defaultPort) {
        this.routes = routes;
        this.dns = dns;
        this.defaultPort = defaultPort;
    }

    /** @param d the destination in lookup form ({@code Domains.toAscii}), as route keys are */
    public Result route(String d) {
        Config.Route r = routes.apply(d).orElse(null);
        if (r != null) {
            int port = r.port() > 0 ? r.port() : defaultPort;
            if (!r.mxLookup()) {
                return new Result.Hops(List.of(new NextHop(r.host(), port)), "static route", Security.SECURE);
            }
            return viaMx(r.host(), port, "static route via MX of " + r.host());
        }
        return viaMx(d, defaultPort, "MX");
    }

    private Result viaMx(String name, int port, String source) {
        MxResult mx;
        try {
            mx = dns.lookupMx(name);
        } catch (DnsException e) {
            return e.temporary() ? new Result.Later("DNS lookup of MX for " + name + " failed: " + e.getMessage(),
                    e.security())
                    : new Result.Undeliverable("5.1.2", "bad destination domain " + name + ": " + e.getMessage());
        }
        return switch (mx) {
            case MxResult.Hosts h -> new Result.Hops(
                    h.hosts().stream().map(m -> new NextHop(m.host(), port, m.preference())).toList(), source,
                    h.security());
            case MxResult.NoMx n -> new Result.Hops(List.of(new NextHop(name, port, 0)), // RFC 5321 §5.1: implicit MX, preference 0
                    source + " (none; using A/AAAA)", n.security());
            case MxResult.NullMx n -> new Result.Undeliverable("5.1.10",
                    "domain " + name + " accepts no mail (null MX, RFC 7505)");
            case MxResult.NoSuchDomain n -> new Result.Undeliverable("5.1.2", "domain " + name + " does not exist");
        };
    }
}
