package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.RecordCodec;
import dev.postern.dns.TestDnsServer;
import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicyCache;
import dev.postern.mtasts.PolicyServer;
import dev.postern.peers.Direction;
import dev.postern.peers.Level;
import dev.postern.peers.PeerLevels;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/**
 * {@code postern domains show} asking DNS: a DNS server on loopback plays a validating resolver (AD on the names of a
 * signed world) which the config trusts ({@code trust_ad}), as the gateway would. signed.example has secure TLSA
 * records, insecure.example an unsigned MX, bogus.example a TLSA answer that fails validation, sts.example a cached
 * MTA-STS policy whose last fetch failed and whose TXT id changed since.
 */
class DomainsLookupTest {
    @TempDir Path dir;
    TestDnsServer dns;
    Path config;

    static final byte[] SHA256 = new byte[32];

    @BeforeEach void world() throws Exception {
        SHA256[0] = (byte) 0xab;
        dns = TestDnsServer.start();
        dns.mx("signed.example", 10, "mx.signed.example").a("mx.signed.example", "127.0.0.41")
                .tlsa("_25._tcp.mx.signed.example", 3, 1, 1, SHA256)
                .tlsa("_25._tcp.mx.signed.example", 2, 0, 1, SHA256)
                .tlsa("_25._tcp.mx.signed.example", 1, 1, 1, SHA256) // PKIX-EE: unusable for SMTP
                .mx("insecure.example", 10, "mx.insecure.example").a("mx.insecure.example", "127.0.0.42")
                .mx("only.example", 10, "mx.insecure.example")
                .mx("bogus.example", 10, "mx.bogus.example").a("mx.bogus.example", "127.0.0.43")
                .bogus("_25._tcp.mx.bogus.example", Type.TLSA)
                .mx("sts.example", 10, "mx.sts.example").a("mx.sts.example", "127.0.0.44")
                .txt("_mta-sts.sts.example", "v=STSv1; id=20261202")
                .authentic("signed.example", "mx.signed.example", "_25._tcp.mx.signed.example", "bogus.example",
                        "mx.bogus.example");
        config = config(dns.address().getPort(), "");
    }

    @AfterEach void stop() {
        dns.close();
    }

