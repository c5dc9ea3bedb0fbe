package dev.postern.mtasts;

import static dev.postern.mtasts.PolicyServer.ok;
import static dev.postern.mtasts.PolicyServer.policy;
import static dev.postern.mtasts.PolicyServer.raw;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.dns.DnsResolver;
import dev.postern.dns.TestDnsServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/**
 * RFC 8461 §5.1 over real DNS and HTTPS: the cache, refresh on a new id, never a failure for a valid cached policy,
 * the cached policy while the record is missing or DNS fails, expiry and the proactive refresher, with a clock the
 * test moves.
 */
class MtaStsTest {
    private static final String IP = "127.0.0.63";
    private static final String TXT = "_mta-sts.b.example";
    private static final String FAILING = "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n";

    @TempDir Path dir;
    private TestDnsServer dns;
    private PolicyServer server;
    private PolicyFetcher fetcher;
    private MtaSts sts;
    private final MovingClock clock = new MovingClock(Instant.parse("2026-12-01T00:00:00Z"));

    static final class MovingClock extends Clock {
        private volatile Instant now;

        MovingClock(Instant start) { now = start; }

        void advance(Duration d) { now = now.plus(d); }

        @Override public Instant instant() { return now; }

        @Override public java.time.ZoneId getZone() { return ZoneOffset.UTC; }

        @Override public Clock withZone(java.time.ZoneId zone) { return this; }
    }

