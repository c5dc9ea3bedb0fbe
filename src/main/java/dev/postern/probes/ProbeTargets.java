package dev.postern.probes;

import dev.postern.config.Config;
import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicyCache;
import dev.postern.peers.DomainLevels;
import dev.postern.peers.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Which domains the health probes watch, and why: every domain whose mail a failure would hold up.
 * <ul>
 *   <li>an {@code [outbound_tls]} entry at a level that requires TLS or asks for DANE (encrypt, fingerprint, verify,
 *       secure, dane, dane-only), or in testing mode;</li>
 *   <li>a cached MTA-STS policy in enforce or testing mode, not expired (not for a statically routed domain, which
 *       never consults MTA-STS);</li>
 *   <li>a domain the downgrade memory saw at level dane (unless the memory is off for it);</li>
 *   <li>a {@code [routes]} destination (a partner's gateway) whose configured policy requires TLS;</li>
 *   <li>{@code [probes] domains}.</li>
 * </ul>
 * Wildcard keys ({@code ".example"}) are no domain mail goes to and are left out; local domains too (their mail is
 * not sent over SMTP), unless listed in {@code [probes] domains}.
 */
public final class ProbeTargets {
    private ProbeTargets() {}

    /** A domain to probe, lookup form, and each reason it is probed ("[outbound_tls] verify", "mta-sts enforce"). */
    public record Target(String domain, List<String> sources) {
        public Target {
            sources = List.copyOf(sources);
        }
    }

    /**
     * The targets under {@code config}, with {@code mtaSts} the cached MTA-STS policies and {@code peers} the
     * downgrade memory's levels; by domain.
     */
    public static List<Target> of(Config config, Collection<CachedPolicy> mtaSts, Collection<DomainLevels> peers,
                                  Instant now) {
        Map<String, List<String>> found = new TreeMap<>();
        Config.OutboundTls tls = config.outboundTls();
        for (Map.Entry<String, Config.TlsPolicy> e : tls.domains().entrySet()) {
            if (watched(e.getValue())) add(found, config, e.getKey(), "[outbound_tls] " + words(e.getValue()));
        }
        if (config.mtaSts().enabled()) {
            for (CachedPolicy p : mtaSts) {
                if (p.expired(now) || p.policy().mode() == Policy.Mode.NONE) continue;
                if (config.routeFor(p.domain()).isPresent()) continue;
                add(found, config, p.domain(), "mta-sts " + p.policy().mode().name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        for (DomainLevels l : peers) {
            if (l.out() == null || l.out().level() != Level.DANE) continue;
            if (config.peerMemory().outboundFor(l.domain()) == Config.MemoryMode.OFF) continue;
            add(found, config, l.domain(), "peer memory dane");
        }
        for (Map.Entry<String, Config.Route> e : config.routes().entrySet()) {
            Config.TlsPolicy policy = tls.entryFor(e.getKey()).map(Map.Entry::getValue).orElse(tls.defaultPolicy());
            if (!policy.level().requiresTls() || policy.mode() == Config.PolicyMode.TESTING) continue;
            Config.Route r = e.getValue();
            add(found, config, e.getKey(), "route " + (r.mxLookup() ? r.host() : "[" + r.host() + "]") + ":" + r.port()
                    + " under " + policy.level().word());
        }
        for (String d : config.watch().probes().domains()) {
            found.computeIfAbsent(d, k -> new ArrayList<>()).add("[probes] domains");
        }
        List<Target> out = new ArrayList<>();
        found.forEach((d, why) -> out.add(new Target(d, why)));
        return out;
    }

    /** A level that requires TLS or asks for DANE, or testing mode: a failure there holds mail up or is news. */
    private static boolean watched(Config.TlsPolicy p) {
        return p.level().requiresTls() || p.level() == Config.TlsLevel.DANE || p.mode() == Config.PolicyMode.TESTING;
    }

    private static String words(Config.TlsPolicy p) {
        return p.level().word() + (p.mode() == Config.PolicyMode.TESTING ? " (testing)" : "");
    }

    private static void add(Map<String, List<String>> found, Config config, String domain, String why) {
        if (domain.startsWith(".") || config.localDomains().contains(domain)) return;
        found.computeIfAbsent(domain, k -> new ArrayList<>()).add(why);
    }

    /**
     * The targets of a running gateway, asked per run: {@code config} is its holder (a reload's new domains count at
     * once), {@code peers} its live memory; the MTA-STS cache is read from {@code data/mta-sts} at most once per
     * {@code reread}.
     */
    public static Supplier<List<Target>> live(Supplier<Config> config, Supplier<Collection<DomainLevels>> peers,
                                              Duration reread) {
        return new Supplier<>() {
            private List<CachedPolicy> cached = List.of();
            private long readAt;
            private boolean read;

            @Override public synchronized List<Target> get() {
                Config c = config.get();
                if (!read || System.nanoTime() - readAt > reread.toNanos()) {
                    cached = mtaStsCache(c).all();
                    readAt = System.nanoTime();
                    read = true;
                }
                return of(c, cached, peers.get(), Instant.now());
            }
        };
    }

    /** The gateway's MTA-STS cache as it is on disk. */
    public static PolicyCache mtaStsCache(Config config) {
        Path dir = config.dataDir().resolve("mta-sts");
        return PolicyCache.open(dir, config.mtaSts().maxDomains());
    }
}