    private Path config(int port, String more) throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, """
                hostname = "gw.a.example"
                data_dir = "data"
                local_domains = ["a.example"]

                [dns]
                servers = ["127.0.0.1:%d"]
                timeout = "1s"
                trust_ad = true

                [outbound_tls."only.example"]
                level = "dane-only"

                [outbound_tls."may.example"]
                level = "may"

                [routes]
                "routed.example" = "[127.0.0.46]:2525"
                %s
                """.formatted(port, more));
        return f;
    }

    private Cli.Result show(String... args) {
        Cli.Result r = Cli.withConfig(config, List.of("domains", "show"), args);
        assertThat(r.exit()).as(r.toString()).isZero();
        return r;
    }

    @Test void secureTlsaRecords() throws Exception {
        Cli.Result r = show("signed.example");
        String hex = HexFormat.of().formatHex(SHA256);
        assertThat(r.outLines()).containsSubsequence("  DANE",
                "    level dane uses DANE; asked DNS now (--no-lookup skips it)",
                "    next hops: MX, answer secure",
                "    mx.signed.example:25 (preference 10)",
                "      addresses: 127.0.0.41, secure",
                "      TLSA 3 1 1 " + hex,
                "      TLSA 2 0 1 " + hex,
                "      TLSA 1 1 1 " + hex + " (unusable: PKIX usages are not used for SMTP (RFC 7672 §3.1.3))",
                "      DANE applies (3 records, 2 usable)",
                "      delivery: level dane [dane], TLS required, judged by the TLSA records",
                "  MTA-STS",
                "    no cached policy",
                "    TXT now:     no valid v=STSv1 record (no MTA-STS)");

        JsonNode j = RecordCodec.mapper().readTree(show("signed.example", "--json").out());
        JsonNode dane = j.get("dane");
        assertThat(dane.get("lookedUp").asBoolean()).isTrue();
        assertThat(dane.get("mxSecurity").asText()).isEqualTo("secure");
        JsonNode host = dane.get("hosts").get(0);
        assertThat(host.get("host").asText()).isEqualTo("mx.signed.example");
        assertThat(host.get("addresses").get(0).asText()).isEqualTo("127.0.0.41");
        assertThat(host.get("addressSecurity").asText()).isEqualTo("secure");
        JsonNode tlsa = host.get("tlsa");
        assertThat(tlsa.get("status").asText()).isEqualTo("secure");
        assertThat(tlsa.get("baseDomain").asText()).isEqualTo("mx.signed.example");
        assertThat(tlsa.get("usable").asInt()).isEqualTo(2);
        assertThat(tlsa.get("records")).hasSize(3);
        assertThat(tlsa.get("records").get(0).get("usage").asInt()).isEqualTo(3);
        assertThat(tlsa.get("records").get(0).get("data").asText()).isEqualTo(hex);
        assertThat(tlsa.get("records").get(0).get("usable").asBoolean()).isTrue();
        assertThat(tlsa.get("records").get(2).get("usable").asBoolean()).isFalse();
        assertThat(host.get("delivery").get("dane").asBoolean()).isTrue();
        assertThat(host.get("delivery").get("required").asBoolean()).isTrue();
        assertThat(host.get("delivery").get("refused").isNull()).isTrue();
        JsonNode sts = j.get("mtaSts");
        assertThat(sts.get("cached").isNull()).isTrue();
        assertThat(sts.get("txt").get("id").isNull()).isTrue();
        assertThat(sts.get("fetched").isNull()).isTrue();
    }

    @Test void insecureMx() throws Exception {
        assertThat(show("insecure.example").outLines()).containsSubsequence(
                "    next hops: MX, answer insecure",
                "    mx.insecure.example:25 (preference 10)",
                "      addresses: 127.0.0.42, insecure",
                "      no DANE: the MX answer is not DNSSEC-secure",
                "      delivery: level dane [default], STARTTLS when offered");
        // under dane-only the same host is not used at all
        assertThat(show("only.example").outLines()).containsSubsequence(
                "    level dane-only uses DANE; asked DNS now (--no-lookup skips it)",
                "      no DANE: the MX answer is not DNSSEC-secure",
                "      delivery: host not used: no DNSSEC-secure TLSA records (level dane-only): the MX answer is "
                        + "not DNSSEC-secure");
        // the downgrade memory saw insecure.example with TLS: its floor joins the plan, as in delivery
        try (PeerLevels levels = PeerLevels.open(dir.resolve("data"), 100, Duration.ofSeconds(1))) {
            levels.observe("insecure.example", Direction.OUT, Level.ENCRYPTED, Instant.parse("2026-12-01T09:00:00Z"));
        }
        assertThat(show("insecure.example").outLines()).containsSubsequence(
                "      no DANE: the MX answer is not DNSSEC-secure",
                "      delivery: level dane [default], TLS required",
                "        and peer memory: insecure.example seen at encrypted since 2026-12-01T09:00:00Z, refused "
                        + "below it");
        // a static route to [address]: no MX answer; an IP literal has no secure address records
        assertThat(show("routed.example").outLines()).containsSubsequence(
                "    next hops: static route (no MX answer: the host's address records decide)",
                "    127.0.0.46:2525 (preference -1)",
                "      addresses: 127.0.0.46, insecure",
                "      no DANE: the address records of 127.0.0.46 are not DNSSEC-secure",
                "      delivery: level dane [default], STARTTLS when offered");
        JsonNode j = RecordCodec.mapper().readTree(show("only.example", "--json").out());
        JsonNode host = j.get("dane").get("hosts").get(0);
        assertThat(j.get("dane").get("mxSecurity").asText()).isEqualTo("insecure");
        assertThat(host.get("tlsa").get("status").asText()).isEqualTo("absent");
        assertThat(host.get("delivery").get("refused").asText()).startsWith("no DNSSEC-secure TLSA records");
    }

    @Test void bogusTlsaAnswer() throws Exception {
        List<String> lines = show("bogus.example").outLines();
        assertThat(lines).contains("    next hops: MX, answer secure", "      addresses: 127.0.0.43, secure");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith(
                "      bogus: TLSA lookup of _25._tcp.mx.bogus.example is bogus: DNSSEC validation failed"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith(
                "      delivery: host not used: TLSA lookup of _25._tcp.mx.bogus.example is bogus"));
        JsonNode tlsa = RecordCodec.mapper().readTree(show("bogus.example", "--json").out()).get("dane")
                .get("hosts").get(0).get("tlsa");
        assertThat(tlsa.get("status").asText()).isEqualTo("failed");
        assertThat(tlsa.get("bogus").asBoolean()).isTrue();
        assertThat(tlsa.get("records")).isEmpty();
    }

    @Test void cachedMtaStsPolicyWithAnError() throws Exception {
        Instant now = Instant.now();
        Policy p = Policy.parse("version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.example\r\nmax_age: 86400\r\n");
        PolicyCache.open(dir.resolve("data/mta-sts"), 10).put(new CachedPolicy("sts.example", "20261101", p,
                now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)), "HTTP status \"500\", expected 200",
                now));
        // offline: the cache alone, DNS not asked
        List<String> offline = show("sts.example", "--no-lookup").outLines();
        assertThat(offline).containsSubsequence("  DANE", "    not looked up: --no-lookup", "  MTA-STS",
                "    policy id:   20261101", "    mode:        enforce", "    mx:          *.elsewhere.example",
                "    max_age:     86400 s");
        assertThat(offline).anySatisfy(l -> assertThat(l).startsWith("    last error:  ")
                .endsWith(" HTTP status \"500\", expected 200"));
        assertThat(offline).noneSatisfy(l -> assertThat(l).contains("TXT now"));
        // asked: the TXT id changed; the MX host is outside the enforced policy's mx patterns (DANE does not apply)
        List<String> live = show("sts.example").outLines();
        assertThat(live).anySatisfy(l -> assertThat(l).startsWith(
                "    source:    mta-sts policy id=20261101 mode=enforce"));
        assertThat(live).contains("    TXT now:     id=20261202, not the cached id: the gateway fetches the new "
                + "policy at its next delivery or refresh", "      no DANE: the MX answer is not DNSSEC-secure");
        assertThat(live).anySatisfy(l -> assertThat(l).startsWith("      delivery: host not used: ")
                .contains("mx.sts.example"));
        JsonNode sts = RecordCodec.mapper().readTree(show("sts.example", "--json").out()).get("mtaSts");
        assertThat(sts.get("enabled").asBoolean()).isTrue();
        assertThat(sts.get("cached").get("id").asText()).isEqualTo("20261101");
        assertThat(sts.get("cached").get("mode").asText()).isEqualTo("enforce");
        assertThat(sts.get("cached").get("mx").get(0).asText()).isEqualTo("*.elsewhere.example");
        assertThat(sts.get("cached").get("expired").asBoolean()).isFalse();
        assertThat(sts.get("lastError").asText()).contains("500");
        assertThat(sts.get("txt").get("id").asText()).isEqualTo("20261202");
        assertThat(sts.get("txt").get("matchesCache").asBoolean()).isFalse();
    }

    @Test void fetchShowsThePolicyWithoutCachingIt() throws Exception {
        PolicyServer.Ca ca = PolicyServer.Ca.create(dir);
        dns.a("mta-sts.sts.example", "127.0.0.45");
        try (PolicyServer host = PolicyServer.start("127.0.0.45", ca.issue("mta-sts.sts.example"),
                PolicyServer.ok(PolicyServer.policy("testing", 3600, "mx.sts.example")))) {
            config = config(dns.address().getPort(), "\n[mta_sts]\nca_file = \"" + ca.file() + "\"\nhttps_port = "
                    + host.port() + "\n");
            List<String> lines = show("sts.example", "--fetch").outLines();
            assertThat(lines).containsSubsequence("  MTA-STS", "    no cached policy",
                    "    TXT now:     id=20261202, nothing cached: the gateway fetches the policy at its next delivery",
                    "    fetched now: mode testing, mx mx.sts.example, max_age 3600 s (not cached)");
            assertThat(host.requests()).singleElement().extracting(PolicyServer.Request::sni)
                    .isEqualTo("mta-sts.sts.example");
            JsonNode fetched = RecordCodec.mapper().readTree(show("sts.example", "--fetch", "--json").out())
                    .get("mtaSts").get("fetched");
            assertThat(fetched.get("mode").asText()).isEqualTo("testing");
            assertThat(fetched.get("maxAge").asLong()).isEqualTo(3600);
            assertThat(fetched.get("error").isNull()).isTrue();
        }
        // the gateway's cache is left as it was: empty
        assertThat(PolicyCache.open(dir.resolve("data/mta-sts"), 10).all()).isEmpty();
        // the policy host gone: the failure is said, the command still ends well
        assertThat(show("sts.example", "--fetch").outLines()).anySatisfy(l -> assertThat(l)
                .startsWith("    fetched now: failed: mta-sts.sts.example[127.0.0.45]:"));
    }

    @Test void otherLevelsAskDnsOnlyWhenTold() throws Exception {
        assertThat(show("may.example").outLines()).contains("  DANE",
                "    not looked up: level may does not use DANE; --lookup asks DNS");
        assertThat(show("may.example", "--lookup").outLines()).contains(
                "    asked DNS now (--lookup); level may does not use DANE",
                "    next hops: domain may.example does not exist (5.1.2)");
        // a DNS server that does not answer: the command says so and ends (the configured timeout, 1 s)
        try (ServerSocket closed = new ServerSocket(0)) {
            config = config(closed.getLocalPort() /* no UDP listener there */, "");
        }
        long start = System.nanoTime();
        List<String> lines = show("signed.example").outLines();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("    next hops: DNS lookup of MX for "
                + "signed.example failed: "));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("    TXT now:     lookup failed: "));
    }

    @Test void badInputIsOneLine() throws Exception {
        Cli.Result both = Cli.run("domains", "show", "signed.example", "--lookup", "--no-lookup", "--config",
                config.toString());
        assertThat(both.exit()).isEqualTo(2);
        assertThat(both.errLines()).containsExactly("postern: --no-lookup: expected alone, not with --lookup");
        config = config(dns.address().getPort(), "[mta_sts]\nenabled = \"yes\"\n");
        Cli.Result bad = Cli.run("domains", "show", "signed.example", "--config", config.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.errLines()).singleElement().asString().contains("postern.toml").contains("enabled");
        assertThat(bad.out()).isEmpty();
    }
}