    @BeforeEach void setUp() throws Exception {
        dns = TestDnsServer.start().ttl(0); // the tests change answers: nothing cached across a change
        dns.a("mta-sts.b.example", IP).txt(TXT, "v=STSv1; id=one;");
        PolicyServer.Ca ca = PolicyServer.Ca.create(dir);
        server = PolicyServer.start(IP, ca.issue("mta-sts.b.example", "mta-sts.c.example"),
                ok(policy("enforce", 86400, "mx.b.example")));
        DnsResolver resolver = new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2));
        fetcher = new PolicyFetcher(resolver, new PolicyFetcher.Settings(ca.file(), Duration.ofSeconds(2),
                Duration.ofSeconds(5), server.port()));
        sts = new MtaSts(resolver, fetcher, PolicyCache.open(dir.resolve("mta-sts"), 100), clock, 100);
    }

    @AfterEach void tearDown() throws Exception {
        sts.close();
        server.close();
        dns.close();
    }

    private void txt(String record) {
        dns.remove(TXT, Type.TXT).txt(TXT, record);
    }

    @Test void fetchesOnceAndCachesOnDisk() throws Exception {
        CachedPolicy p = sts.policyFor("b.example").orElseThrow();
        assertThat(p.id()).isEqualTo("one");
        assertThat(p.expiresAt()).isEqualTo(clock.instant().plusSeconds(86400));
        assertThat(p.describe()).startsWith("mta-sts policy id=one mode=enforce (fetched 2026-12-01T00:00:00Z, "
                + "expires 2026-12-02T00:00:00Z)");
        assertThat(sts.policyFor("b.example")).contains(p);
        assertThat(server.requests()).hasSize(1);
        Path file = dir.resolve("mta-sts/b.example.json");
        assertThat(file).exists();
        assertThat(Files.getPosixFilePermissions(file)).hasSize(2); // 0600

        // a new gateway (restart) uses the cached policy without fetching
        MtaSts again = new MtaSts(new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2)), fetcher,
                PolicyCache.open(dir.resolve("mta-sts"), 100), clock, 100);
        assertThat(again.policyFor("b.example").orElseThrow().policy().mx()).containsExactly("mx.b.example");
        assertThat(server.requests()).hasSize(1);
    }

    @Test void aNewIdMeansANewFetch() {
        assertThat(sts.policyFor("b.example").orElseThrow().policy().mode()).isEqualTo(Policy.Mode.ENFORCE);
        server.script(ok(policy("testing", 3600, "*.b.example")));
        txt("v=STSv1; id=two");
        CachedPolicy p = sts.policyFor("b.example").orElseThrow();
        assertThat(p.id()).isEqualTo("two");
        assertThat(p.policy().mode()).isEqualTo(Policy.Mode.TESTING);
        assertThat(server.requests()).hasSize(2);
    }

    @Test void aFailedFetchNeverReplacesTheCachedPolicy() {
        sts.policyFor("b.example").orElseThrow();
        server.script(raw(FAILING));
        txt("v=STSv1; id=two");
        CachedPolicy p = sts.policyFor("b.example").orElseThrow();
        assertThat(p.id()).isEqualTo("one");
        assertThat(p.lastError()).contains("HTTP status \"500\"");
        assertThat(sts.state("b.example").lines(clock.instant())).anyMatch(l -> l.startsWith("last error: ")
                && l.contains("500"));
        // on disk too: a restarted gateway still has the good policy
        assertThat(PolicyCache.open(dir.resolve("mta-sts"), 100).get("b.example").orElseThrow().id()).isEqualTo("one");
        // not fetched again at once for the same id
        sts.policyFor("b.example");
        assertThat(server.requests()).hasSize(2);
        clock.advance(MtaSts.RETRY_FAILED);
        server.script(ok(policy("enforce", 86400, "mx2.b.example")));
        assertThat(sts.policyFor("b.example").orElseThrow().policy().mx()).containsExactly("mx2.b.example");
    }

    @Test void theCachedPolicyHoldsWhileTheRecordIsGoneOrDnsFailsUntilItExpires() {
        sts.policyFor("b.example").orElseThrow();
        dns.remove(TXT, Type.TXT);
        assertThat(sts.policyFor("b.example")).isPresent();
        dns.servfail(TXT);
        assertThat(sts.policyFor("b.example")).isPresent();
        txt("v=STSv1; id=one; v=STSv1"); // invalid
        assertThat(sts.policyFor("b.example")).isPresent();
        assertThat(server.requests()).hasSize(1);
        clock.advance(Duration.ofDays(1));
        dns.clear().a("mta-sts.b.example", IP);
        assertThat(sts.policyFor("b.example")).as("expired").isEmpty();
    }

    @Test void anExpiredPolicyIsFetchedAgainUnderTheSameId() {
        sts.policyFor("b.example").orElseThrow();
        clock.advance(Duration.ofDays(1).plusSeconds(1));
        CachedPolicy p = sts.policyFor("b.example").orElseThrow();
        assertThat(p.fetchedAt()).isEqualTo(clock.instant());
        assertThat(server.requests()).hasSize(2);
    }

    @Test void withoutACachedPolicyAFailureMeansNoPolicy() {
        server.script(raw(FAILING));
        assertThat(sts.policyFor("b.example")).isEmpty();
        assertThat(sts.state("b.example").lastError()).contains("500");
        assertThat(sts.state("b.example").lines(clock.instant())).first().isEqualTo("no cached MTA-STS policy");
        dns.remove(TXT, Type.TXT);
        assertThat(sts.policyFor("c.example")).isEmpty();
    }

    @Test void modeNoneWithdrawsThePolicy() {
        sts.policyFor("b.example").orElseThrow();
        server.script(ok(policy("none", 86400)));
        txt("v=STSv1; id=withdrawn");
        assertThat(sts.policyFor("b.example")).isEmpty();
        assertThat(sts.state("b.example").cached().policy().mode()).isEqualTo(Policy.Mode.NONE);
    }

    @Test void theRefresherRefetchesNearExpiryAndOnANewIdAndDropsExpiredPolicies() {
        sts.policyFor("b.example").orElseThrow();
        clock.advance(Duration.ofHours(12));
        sts.refreshDue(); // half the max_age left: nothing to do but look at the TXT id
        assertThat(server.requests()).hasSize(1);
        clock.advance(Duration.ofHours(7));
        sts.refreshDue(); // 5 h of 24 left: re-fetched under the same id
        assertThat(server.requests()).hasSize(2);
        assertThat(sts.state("b.example").cached().expiresAt()).isEqualTo(clock.instant().plusSeconds(86400));
        txt("v=STSv1; id=two");
        sts.refreshDue();
        assertThat(server.requests()).hasSize(3);
        assertThat(sts.state("b.example").cached().id()).isEqualTo("two");
        clock.advance(Duration.ofDays(2));
        dns.remove(TXT, Type.TXT);
        sts.refreshDue();
        assertThat(sts.state("b.example").cached()).isNull();
        assertThat(dir.resolve("mta-sts/b.example.json")).doesNotExist();
    }

    @Test void theCacheIsCapped() throws Exception {
        PolicyCache small = PolicyCache.open(dir.resolve("small"), 1);
        MtaSts one = new MtaSts(new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2)), fetcher, small,
                clock, 1);
        dns.a("mta-sts.c.example", IP).txt("_mta-sts.c.example", "v=STSv1; id=c");
        one.policyFor("b.example").orElseThrow();
        one.policyFor("c.example").orElseThrow();
        assertThat(small.all()).extracting(CachedPolicy::domain).containsExactly("c.example");
    }
}
