package dev.postern.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.dns.MxResult.MxHost;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.Type;

class DnsResolverTest {

    private TestDnsServer dns;
    private DnsResolver resolver;

    @BeforeEach
    void start() throws Exception {
        dns = TestDnsServer.start();
        resolver = new DnsResolver(List.of(dns.address()), Duration.ofSeconds(3));
    }

    @AfterEach
    void stop() {
        dns.close();
    }

    @Test
    void mxHostsSortedByPreferenceLowerCasedWithoutTrailingDot() throws Exception {
        dns.mx("example.test", 20, "MX-B.Example.Test.")
                .mx("example.test", 10, "mx-a.example.test")
                .mx("example.test", 30, "mx-c.example.test");

        MxResult result = resolver.lookupMx("Example.TEST");

        assertThat(result).isEqualTo(new MxResult.Hosts(List.of(
                new MxHost(10, "mx-a.example.test"),
                new MxHost(20, "mx-b.example.test"),
                new MxHost(30, "mx-c.example.test"))));
    }

    @Test
    void equalPreferencesComeInRandomOrder() throws Exception {
        dns.mx("example.test", 10, "one.example.test")
                .mx("example.test", 10, "two.example.test")
                .mx("example.test", 5, "first.example.test");
        Set<List<String>> orders = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            var hosts = ((MxResult.Hosts) resolver.lookupMx("example.test")).hosts();
            assertThat(hosts.getFirst()).isEqualTo(new MxHost(5, "first.example.test"));
            orders.add(hosts.stream().map(MxHost::host).toList());
        }
        // 40 fair coin flips all landing the same way: chance 2^-39 of a false failure.
        assertThat(orders).hasSize(2);
    }

    @Test
    void nullMx() throws Exception {
        dns.nullMx("nomail.test").a("nomail.test", "192.0.2.1");
        assertThat(resolver.lookupMx("nomail.test")).isEqualTo(new MxResult.NullMx());
    }

    @Test
    void domainWithoutMxIsNoMx() throws Exception {
        dns.a("plain.test", "192.0.2.1");
        assertThat(resolver.lookupMx("plain.test")).isEqualTo(new MxResult.NoMx());
    }

    @Test
    void unknownDomainIsNoSuchDomain() throws Exception {
        dns.mx("other.test", 10, "mx.other.test");
        assertThat(resolver.lookupMx("missing.test")).isEqualTo(new MxResult.NoSuchDomain());
    }

    @Test
    void cnameAtTheDomainIsFollowed() throws Exception {
        dns.cname("alias.test", "real.test").mx("real.test", 10, "mx.real.test");
        assertThat(resolver.lookupMx("alias.test"))
                .isEqualTo(new MxResult.Hosts(List.of(new MxHost(10, "mx.real.test"))));
    }

    @Test
    void internationalizedDomainIsQueriedAsALabels() throws Exception {
        dns.mx("xn--bcher-kva.test", 10, "mx.xn--bcher-kva.test");
        assertThat(resolver.lookupMx("bücher.test"))
                .isEqualTo(new MxResult.Hosts(List.of(new MxHost(10, "mx.xn--bcher-kva.test"))));
    }

    /** IDNA2008 (UTS #46 non-transitional): straße is its own name, not strasse as java.net.IDN (IDNA2003) made it. */
    @Test
    void sharpSIsKeptAsIdna2008Says() throws Exception {
        dns.mx("xn--strae-oqa.test", 10, "mx.sharp-s.test").mx("strasse.test", 10, "mx.double-s.test");
        assertThat(resolver.lookupMx("Straße.test."))
                .isEqualTo(new MxResult.Hosts(List.of(new MxHost(10, "mx.sharp-s.test"))));
        assertThat(resolver.lookupMx("strasse.test"))
                .isEqualTo(new MxResult.Hosts(List.of(new MxHost(10, "mx.double-s.test"))));
    }

    @Test
    void servfailIsTemporary() {
        dns.servfail("broken.test");
        assertThatThrownBy(() -> resolver.lookupMx("broken.test"))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isTrue());
        assertThatThrownBy(() -> resolver.lookupAddresses("broken.test"))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isTrue());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "exa mple.test", "a..test", "-lead.test", "trail-.test", "x@y.test", ".",
            "xn--zz.test", "a\u200Db.test"})
    void malformedNameIsPermanent(String name) {
        assertThatThrownBy(() -> resolver.lookupMx(name))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isFalse());
        assertThat(dns.udpQueryCount()).isZero();
    }

    @Test
    void ipv4AddressesComeBeforeIpv6() throws Exception {
        dns.aaaa("mx.test", "2001:db8::25").a("mx.test", "192.0.2.25").a("mx.test", "192.0.2.26");

        List<InetAddress> addresses = resolver.lookupAddresses("mx.test");

        assertThat(addresses).containsExactly(
                InetAddress.ofLiteral("192.0.2.25"), InetAddress.ofLiteral("192.0.2.26"),
                InetAddress.ofLiteral("2001:db8::25"));
    }

    @Test
    void addressesThroughCname() throws Exception {
        dns.cname("www.test", "host.test").a("host.test", "192.0.2.9");
        assertThat(resolver.lookupAddresses("www.test")).containsExactly(InetAddress.ofLiteral("192.0.2.9"));
    }

    @Test
    void onlyIpv6() throws Exception {
        dns.aaaa("v6.test", "2001:db8::6");
        assertThat(resolver.lookupAddresses("v6.test")).containsExactly(InetAddress.ofLiteral("2001:db8::6"));
    }

    @Test
    void nxdomainAndNodataGiveNoAddresses() throws Exception {
        dns.mx("mailonly.test", 10, "mx.elsewhere.test");
        assertThat(resolver.lookupAddresses("missing.test")).isEmpty();
        assertThat(resolver.lookupAddresses("mailonly.test")).isEmpty();
    }

    @Test
    void oneFamilyFailingStillReturnsTheOther() throws Exception {
        dns.a("half.test", "192.0.2.4").servfail("half.test", Type.AAAA);
        assertThat(resolver.lookupAddresses("half.test")).containsExactly(InetAddress.ofLiteral("192.0.2.4"));
    }

    @Test
    void nxdomainOnOneFamilyIsFinalEvenIfTheOtherFailed() throws Exception {
        dns.servfail("gone.test", Type.AAAA);
        assertThat(resolver.lookupAddresses("gone.test")).isEmpty();
    }

    @Test
    void nodataOnOneFamilyAndFailureOnTheOtherIsTemporary() {
        // Returning "no addresses" here could bounce mail the failed family would have routed.
        dns.aaaa("v6only.test", "2001:db8::7").servfail("v6only.test", Type.AAAA);
        assertThatThrownBy(() -> resolver.lookupAddresses("v6only.test"))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isTrue());
    }

    @ParameterizedTest
    @ValueSource(strings = {"192.0.2.7", "2001:db8::1", "[2001:db8::1]"})
    void ipLiteralIsReturnedWithoutQuery(String literal) throws Exception {
        assertThat(resolver.lookupAddresses(literal))
                .containsExactly(InetAddress.ofLiteral(literal.replace("[", "").replace("]", "")));
        assertThat(dns.udpQueryCount() + dns.tcpQueryCount()).isZero();
    }

    @Test
    void largeAnswerIsTruncatedOverUdpAndRetriedOverTcp() throws Exception {
        // ~100 records of ~25 bytes each: well beyond the 1280-byte EDNS size dnsjava advertises.
        for (int i = 0; i < 100; i++) {
            dns.mx("big.test", i, "mx" + i + ".big.test");
        }

        MxResult result = resolver.lookupMx("big.test");

        assertThat(result).isInstanceOfSatisfying(MxResult.Hosts.class, hosts -> {
            assertThat(hosts.hosts()).hasSize(100);
            assertThat(hosts.hosts().getFirst()).isEqualTo(new MxHost(0, "mx0.big.test"));
            assertThat(hosts.hosts().getLast()).isEqualTo(new MxHost(99, "mx99.big.test"));
        });
        assertThat(dns.udpQueryCount()).isEqualTo(1);
        assertThat(dns.tcpQueryCount()).isEqualTo(1);
    }

    @Test
    void serverThatNeverAnswersGivesTemporaryFailureWithinTimeout() throws Exception {
        try (DatagramSocket blackHole = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            Thread.ofVirtual().start(() -> {
                byte[] buffer = new byte[4096];
                while (!blackHole.isClosed()) {
                    try {
                        blackHole.receive(new DatagramPacket(buffer, buffer.length));
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            var slow = new DnsResolver(List.of((InetSocketAddress) blackHole.getLocalSocketAddress()),
                    Duration.ofMillis(600));

            long start = System.nanoTime();
            assertThatThrownBy(() -> slow.lookupMx("example.test"))
                    .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isTrue());
            assertThatThrownBy(() -> slow.lookupAddresses("example.test"))
                    .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isTrue());
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);

            assertThat(elapsed).isBetween(Duration.ofMillis(1000), Duration.ofMillis(3000));
        }
    }

    @Test
    void silentNameTimesOutWhileOthersStillAnswer() throws Exception {
        var quick = new DnsResolver(List.of(dns.address()), Duration.ofMillis(500));
        dns.silent("slow.test").a("fast.test", "192.0.2.1");

        assertThatThrownBy(() -> quick.lookupAddresses("slow.test"))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isTrue());
        assertThat(quick.lookupAddresses("fast.test")).containsExactly(InetAddress.ofLiteral("192.0.2.1"));
        // the reason says what happened, whichever timer gave up first (was: "java.io.IOException: Timed out ...")
        assertThatThrownBy(() -> quick.lookupMx("slow.test")).hasMessage("DNS timeout for slow.test/MX");
    }

    @Test
    void secondServerAnswersWhenFirstIsDead() throws Exception {
        dns.a("host.test", "192.0.2.3");
        InetSocketAddress dead;
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            dead = (InetSocketAddress) s.getLocalSocketAddress(); // closed: nothing listens there any more
        }
        var twoServers = new DnsResolver(List.of(dead, dns.address()), Duration.ofSeconds(3));
        for (int i = 0; i < 5; i++) {
            assertThat(twoServers.lookupAddresses("host.test")).containsExactly(InetAddress.ofLiteral("192.0.2.3"));
        }
    }

    @Test
    void ptrNamesOfIpv4AndIpv6InLookupForm() throws Exception {
        dns.ptr("192.0.2.7", "Host.Example.Test.").ptr("2001:db8::7", "v6.example.test");
        assertThat(resolver.lookupPtr(InetAddress.ofLiteral("192.0.2.7"))).containsExactly("host.example.test");
        assertThat(resolver.lookupPtr(InetAddress.ofLiteral("2001:db8::7"))).containsExactly("v6.example.test");
        assertThat(resolver.lookupPtr(InetAddress.ofLiteral("192.0.2.8"))).as("NXDOMAIN").isEmpty();
    }

    /** RFC 2317: a classless delegation answers the PTR question with a CNAME into the delegated zone. */
    @Test
    void ptrThroughClasslessDelegationCname() throws Exception {
        dns.cname("9.2.0.192.in-addr.arpa", "9.0-25.2.0.192.in-addr.arpa")
                .add(new org.xbill.DNS.PTRRecord(org.xbill.DNS.Name.fromString("9.0-25.2.0.192.in-addr.arpa."),
                        org.xbill.DNS.DClass.IN, 60, org.xbill.DNS.Name.fromString("small.example.test.")));
        assertThat(resolver.lookupPtr(InetAddress.ofLiteral("192.0.2.9"))).containsExactly("small.example.test");
    }

    @Test
    void ptrServfailIsTemporary() {
        dns.servfail("7.2.0.192.in-addr.arpa");
        assertThatThrownBy(() -> resolver.lookupPtr(InetAddress.ofLiteral("192.0.2.7")))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.temporary()).isTrue());
    }
}
