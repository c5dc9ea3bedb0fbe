package dev.postern.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.testkit.SignedDnsWorld;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * DNSSEC through the real wire protocol: a signed world served by NSD, asked by Postern validating itself (VALIDATE,
 * anchored at the test root) and through a validating Unbound whose AD bit Postern trusts (TRUST_AD).
 */
class DnssecResolverTest {

    private static final String TLSA_DATA = "3 1 1 " + "ab".repeat(32);
    private static final Duration TIMEOUT = Duration.ofSeconds(3);

    @TempDir static Path dir;
    private static SignedDnsWorld world;

    /** The two ways Postern learns that an answer is secure. */
    enum Mode {
        VALIDATE, TRUST_AD;

        DnsResolver resolver() {
            return new DnsResolver(this == VALIDATE ? world.validating(TIMEOUT) : world.trustingUnbound(TIMEOUT));
        }
    }

    @BeforeAll static void startWorld() {
        long started = System.nanoTime();
        world = new SignedDnsWorld(dir);
        world.zone("secure.test")
                .mx("secure.test", 10, "mx.secure.test")
                .a("mx.secure.test", "127.0.0.10").aaaa("mx.secure.test", "::1")
                .tlsa("_25._tcp.mx.secure.test", TLSA_DATA)
                .a("only-a.secure.test", "127.0.0.13")
                .txt("_mta-sts.secure.test", "v=STSv1; id=20260101")
                // an MX host that is an alias, secure all the way, and one into the unsigned zone
                .mx("alias.secure.test", 10, "mxalias.secure.test")
                .cname("mxalias.secure.test", "mx.secure.test")
                .cname("_25._tcp.mxalias.secure.test", "_25._tcp.mx.secure.test")
                .mx("outward.secure.test", 10, "mxout.secure.test")
                .cname("mxout.secure.test", "mx.plain.test");
        world.zone("nsec3.test").nsec3().mx("nsec3.test", 10, "mx.nsec3.test").a("mx.nsec3.test", "127.0.0.14");
        world.unsignedZone("plain.test").mx("plain.test", 10, "mx.plain.test").a("mx.plain.test", "127.0.0.11")
                .tlsa("_25._tcp.mx.plain.test", TLSA_DATA)
                // aliases in the unsigned zone for names in the signed one
                .cname("inward.plain.test", "mx.secure.test").cname("inward-a.plain.test", "only-a.secure.test");
        world.zone("bogus.test").mx("bogus.test", 10, "mx.bogus.test").a("mx.bogus.test", "127.0.0.12")
                .tlsa("_25._tcp.mx.bogus.test", TLSA_DATA)
                .tamper("_25._tcp.mx.bogus.test", "TLSA", "3 1 1 " + "cd".repeat(32));
        world.zone("expired.test").expired().mx("expired.test", 10, "mx.expired.test")
                .a("mx.expired.test", "127.0.0.15");
        world.start(true);
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        // well under a second on an idle machine; the bound leaves room for a busy CI runner
        assertThat(took).as("the signed world starts quickly").isLessThan(Duration.ofSeconds(5));
    }

