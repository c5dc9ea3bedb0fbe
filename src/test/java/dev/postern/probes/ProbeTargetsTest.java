package dev.postern.probes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.Policy;
import dev.postern.peers.DomainLevels;
import dev.postern.peers.Level;
import dev.postern.peers.Seen;
import dev.postern.testkit.TestConfigs;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which domains are watched, and why: each source, and what is left out (wildcards, local, may, expired, off). */
class ProbeTargetsTest {
    @TempDir Path data;
    static final Instant NOW = Instant.parse("2026-12-03T08:00:00Z");

    static CachedPolicy sts(String domain, String mode, Instant expires) throws Exception {
        Policy p = Policy.parse("version: STSv1\nmode: " + mode + "\nmx: mx." + domain + "\nmax_age: 86400\n");
        return new CachedPolicy(domain, "id1", p, NOW.minus(Duration.ofDays(1)), expires, null, null);
    }

    static DomainLevels out(String domain, Level level) {
        return new DomainLevels(domain, null, new Seen(level, NOW, NOW, NOW));
    }

    @Test void everySourceAndWhatIsLeftOut() throws Exception {
        Config base = TestConfigs.gateway(data, "gw.test", Set.of("local.test"));
        Config.TlsPolicy verify = Config.TlsPolicy.of(Config.TlsLevel.VERIFY);
        Config.TlsPolicy may = Config.TlsPolicy.of(Config.TlsLevel.MAY);
        Config.TlsPolicy testingMay = new Config.TlsPolicy(Config.TlsLevel.MAY, Config.PolicyMode.TESTING, "TLSv1.2",
                List.of(), 0, -1, List.of(), null, List.of(), null, null);
        Config.OutboundTls tls = new Config.OutboundTls(may, Map.of("bank.test", verify, ".wild.test", verify,
                "local.test", verify, "opportunistic.test", may, "trial.test", testingMay,
                "dane.test", Config.TlsPolicy.of(Config.TlsLevel.DANE), ".partners.test", verify));
        Map<String, Config.Route> routes = Map.of("hub.partners.test", new Config.Route("gw.hub.test", 25, false),
                "other.test", new Config.Route("gw.other.test", 25, false), "stsrouted.test",
                new Config.Route("gw.sts.test", 25, false));
        Config c = new Config(null, base.hostname(), data, base.listeners(), base.localDomains(), Set.of(),
                base.relayNetworks(), base.tls(), base.limits(), base.queue(), base.delivery(), base.dns(), routes, tls,
                base.inbound(), null, null, new Config.PeerMemory(Config.MemoryMode.REFUSE, Config.MemoryMode.FLAG,
                Map.of("off.test", Config.MemoryMode.OFF), 1000, Duration.ofMinutes(1)), null,
                new Config.Watch(null, null, new Config.Probes(true, Duration.ofHours(1), Duration.ofMinutes(1),
                        List.of("listed.test", "bank.test")), null));
        List<CachedPolicy> cache = List.of(sts("sts.test", "enforce", NOW.plusSeconds(60)),
                sts("old.test", "enforce", NOW.minusSeconds(1)), sts("none.test", "none", NOW.plusSeconds(60)),
                sts("stsrouted.test", "testing", NOW.plusSeconds(60)), sts("trysts.test", "testing",
                        NOW.plusSeconds(60)));
        List<DomainLevels> peers = List.of(out("seen.test", Level.DANE), out("verified.test", Level.VERIFIED),
                out("off.test", Level.DANE));

        List<ProbeTargets.Target> t = ProbeTargets.of(c, cache, peers, NOW);
        assertThat(t).extracting(ProbeTargets.Target::domain).containsExactly("bank.test", "dane.test",
                "hub.partners.test", "listed.test", "seen.test", "sts.test", "trial.test", "trysts.test");
        assertThat(t.getFirst().sources()).containsExactly("[outbound_tls] verify", "[probes] domains");
        assertThat(t.get(2).sources()).containsExactly("route [gw.hub.test]:25 under verify");
        assertThat(t.get(4).sources()).containsExactly("peer memory dane");
        assertThat(t.get(5).sources()).containsExactly("mta-sts enforce");
        assertThat(t.get(6).sources()).containsExactly("[outbound_tls] may (testing)");

        // [mta_sts] enabled = false: the cache is not delivery's, so not the probes' either
        Config noSts = new Config(null, c.hostname(), data, c.listeners(), c.localDomains(), Set.of(),
                c.relayNetworks(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), routes, tls, c.inbound(),
                null, new Config.MtaSts(false, null, c.mtaSts().connectTimeout(), c.mtaSts().fetchTimeout(),
                c.mtaSts().httpsPort(), c.mtaSts().maxDomains(), c.mtaSts().refreshInterval(), c.mtaSts().publish()),
                c.peerMemory(), null, c.watch());
        assertThat(ProbeTargets.of(noSts, cache, peers, NOW)).extracting(ProbeTargets.Target::domain)
                .doesNotContain("sts.test", "trysts.test");
    }
}
