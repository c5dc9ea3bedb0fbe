package dev.postern.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Under {@code trust-ad} the resolver believes the AD bit of its (loopback) server: what DANE reads from MX, address
 * and TLSA answers. {@link TestDnsServer} plays the validating resolver, setting AD on the names made authentic.
 */
class TrustAdTest {
    TestDnsServer dns;
    DnsResolver resolver;

    @BeforeEach void start() throws Exception {
        dns = TestDnsServer.start().ttl(0); // answers change mid-test: nothing cached
        resolver = new DnsResolver(new DnsResolver.Settings(List.of(dns.address()), Duration.ofSeconds(3),
                DnsResolver.Validation.TRUST_AD, null));
        dns.mx("signed.test", 10, "mx.signed.test").a("mx.signed.test", "192.0.2.1")
                .cname("alias.signed.test", "mx.hoster.test").a("mx.hoster.test", "192.0.2.2")
                .tlsa("_25._tcp.mx.signed.test", 3, 1, 1, new byte[32])
                .cname("_25._tcp.alias.signed.test", "_25._tcp.mx.hoster.test")
                .tlsa("_25._tcp.mx.hoster.test", 2, 0, 1, new byte[32]);
        dns.authentic("signed.test", "mx.signed.test", "_25._tcp.mx.signed.test", "alias.signed.test",
                "_25._tcp.alias.signed.test", "_25._tcp.mx.hoster.test");
    }

    @AfterEach void stop() {
        dns.close();
    }

    @Test void authenticAnswersAreSecure() throws Exception {
        assertThat(resolver.lookupMx("signed.test").security()).isEqualTo(Security.SECURE);
        Addresses a = resolver.resolve("mx.signed.test");
        assertThat(a).isEqualTo(new Addresses(List.of(InetAddress.ofLiteral("192.0.2.1")), Security.SECURE,
                "mx.signed.test"));
        TlsaResult t = resolver.lookupTlsa("mx.signed.test", 25);
        assertThat(t.security()).isEqualTo(Security.SECURE);
        assertThat(t.records()).containsExactly(new TlsaRecord(3, 1, 1, new byte[32]));
    }

    @Test void aChainIsAsSecureAsItsWeakestName() throws Exception {
        // alias.signed.test is authentic, mx.hoster.test is not: the chain is insecure, its end the canonical name
        Addresses a = resolver.resolve("alias.signed.test");
        assertThat(a.security()).isEqualTo(Security.INSECURE);
        assertThat(a.canonicalName()).isEqualTo("mx.hoster.test");
        dns.authentic("mx.hoster.test");
        assertThat(resolver.resolve("alias.signed.test").security()).isEqualTo(Security.SECURE);
        // a TLSA CNAME: the records and the name they were found at
        TlsaResult t = resolver.lookupTlsa("alias.signed.test", 25);
        assertThat(t.security()).isEqualTo(Security.SECURE);
        assertThat(t.owner()).isEqualTo("_25._tcp.mx.hoster.test");
        assertThat(t.records()).singleElement().extracting(TlsaRecord::usage).isEqualTo(2);
    }

    @Test void withoutAdOrWithoutTrustEverythingIsInsecure() throws Exception {
        assertThat(resolver.resolve("mx.hoster.test").security()).isEqualTo(Security.INSECURE);
        assertThat(resolver.lookupTlsa("nothing.signed.test", 25).security()).isEqualTo(Security.INSECURE);
        DnsResolver untrusting = new DnsResolver(List.of(dns.address()), Duration.ofSeconds(3));
        assertThat(untrusting.lookupMx("signed.test").security()).isEqualTo(Security.INSECURE);
        assertThat(untrusting.resolve("mx.signed.test").security()).isEqualTo(Security.INSECURE);
        assertThat(untrusting.lookupTlsa("mx.signed.test", 25).security()).isEqualTo(Security.INSECURE);
        // an IP literal is its own answer: nothing in DNS vouches for it
        assertThat(resolver.resolve("192.0.2.1").security()).isEqualTo(Security.INSECURE);
    }

    @Test void aSecureDenialOfTlsaRecords() throws Exception {
        dns.authentic("_25._tcp.none.signed.test");
        TlsaResult t = resolver.lookupTlsa("none.signed.test", 25);
        assertThat(t.records()).isEmpty();
        assertThat(t.security()).isEqualTo(Security.SECURE);
    }
}