    @AfterAll static void stopWorld() {
        if (world != null) world.close();
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void secureMxAndAddresses(Mode mode) throws Exception {
        DnsResolver dns = mode.resolver();
        for (int round = 0; round < 2; round++) { // the second round is answered from the cache
            MxResult mx = dns.lookupMx("secure.test");
            assertThat(mx).isEqualTo(new MxResult.Hosts(List.of(new MxResult.MxHost(10, "mx.secure.test")),
                    Security.SECURE));
            Addresses a = dns.resolve("mx.secure.test");
            assertThat(a.addresses()).containsExactly(InetAddress.ofLiteral("127.0.0.10"),
                    InetAddress.ofLiteral("::1"));
            assertThat(a.security()).as("round %d", round).isEqualTo(Security.SECURE);
            assertThat(a.canonicalName()).isEqualTo("mx.secure.test");
        }
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void unsignedDelegationIsInsecure(Mode mode) throws Exception {
        DnsResolver dns = mode.resolver();
        assertThat(dns.lookupMx("plain.test")).isEqualTo(new MxResult.Hosts(
                List.of(new MxResult.MxHost(10, "mx.plain.test")), Security.INSECURE));
        Addresses a = dns.resolve("mx.plain.test");
        assertThat(a.addresses()).containsExactly(InetAddress.ofLiteral("127.0.0.11"));
        assertThat(a.security()).isEqualTo(Security.INSECURE);
        TlsaResult tlsa = dns.lookupTlsa("mx.plain.test", 25);
        assertThat(tlsa.records()).hasSize(1);
        assertThat(tlsa.security()).as("records there, but nothing vouches for them").isEqualTo(Security.INSECURE);
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void secureTlsa(Mode mode) throws Exception {
        TlsaResult tlsa = mode.resolver().lookupTlsa("mx.secure.test", 25);
        assertThat(tlsa.queried()).isEqualTo("_25._tcp.mx.secure.test");
        assertThat(tlsa.owner()).isEqualTo("_25._tcp.mx.secure.test");
        assertThat(tlsa.records()).extracting(TlsaRecord::toString).containsExactly(TLSA_DATA);
        assertThat(tlsa.security()).isEqualTo(Security.SECURE);
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void badSignatureOnTlsaIsBogus(Mode mode) throws Exception {
        DnsResolver dns = mode.resolver();
        for (int round = 0; round < 2; round++) { // a bogus answer is not cached as a good one
            assertThatThrownBy(() -> dns.lookupTlsa("mx.bogus.test", 25))
                    .isInstanceOfSatisfying(DnsException.class, e -> {
                        assertThat(e.bogus()).isTrue();
                        assertThat(e.temporary()).isTrue();
                        assertThat(e.security()).isEqualTo(Security.BOGUS);
                    })
                    .hasMessageStartingWith("DNSSEC validation failed for _25._tcp.mx.bogus.test/TLSA: ");
        }
        // The rest of the zone is fine.
        assertThat(dns.lookupMx("bogus.test").security()).isEqualTo(Security.SECURE);
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void bogusMxIsATemporaryFailureNeverABounce(Mode mode) {
        assertThatThrownBy(() -> mode.resolver().lookupMx("expired.test"))
                .isInstanceOfSatisfying(DnsException.class, e -> {
                    assertThat(e.temporary()).as("defer, never bounce").isTrue();
                    assertThat(e.bogus()).isTrue();
                });
        assertThatThrownBy(() -> mode.resolver().resolve("mx.expired.test"))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.bogus()).isTrue());
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void mxHostThatIsASecureAlias(Mode mode) throws Exception {
        DnsResolver dns = mode.resolver();
        assertThat(dns.lookupMx("alias.secure.test")).isEqualTo(new MxResult.Hosts(
                List.of(new MxResult.MxHost(10, "mxalias.secure.test")), Security.SECURE));
        for (int round = 0; round < 2; round++) {
            Addresses a = dns.resolve("mxalias.secure.test");
            assertThat(a.canonicalName()).isEqualTo("mx.secure.test");
            assertThat(a.addresses()).contains(InetAddress.ofLiteral("127.0.0.10"));
            assertThat(a.security()).as("round %d", round).isEqualTo(Security.SECURE);
        }
        TlsaResult tlsa = dns.lookupTlsa("mxalias.secure.test", 25);
        assertThat(tlsa.queried()).isEqualTo("_25._tcp.mxalias.secure.test");
        assertThat(tlsa.owner()).as("the owner is the alias's target").isEqualTo("_25._tcp.mx.secure.test");
        assertThat(tlsa.records()).extracting(TlsaRecord::toString).containsExactly(TLSA_DATA);
        assertThat(tlsa.security()).isEqualTo(Security.SECURE);
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void aliasIntoAnUnsignedZoneIsInsecure(Mode mode) throws Exception {
        DnsResolver dns = mode.resolver();
        assertThat(dns.lookupMx("outward.secure.test").security()).isEqualTo(Security.SECURE);
        for (int round = 0; round < 2; round++) {
            Addresses a = dns.resolve("mxout.secure.test");
            assertThat(a.canonicalName()).isEqualTo("mx.plain.test");
            assertThat(a.addresses()).containsExactly(InetAddress.ofLiteral("127.0.0.11"));
            assertThat(a.security()).as("round %d: as secure as the weakest link", round)
                    .isEqualTo(Security.INSECURE);
            // and the target asked directly afterwards is no more secure for having been reached by a signed alias
            assertThat(dns.resolve("mx.plain.test").security()).isEqualTo(Security.INSECURE);
        }
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void anAliasFromAnUnsignedZoneLeavesItsSignedTargetSecure(Mode mode) throws Exception {
        // the alias's (insecure) answer carries the target's records: they must not be taken as the target's own
        // answer, before (a cached secure answer) or after (the target never asked directly yet)
        for (boolean targetFirst : new boolean[] {true, false}) {
            DnsResolver dns = mode.resolver();
            for (String target : List.of("mx.secure.test", "only-a.secure.test")) { // AAAA: a record, a denial
                if (targetFirst) assertThat(dns.resolve(target).security()).isEqualTo(Security.SECURE);
            }
            for (int round = 0; round < 2; round++) {
                for (String[] alias : new String[][] {{"inward.plain.test", "mx.secure.test"},
                        {"inward-a.plain.test", "only-a.secure.test"}}) {
                    String what = alias[0] + (targetFirst ? ", target first" : "") + ", round " + round;
                    Addresses a = dns.resolve(alias[0]);
                    assertThat(a.canonicalName()).as(what).isEqualTo(alias[1]);
                    assertThat(a.addresses()).as(what).isNotEmpty();
                    assertThat(a.security()).as(what).isEqualTo(Security.INSECURE);
                    Addresses direct = dns.resolve(alias[1]);
                    assertThat(direct.addresses()).as(what).isEqualTo(a.addresses());
                    assertThat(direct.security()).as(what).isEqualTo(Security.SECURE);
                }
            }
        }
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void securelyDeniedNames(Mode mode) throws Exception {
        DnsResolver dns = mode.resolver();
        for (String zone : List.of("secure.test", "nsec3.test")) { // NSEC and NSEC3
            assertThat(dns.lookupMx("nothere." + zone)).as(zone).isEqualTo(new MxResult.NoSuchDomain(Security.SECURE));
            // NODATA: the name exists, without TLSA records
            TlsaResult none = dns.lookupTlsa("mx." + zone, 26);
            assertThat(none.records()).isEmpty();
            assertThat(none.security()).as("%s: denial of a TLSA RRset", zone).isEqualTo(Security.SECURE);
        }
        assertThat(dns.lookupMx("only-a.secure.test")).isEqualTo(new MxResult.NoMx(Security.SECURE));
        assertThat(dns.lookupMx("nothere.plain.test")).isEqualTo(new MxResult.NoSuchDomain(Security.INSECURE));
        assertThat(dns.resolve("nothere.secure.test").addresses()).isEmpty();
    }

    @ParameterizedTest @EnumSource(Mode.class)
    void txt(Mode mode) throws Exception {
        DnsResolver dns = mode.resolver();
        assertThat(dns.lookupTxt("_mta-sts.secure.test")).containsExactly("v=STSv1; id=20260101");
        assertThat(dns.lookupTxt("_mta-sts.plain.test")).isEmpty();
    }

    @Test void offModeCallsEverythingInsecureAndDoesNotValidate() throws Exception {
        DnsResolver dns = new DnsResolver(List.of(world.nsd()), TIMEOUT);
        assertThat(dns.lookupMx("secure.test").security()).isEqualTo(Security.INSECURE);
        assertThat(dns.lookupTlsa("mx.bogus.test", 25).records()).extracting(TlsaRecord::toString)
                .containsExactly("3 1 1 " + "cd".repeat(32));
    }

    @ParameterizedTest @EnumSource(DnsResolver.Validation.class)
    void aSilentServerIsATemporaryFailureWithinTheTimeout(DnsResolver.Validation validation) throws Exception {
        try (TestDnsServer silent = TestDnsServer.start()) {
            silent.silent("example.test");
            DnsResolver dns = new DnsResolver(new DnsResolver.Settings(List.of(silent.address()),
                    Duration.ofMillis(600), validation, world.trustAnchorFile()));
            long start = System.nanoTime();
            assertThatThrownBy(() -> dns.lookupMx("example.test"))
                    .isInstanceOfSatisfying(DnsException.class, e -> {
                        assertThat(e.temporary()).isTrue();
                        assertThat(e.bogus()).isFalse();
                    });
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(1500));
        }
    }

    @Test void trustAnchorCheck() {
        assertThat(Mode.VALIDATE.resolver().trustAnchorProblem()).isEmpty();
        assertThat(Mode.TRUST_AD.resolver().trustAnchorProblem()).isEmpty();
        // NSD is authoritative, not validating: it never sets the AD bit.
        DnsResolver notValidating = new DnsResolver(new DnsResolver.Settings(List.of(world.nsd()), TIMEOUT,
                DnsResolver.Validation.TRUST_AD, null));
        assertThat(notValidating.trustAnchorProblem()).hasValueSatisfying(line -> assertThat(line)
                .startsWith("[dns] trust_ad = true: ").contains("is the resolver validating?"));
        assertThat(new DnsResolver(List.of(world.nsd()), TIMEOUT).trustAnchorProblem()).as("off").isEmpty();
        // The IANA root anchors do not match the test root: every signed answer is bogus, and the check says so.
        DnsResolver wrongAnchor = new DnsResolver(new DnsResolver.Settings(List.of(world.nsd()), TIMEOUT,
                DnsResolver.Validation.VALIDATE, null));
        assertThat(wrongAnchor.trustAnchorProblem()).hasValueSatisfying(line -> assertThat(line)
                .contains("every signed answer will be bogus").contains("trust_ad").contains("dnssec = \"off\""));
        assertThatThrownBy(() -> wrongAnchor.lookupMx("secure.test"))
                .isInstanceOfSatisfying(DnsException.class, e -> assertThat(e.bogus()).isTrue());
    }

    @Test void theTrustAnchorFileIsTheTestRootsDs() throws Exception {
        assertThat(DnsResolver.anchors(java.nio.file.Files.readAllBytes(world.trustAnchorFile())))
                .extracting(r -> r.getName().toString(), r -> r.getType())
                .containsExactly(org.assertj.core.groups.Tuple.tuple(".", org.xbill.DNS.Type.DS));
    }
}
