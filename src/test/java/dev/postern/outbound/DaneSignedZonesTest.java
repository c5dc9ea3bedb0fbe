package dev.postern.outbound;

import static dev.postern.outbound.DaneHosts.tlsa;
import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.outbound.DaneHosts.Pki;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SignedDnsWorld;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * DANE (RFC 7672) end to end over real DNSSEC: zones signed in the test and served by NSD ({@link SignedDnsWorld}), a
 * gateway under level {@code dane} that validates itself against NSD (VALIDATE, anchored at the test root) or
 * believes the AD bit of a validating Unbound in front of NSD (TRUST_AD), and MX hosts that are scripted TLS servers
 * on 127.0.0.81-89, all on one port (the gateway's {@code delivery.smtp_port}, which the TLSA owner names carry).
 *
 * <p>The world is signed and started once for the class; each case has its own recipient domain in it.
 */
class DaneSignedZonesTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final String FROM = "alice@a.example";
    private static final List<String> IPS = List.of("127.0.0.81", "127.0.0.82", "127.0.0.83", "127.0.0.84",
            "127.0.0.85", "127.0.0.86", "127.0.0.87", "127.0.0.88", "127.0.0.89");
    /** Every recipient domain of the cases: the gateway relays them all by MX. */
    private static final Set<String> DOMAINS = Set.of("ee.test", "ta.test", "taname.test", "miss.test",
            "next.test", "bogus.test", "plain.test", "cname.test", "out.test", "via.test", "fallback.test",
            "badaddr.test", "expired.test", "gone.expired.test", "gone.ee.test", "gone.n3.test");

    @TempDir static Path worldDir;
    static SignedDnsWorld world;
    /** The SMTP port of every MX host: free on all of {@link #IPS} when the class started. */
    static int port;
    static Pki pki;
    /** DANE-EE: names no MX host and expired a month ago (RFC 7672 §3.1.1: neither is checked). */
    static Issued ee;
    static Issued ta;
    static Issued miss;
    static Issued mx2next;
    static Issued plain;
    static Issued hoster;
    static Issued outward;
    static Issued fallback;

    @TempDir Path data;
    final RecordingAudit audit = new RecordingAudit();

    /** The two ways the gateway learns that an answer is DNSSEC-secure. */
    enum Mode {
        VALIDATE, TRUST_AD;

        Config.Dns dns() {
            return this == VALIDATE ? world.configValidating(TIMEOUT) : world.configTrustingUnbound(TIMEOUT);
        }
    }

    @BeforeAll static void world() throws Exception {
        pki = Pki.create("DANE Signed Zones");
        ee = TestPki.cert("unrelated.example").issuer(pki.inter()).dns("unrelated.example")
                .valid(Instant.now().minus(Duration.ofDays(400)), Instant.now().minus(Duration.ofDays(30))).build();
        ta = pki.leaf("mx.ta.test");
        miss = pki.leaf("mx.miss.test");
        mx2next = pki.leaf("mx2.next.test");
        plain = pki.leaf("mx.plain.test");
        hoster = pki.leaf("mx.hoster.test");
        outward = pki.leaf("mx2.plain.test");
        fallback = pki.leaf("mx.fallback.test");
        port = Outbound.freeOnAll(IPS);
        String tcp = "_" + port + "._tcp.";
        String eeRecord = tlsa(3, 1, ee.cert()).toString();
        String interByKey = tlsa(2, 1, pki.inter().cert()).toString();

        world = new SignedDnsWorld(worldDir);
        // 1. DANE-EE
        world.zone("ee.test").mx("ee.test", 10, "mx.ee.test").a("mx.ee.test", "127.0.0.81")
                .tlsa(tcp + "mx.ee.test", eeRecord);
        // 2. DANE-TA (the intermediate's key); the leaf must name the MX host
        world.zone("ta.test").mx("ta.test", 10, "mx.ta.test").a("mx.ta.test", "127.0.0.82")
                .tlsa(tcp + "mx.ta.test", interByKey);
        world.zone("taname.test").mx("taname.test", 10, "mx.taname.test").a("mx.taname.test", "127.0.0.83")
                .tlsa(tcp + "mx.taname.test", interByKey);
        // 3. a record for another key on the only MX; on the first of two, the second matching
        world.zone("miss.test").mx("miss.test", 10, "mx.miss.test").a("mx.miss.test", "127.0.0.84")
                .tlsa(tcp + "mx.miss.test", eeRecord);
        world.zone("next.test").mx("next.test", 10, "mx1.next.test").mx("next.test", 20, "mx2.next.test")
                .a("mx1.next.test", "127.0.0.84").tlsa(tcp + "mx1.next.test", eeRecord)
                .a("mx2.next.test", "127.0.0.85").tlsa(tcp + "mx2.next.test", tlsa(3, 1, mx2next.cert()).toString());
        // 4. the right record, rewritten after signing: its RRSIG no longer matches
        world.zone("bogus.test").mx("bogus.test", 10, "mx.bogus.test").a("mx.bogus.test", "127.0.0.86")
                .tlsa(tcp + "mx.bogus.test", eeRecord).tamper(tcp + "mx.bogus.test", "TLSA",
                        tlsa(3, 1, miss.cert()).toString());
        // 5. an unsigned delegation with a record that would not match
        world.unsignedZone("plain.test").mx("plain.test", 10, "mx.plain.test").a("mx.plain.test", "127.0.0.87")
                .tlsa(tcp + "mx.plain.test", eeRecord)
                .a("mx2.plain.test", "127.0.0.89").tlsa(tcp + "mx2.plain.test", eeRecord)
                .cname("alias.plain.test", "mx.ee.test");
        // 6. MX host names that are aliases: through two CNAMEs into a signed zone (TLSA at the expanded name wins
        // over a mismatching one at the MX host name), and into the unsigned zone (whose records are not asked)
        world.zone("cname.test").mx("cname.test", 10, "mx.cname.test").cname("mx.cname.test", "alias.hoster.test")
                .tlsa(tcp + "mx.cname.test", eeRecord);
        world.zone("hoster.test").cname("alias.hoster.test", "mx.hoster.test").a("mx.hoster.test", "127.0.0.88")
                .tlsa(tcp + "mx.hoster.test", tlsa(2, 0, pki.inter().cert()).toString());
        world.zone("out.test").mx("out.test", 10, "mx.out.test").cname("mx.out.test", "mx2.plain.test")
                .tlsa(tcp + "mx.out.test", eeRecord);
        world.zone("via.test").mx("via.test", 10, "alias.plain.test"); // an unsigned alias of mx.ee.test
        // no TLSA records at the expanded name (securely denied): those at the MX host name apply
        world.zone("fallback.test").mx("fallback.test", 10, "mx.fallback.test")
                .cname("mx.fallback.test", "bare.hoster.test").tlsa(tcp + "mx.fallback.test", interByKey);
        world.zone("hoster.test").a("bare.hoster.test", "127.0.0.88");
        // 7. every signature expired: the MX RRset (and any denial) is bogus; a forged address of an MX host
        world.zone("badaddr.test").mx("badaddr.test", 10, "mx.badaddr.test").a("mx.badaddr.test", "127.0.0.86")
                .tamper("mx.badaddr.test", "A", "127.0.0.87");
        world.zone("expired.test").expired().mx("expired.test", 10, "mx.expired.test")
                .a("mx.expired.test", "127.0.0.86");
        // 8. gone.ee.test and gone.n3.test do not exist, denied by NSEC and NSEC3
        world.zone("n3.test").nsec3().a("host.n3.test", "127.0.0.86");
        world.start(true);
    }

    @AfterAll static void stopWorld() {
        if (world != null) world.close();
    }

    /** A gateway of its own (data dir, queue, memory) under level dane for every domain. */
    private Gateway gateway(Mode mode, Path dir) throws Exception {
        return gateway(mode, dir, TlsLevel.DANE);
    }

    /** A gateway of its own under {@code level} for every domain. */
    private Gateway gateway(Mode mode, Path dir, TlsLevel level) throws Exception {
        Config c = TestConfigs.withDns(TestConfigs.withRelay(TestConfigs.gateway(dir, Outbound.HOSTNAME,
                Set.of("a.example")), DOMAINS, Map.of()), mode.dns(), port)
                .withOutboundTls(new Config.OutboundTls(TlsPolicy.of(level), Map.of()));
        return Gateway.start(c, audit);
    }

    private ScriptedSmtpServer host(Issued cert, String ip) throws IOException {
        return pki.host(cert, ip, port);
    }

    /** Sends one message to {@code rcpt} and waits until {@code mx} has it over TLS. */
    private void deliver(Mode mode, String rcpt, ScriptedSmtpServer mx) throws Exception {
        try (Gateway gw = gateway(mode, data.resolve(rcpt))) {
            submit(gw, FROM, List.of(rcpt), body("dane signed " + mode, "Hello"));
            eventually().until(() -> mx.delivered().size() == 1);
            awaitEmptySpool(gw);
        }
        ScriptedSmtpServer.Transaction t = mx.delivered().getFirst();
        assertThat(t.acceptedRecipients()).containsExactly(rcpt);
        assertThat(t.usedTls()).as("never clear text").isTrue();
        assertDelivery(rcpt, DeliveryRecord.Outcome.DELIVERED, "2.0.0");
    }

    /** Delivers one message to {@code rcpt} through an MX host on {@code ip} presenting {@code cert}; its session. */
    private TlsSessionRecord deliveredVia(Mode mode, String rcpt, Issued cert, String ip) throws Exception {
        try (ScriptedSmtpServer mx = host(cert, ip)) {
            deliver(mode, rcpt, mx);
        }
        return session(ip);
    }

    /**
     * The session was authenticated by DANE: the TLSA records at {@code _PORT._tcp.OWNER} for {@code baseDomain},
     * the one that matched named in the verification reason ({@code matched}, a pattern).
     */
    private void assertDane(TlsSessionRecord s, String owner, String baseDomain, String matched) {
        assertThat(s.policy().level()).isEqualTo("dane");
        assertThat(s.policy().source()).isEqualTo("dane");
        assertThat(s.policy().sourceDetail()).startsWith("DNSSEC-secure TLSA records at _" + port + "._tcp." + owner
                + " (base domain " + baseDomain + ")");
        assertThat(s.verification()).isEqualTo(TlsSessionRecord.Verification.VERIFIED);
        assertThat(s.verificationReason()).matches(matched);
    }

    /** DANE did not apply ({@code why}): level dane fell back to may, opportunistic TLS all the same. */
    private static void assertMay(TlsSessionRecord s, String why) {
        assertThat(s.encrypted()).isTrue();
        assertThat(s.policy().level()).isEqualTo("dane");
        assertThat(s.policy().source()).isEqualTo("default");
        assertThat(s.policy().sourceDetail()).isEqualTo("default; DANE not applied: " + why);
        assertThat(s.verification()).as("opportunistic: the test CA is trusted by nobody")
                .isEqualTo(TlsSessionRecord.Verification.FAILED);
    }

    /** Sends one message to {@code rcpt}; the queue's reason after its first attempt, which deferred it. */
    private String deferred(Mode mode, String rcpt, ScriptedSmtpServer... hosts) throws Exception {
        String reason;
        Path dir = data.resolve(rcpt);
        try (Gateway gw = gateway(mode, dir)) {
            String id = submit(gw, FROM, List.of(rcpt), body("dane signed " + mode, "Hello"));
            reason = DaneHosts.lastResult(gw, id, rcpt);
        }
        for (ScriptedSmtpServer h : hosts) {
            assertThat(h.transactions()).as("nothing of the message was sent").noneMatch(t -> t.mailFrom() != null);
        }
        assertThat(Outbound.mailbox(dir, FROM)).as("no bounce").isEmpty();
        return reason;
    }

    private DeliveryRecord assertDelivery(String rcpt, DeliveryRecord.Outcome outcome, String status) {
        DeliveryRecord d = audit.await(DeliveryRecord.class, r -> r.recipient().equals(rcpt));
        assertThat(d.outcome()).isEqualTo(outcome);
        assertThat(d.status()).isEqualTo(status);
        return d;
    }

    private TlsSessionRecord session(String ip) {
        return DaneHosts.session(audit, ip);
    }

    /** Case 1: the certificate names no MX host and has expired; DANE-EE checks neither. */
    @ParameterizedTest @EnumSource(Mode.class)
    void daneEeMatchDelivers(Mode mode) throws Exception {
        TlsSessionRecord s = deliveredVia(mode, "bob@ee.test", ee, "127.0.0.81");
        assertThat(s.sni()).isEqualTo("mx.ee.test");
        assertDane(s, "mx.ee.test", "mx.ee.test", "DANE-EE 3 1 1 [0-9a-f]{8}… matched");
    }

    /** Case 2: the intermediate is the trust anchor; the leaf must name the MX host. */
    @ParameterizedTest @EnumSource(Mode.class)
    void daneTaMatchDeliversWhenTheLeafNamesTheMxHost(Mode mode) throws Exception {
        TlsSessionRecord s = deliveredVia(mode, "bob@ta.test", ta, "127.0.0.82");
        assertThat(s.peerChain()).as("leaf and intermediate").hasSize(2);
        assertDane(s, "mx.ta.test", "mx.ta.test", "DANE-TA 2 1 1 [0-9a-f]{8}… matched, name mx\\.ta\\.test");

        // the same chain for mx.taname.test: the anchor matches, the name does not
        try (ScriptedSmtpServer wrong = host(ta, "127.0.0.83")) {
            assertThat(deferred(mode, "bob@taname.test", wrong))
                    .startsWith("451 4.7.10 TLS required by policy for taname.test (default): mx.taname.test")
                    .contains(": certificate name mismatch: mx.ta.test does not match mx.taname.test");
        }
        assertDelivery("bob@taname.test", DeliveryRecord.Outcome.DEFERRED, "4.7.10");
        TlsSessionRecord refused = session("127.0.0.83");
        assertThat(refused.noTls()).isEqualTo(TlsSessionRecord.NoTls.POLICY_CHECK_FAILED);
        assertThat(refused.verification()).isEqualTo(TlsSessionRecord.Verification.FAILED);
        assertThat(refused.verificationReason()).startsWith("no TLSA record matched (DANE-TA 2 1 1 ");
    }

    /** Case 3. */
    @ParameterizedTest @EnumSource(Mode.class)
    void mismatchDefersOnTheOnlyMxAndMovesToAMatchingSecond(Mode mode) throws Exception {
        try (ScriptedSmtpServer mx = host(miss, "127.0.0.84")) {
            assertThat(deferred(mode, "bob@miss.test", mx))
                    .startsWith("451 4.7.10 TLS required by policy for miss.test (default): "
                            + "mx.miss.test[127.0.0.84]:" + port + ": ")
                    .contains("TLSA mismatch: no TLSA record matched (DANE-EE 3 1 1 ");
            assertDelivery("bob@miss.test", DeliveryRecord.Outcome.DEFERRED, "4.7.10");
            TlsSessionRecord refused = session("127.0.0.84");
            assertThat(refused.policy().source()).isEqualTo("dane");
            assertThat(refused.noTls()).isEqualTo(TlsSessionRecord.NoTls.POLICY_CHECK_FAILED);

            assertDane(deliveredVia(mode, "bob@next.test", mx2next, "127.0.0.85"), "mx2.next.test", "mx2.next.test",
                    "DANE-EE 3 1 1 [0-9a-f]{8}… matched");
            assertThat(audit.await(TlsSessionRecord.class, r -> r.endpoint().equals("mx1.next.test:" + port)).noTls())
                    .as("the first MX was tried, and refused").isEqualTo(TlsSessionRecord.NoTls.POLICY_CHECK_FAILED);
            assertThat(mx.transactions()).as("nothing ever sent to the mismatching host")
                    .noneMatch(t -> t.mailFrom() != null);
        }
    }

    /** Case 4. */
    @ParameterizedTest @EnumSource(Mode.class)
    void bogusTlsaDefersWithoutConnecting(Mode mode) throws Exception {
        try (ScriptedSmtpServer mx = host(ee, "127.0.0.86")) {
            assertThat(deferred(mode, "bob@bogus.test", mx))
                    .startsWith("451 4.7.10 TLS required by policy for bogus.test (default): mx.bogus.test: TLSA "
                            + "lookup of _" + port + "._tcp.mx.bogus.test is bogus: DNSSEC validation failed for _"
                            + port + "._tcp.mx.bogus.test/TLSA");
            assertThat(mx.connections()).as("never clear text, never an unauthenticated try").isEmpty();
        }
        assertDelivery("bob@bogus.test", DeliveryRecord.Outcome.DEFERRED, "4.7.10");
    }

    /** Case 5: a mismatching record in an unsigned zone is neither looked at nor obeyed. */
    @ParameterizedTest @EnumSource(Mode.class)
    void insecureZoneMeansMay(Mode mode) throws Exception {
        assertMay(deliveredVia(mode, "bob@plain.test", plain, "127.0.0.87"), "the MX answer is not DNSSEC-secure");
    }

    /** Case 6: two CNAMEs into a signed zone; RFC 7672 §2.2.2, the TLSA base domain is the expanded name. */
    @ParameterizedTest @EnumSource(Mode.class)
    void mxHostAliasIntoASignedZoneUsesTheTlsaAtTheExpandedName(Mode mode) throws Exception {
        TlsSessionRecord s = deliveredVia(mode, "bob@cname.test", hoster, "127.0.0.88");
        assertThat(s.sni()).as("SNI is the TLSA base domain (RFC 7672 §8.1)").isEqualTo("mx.hoster.test");
        assertDane(s, "mx.hoster.test", "mx.hoster.test",
                "DANE-TA 2 0 1 [0-9a-f]{8}… matched, name mx\\.hoster\\.test");
    }

    /** Case 6: secure, no TLSA records at the expanded name; RFC 7672 §2.2.2, then those at the MX host name. */
    @ParameterizedTest @EnumSource(Mode.class)
    void noTlsaAtTheExpandedNameFallsBackToTheMxHostName(Mode mode) throws Exception {
        assertDane(deliveredVia(mode, "bob@fallback.test", fallback, "127.0.0.88"), "mx.fallback.test",
                "mx.fallback.test", "DANE-TA 2 1 1 [0-9a-f]{8}… matched, name mx\\.fallback\\.test");
    }

    /** Case 6: an alias into an unsigned zone makes the host's addresses insecure, whatever the MX zone says. */
    @ParameterizedTest @EnumSource(Mode.class)
    void mxHostAliasIntoAnUnsignedZoneMeansMay(Mode mode) throws Exception {
        assertMay(deliveredVia(mode, "bob@out.test", outward, "127.0.0.89"),
                "the address records of mx.out.test are not DNSSEC-secure");
    }

    /**
     * Case 6, the other way round: an alias in an unsigned zone for a DANE host is insecure, and leaves the host's
     * own (secure) answers secure for what comes next: the same gateway then delivers to the host's domain by DANE.
     */
    @ParameterizedTest @EnumSource(Mode.class)
    void anUnsignedAliasOfADaneHostLeavesDaneInForceForTheHost(Mode mode) throws Exception {
        try (ScriptedSmtpServer mx = host(ee, "127.0.0.81"); Gateway gw = gateway(mode, data)) {
            submit(gw, FROM, List.of("bob@via.test"), body("dane via alias " + mode, "Hello"));
            eventually().until(() -> mx.delivered().size() == 1);
            submit(gw, FROM, List.of("bob@ee.test"), body("dane after alias " + mode, "Hello"));
            eventually().until(() -> mx.delivered().size() == 2);
            awaitEmptySpool(gw);
        }
        assertMay(audit.await(TlsSessionRecord.class, r -> r.endpoint().equals("alias.plain.test:" + port)),
                "the address records of alias.plain.test are not DNSSEC-secure");
        assertDane(audit.await(TlsSessionRecord.class, r -> r.endpoint().equals("mx.ee.test:" + port)),
                "mx.ee.test", "mx.ee.test", "DANE-EE 3 1 1 [0-9a-f]{8}… matched");
    }

    /** Case 7. */
    @ParameterizedTest @EnumSource(Mode.class)
    void bogusMxDefersNeverBounces(Mode mode) throws Exception {
        try (ScriptedSmtpServer mx = host(ee, "127.0.0.86")) {
            assertThat(deferred(mode, "bob@expired.test", mx)).startsWith("451 4.4.3 DNS lookup of MX for "
                    + "expired.test failed: DNSSEC validation failed for expired.test/MX");
            assertDelivery("bob@expired.test", DeliveryRecord.Outcome.DEFERRED, "4.4.3");
            // a forged denial is no denial: deferred as well
            assertThat(deferred(mode, "bob@gone.expired.test", mx)).startsWith("451 4.4.3 DNS lookup of MX for "
                    + "gone.expired.test failed: DNSSEC validation failed for gone.expired.test/MX");
            assertThat(mx.connections()).isEmpty();
        }
        assertThat(audit.of(DeliveryRecord.class)).extracting(DeliveryRecord::outcome)
                .containsOnly(DeliveryRecord.Outcome.DEFERRED);
    }

    /** Case 7: an MX host whose address records do not validate is not connected to, by either address. */
    @ParameterizedTest @EnumSource(Mode.class)
    void bogusAddressOfAnMxHostDefers(Mode mode) throws Exception {
        try (ScriptedSmtpServer signed = host(ee, "127.0.0.86");
             ScriptedSmtpServer forged = host(plain, "127.0.0.87")) {
            assertThat(deferred(mode, "bob@badaddr.test", signed, forged)).startsWith("451 4.4.1 DNS lookup of "
                    + "mx.badaddr.test failed: DNSSEC validation failed for mx.badaddr.test/A: DNSSEC_BOGUS");
            assertThat(signed.connections()).isEmpty();
            assertThat(forged.connections()).isEmpty();
        }
    }

    /**
     * Issue 17, DNS faults: under {@code dane-only}, bogus DNSSEC anywhere on the way (the TLSA records, the MX
     * answer, an MX host's address) never delivers: deferred with the validation failure as the reason, no host
     * connected to (neither the genuine one nor the forged address), no bounce.
     */
    @ParameterizedTest @EnumSource(Mode.class)
    void bogusUnderDaneOnlyNeverDelivers(Mode mode) throws Exception {
        Path dir = data.resolve("dane-only");
        try (ScriptedSmtpServer signed = host(ee, "127.0.0.86");
             ScriptedSmtpServer forged = host(plain, "127.0.0.87")) {
            try (Gateway gw = gateway(mode, dir, TlsLevel.DANE_ONLY)) {
                String tlsa = submit(gw, FROM, List.of("bob@bogus.test"), body("dane-only tlsa " + mode, "Hi"));
                String mx = submit(gw, FROM, List.of("bob@expired.test"), body("dane-only mx " + mode, "Hi"));
                String address = submit(gw, FROM, List.of("bob@badaddr.test"), body("dane-only a " + mode, "Hi"));
                assertThat(DaneHosts.lastResult(gw, tlsa, "bob@bogus.test")).startsWith("451 4.7.10 TLS required by "
                        + "policy for bogus.test (default): mx.bogus.test: TLSA lookup of _" + port
                        + "._tcp.mx.bogus.test is bogus: DNSSEC validation failed");
                assertThat(DaneHosts.lastResult(gw, mx, "bob@expired.test")).startsWith("451 4.4.3 DNS lookup of MX "
                        + "for expired.test failed: DNSSEC validation failed for expired.test/MX");
                assertThat(DaneHosts.lastResult(gw, address, "bob@badaddr.test")).startsWith("451 4.4.1 DNS lookup "
                        + "of mx.badaddr.test failed: DNSSEC validation failed for mx.badaddr.test/A");
            }
            assertThat(signed.connections()).as("never an unauthenticated try").isEmpty();
            assertThat(forged.connections()).as("never the forged address").isEmpty();
        }
        assertThat(Outbound.mailbox(dir, FROM)).as("no bounce").isEmpty();
        for (String rcpt : List.of("bob@bogus.test", "bob@expired.test", "bob@badaddr.test")) {
            assertThat(audit.of(DeliveryRecord.class, r -> r.recipient().equals(rcpt))).isNotEmpty()
                    .allMatch(r -> r.outcome() == DeliveryRecord.Outcome.DEFERRED && r.dsnQueueId() == null);
        }
    }

    /** Case 8: the DNS says authoritatively that the domain does not exist. */
    @ParameterizedTest @EnumSource(Mode.class)
    void secureNxdomainBounces(Mode mode) throws Exception {
        try (Gateway gw = gateway(mode, data)) {
            submit(gw, FROM, List.of("bob@gone.ee.test", "carol@gone.n3.test"), body("dane gone " + mode, "Hi"));
            awaitEmptySpool(gw);
            String dsn = String.join("\n", Outbound.mailbox(data, FROM)).replaceAll("\\r?\\n[ \\t]+", " ");
            assertThat(dsn).contains("Final-Recipient: rfc822; bob@gone.ee.test")
                    .contains("Final-Recipient: rfc822; carol@gone.n3.test")
                    .contains("Diagnostic-Code: X-Postern; 550 5.1.2 domain gone.ee.test does not exist")
                    .contains("Diagnostic-Code: X-Postern; 550 5.1.2 domain gone.n3.test does not exist");
        }
        assertDelivery("bob@gone.ee.test", DeliveryRecord.Outcome.BOUNCED, "5.1.2");
        assertDelivery("carol@gone.n3.test", DeliveryRecord.Outcome.BOUNCED, "5.1.2");
    }
}
