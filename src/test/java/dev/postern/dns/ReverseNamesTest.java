package dev.postern.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Forward-confirmed reverse DNS against a real DNS server on loopback. */
class ReverseNamesTest {
    private TestDnsServer dns;
    private final AtomicLong now = new AtomicLong();
    private DnsResolver resolver;
    private ReverseNames names;

    @BeforeEach void start() throws Exception {
        dns = TestDnsServer.start();
        resolver = new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2));
        names = new ReverseNames(resolver, now::get);
    }

    @AfterEach void stop() {
        dns.close();
    }

    private Optional<String> name(String ip) throws Exception {
        return names.confirmedName(InetAddress.ofLiteral(ip)).get(10, TimeUnit.SECONDS);
    }

    private int queries() {
        return dns.udpQueryCount() + dns.tcpQueryCount();
    }

    @Test void ptrWhoseNameResolvesBackIsConfirmed() throws Exception {
        dns.ptr("192.0.2.10", "Mail.Example.Test").a("mail.example.test", "192.0.2.10");
        dns.ptr("2001:db8::10", "v6.example.test").aaaa("v6.example.test", "2001:db8::10");
        assertThat(name("192.0.2.10")).contains("mail.example.test");
        assertThat(name("2001:db8::10")).contains("v6.example.test");
    }

    @Test void ptrWhoseNameDoesNotResolveBackIsNotTrusted() throws Exception {
        dns.ptr("192.0.2.11", "liar.example.test").a("liar.example.test", "192.0.2.99");
        dns.ptr("192.0.2.12", "nowhere.example.test"); // no A at all
        assertThat(name("192.0.2.11")).isEmpty();
        assertThat(name("192.0.2.12")).isEmpty();
        assertThat(name("192.0.2.13")).as("no PTR").isEmpty();
    }

    @Test void theFirstOfSeveralPtrNamesThatResolvesBackIsTaken() throws Exception {
        dns.ptr("192.0.2.14", "first.example.test").ptr("192.0.2.14", "second.example.test")
                .a("first.example.test", "192.0.2.1").a("second.example.test", "192.0.2.14");
        assertThat(name("192.0.2.14")).contains("second.example.test");
    }

    /** A PTR may hold any name; one with an underscore is no host name and is never shown. */
    @Test void ptrThatIsNoHostNameIsNotTrusted() throws Exception {
        dns.ptr("192.0.2.15", "under_score.example.test").a("under_score.example.test", "192.0.2.15");
        assertThat(name("192.0.2.15")).isEmpty();
    }

    @Test void aServerThatNeverAnswersGivesNoNameAndTheCallReturnsAtOnce() throws Exception {
        dns.silent("16.2.0.192.in-addr.arpa");
        long start = System.nanoTime();
        var future = names.confirmedName(InetAddress.ofLiteral("192.0.2.16"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(200));
        assertThat(future).isNotDone();
        assertThat(future.get(10, TimeUnit.SECONDS)).isEmpty();
    }

    @Test void resultsAreCachedUntilTheirTtlEnds() throws Exception {
        dns.ptr("192.0.2.17", "cached.example.test").a("cached.example.test", "192.0.2.17");
        assertThat(name("192.0.2.17")).contains("cached.example.test");
        int after = queries();
        assertThat(name("192.0.2.17")).contains("cached.example.test");
        assertThat(queries()).as("answered from the cache").isEqualTo(after);

        now.addAndGet(Duration.ofSeconds(301).toNanos()); // TestDnsServer's TTL is 300 s
        dns.clear();
        resolver.clearCache(); // the resolver's own cache runs on the real clock, not this test's
        assertThat(name("192.0.2.17")).as("looked up again once the TTL passed").isEmpty();
        assertThat(queries()).isGreaterThan(after);
    }

    @Test void concurrentCallersShareOneLookup() throws Exception {
        dns.silent("18.2.0.192.in-addr.arpa");
        var first = names.confirmedName(InetAddress.ofLiteral("192.0.2.18"));
        var second = names.confirmedName(InetAddress.ofLiteral("192.0.2.18"));
        assertThat(second).isSameAs(first);
        first.get(10, TimeUnit.SECONDS);
    }

    /** With no [dns] servers the system's resolvers would be asked: never about our own loopback addresses. */
    @Test void loopbackIsLookedUpOnlyWithConfiguredServers() throws Exception {
        assertThat(names.looksUp(InetAddress.ofLiteral("127.0.0.1"))).isTrue();
        ReverseNames system = new ReverseNames(new DnsResolver(List.of(), Duration.ofSeconds(1)));
        assertThat(system.looksUp(InetAddress.ofLiteral("127.0.0.1"))).isFalse();
        assertThat(system.looksUp(InetAddress.ofLiteral("::1"))).isFalse();
        assertThat(system.looksUp(InetAddress.ofLiteral("192.0.2.1"))).isTrue();
        assertThat(system.confirmedName(InetAddress.ofLiteral("127.0.0.1")).getNow(null)).isEmpty();
        assertThat(ReverseNames.NONE.looksUp(InetAddress.ofLiteral("192.0.2.1"))).isFalse();
    }
}
