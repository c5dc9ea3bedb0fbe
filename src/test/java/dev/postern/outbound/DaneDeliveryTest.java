package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.DaneHosts.tlsa;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.TestDnsServer;
import dev.postern.dns.TlsaRecord;
import dev.postern.outbound.DaneHosts.Pki;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.TestPki.Issued;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/**
 * DANE (RFC 7672) end to end: a gateway relaying b.example by MX, the MX hosts scripted TLS servers on 127.0.0.31
 * and 127.0.0.32, and a DNS server on loopback that plays a validating resolver (AD on the answers of a signed
 * world) which the gateway trusts ({@code dnssec = "trust-ad"}). The whole DNS world is made by {@link #publish}.
 */
class DaneDeliveryTest {
    @TempDir Path data;
    final RecordingAudit audit = new RecordingAudit();

    static final String FROM = "alice@a.example";
    static final String TO = "bob@b.example";
    static Pki pki;
    static Issued inter;
    /** The primary MX's certificate: it names neither MX host (DANE-EE ignores names). */
    static Issued mx1;
    static Issued mx2;
    /** Named for the host the MX host name is a CNAME for. */
    static Issued hosting;

    @BeforeAll static void pki() {
        pki = Pki.create("DANE Delivery");
        inter = pki.inter();
        mx1 = pki.leaf("unrelated.example");
        mx2 = pki.leaf("mx2.b.example");
        hosting = pki.leaf("mx.hosting.example");
    }

    /**
     * One MX host of b.example: its address and TLSA records ({@code _PORT._tcp.HOST}, at {@code cnameTarget} when
     * the MX host name is a CNAME for it); {@code bogusTlsa} makes the TLSA lookup fail as a bad signature does.
     */
    record Mx(int preference, String host, String ip, String cnameTarget, List<TlsaRecord> tlsa, boolean bogusTlsa) {
        Mx(int preference, String host, String ip, TlsaRecord... tlsa) {
            this(preference, host, ip, null, List.of(tlsa), false);
        }
    }

    /**
     * The DNS world of one test: b.example's MX hosts, signed (every answer validated: AD set) or not. The same cases
     * over zones really signed, behind NSD and a validating Unbound, are {@link DaneSignedZonesTest}.
     */
    static void publish(TestDnsServer dns, int port, boolean signed, Mx... mxs) {
        for (Mx m : mxs) {
            dns.mx("b.example", m.preference(), m.host());
            String owner = m.host();
            if (m.cnameTarget() != null) {
                dns.cname(m.host(), m.cnameTarget());
                owner = m.cnameTarget();
            }
            dns.a(owner, m.ip());
            String tlsaName = "_" + port + "._tcp." + owner;
            for (TlsaRecord r : m.tlsa()) dns.tlsa(tlsaName, r.usage(), r.selector(), r.matchingType(), r.data());
            if (m.bogusTlsa()) dns.servfail(tlsaName, Type.TLSA);
        }
        dns.allAuthentic(signed);
    }

    /** The gateway: b.example by MX through {@code dns}, whose AD bit it trusts, under {@code policy}. */
    private Config config(TestDnsServer dns, int port, TlsPolicy defaults, Map<String, TlsPolicy> entries) {
        return config(dns, port, defaults, entries, Map.of());
    }

    private Config config(TestDnsServer dns, int port, TlsPolicy defaults, Map<String, TlsPolicy> entries,
                          Map<String, Config.Route> routes) {
        Config c = TestConfigs.withDns(TestConfigs.withRelay(TestConfigs.gateway(data, Outbound.HOSTNAME,
                Set.of("a.example")), Set.of("b.example"), routes), dns.address(), port);
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), c.tls(), c.limits(), c.queue(), c.delivery(),
                new Config.Dns(List.of(dns.address()), Duration.ofSeconds(2), Config.Dnssec.TRUST_AD, null),
                c.routes(), new Config.OutboundTls(defaults, entries), c.inbound());
    }

    private Config dane(TestDnsServer dns, int port) {
        return config(dns, port, TlsPolicy.of(TlsLevel.DANE), Map.of());
    }

    static ScriptedSmtpServer server(Issued cert, String ip, int port) throws Exception {
        return pki.host(cert, ip, port);
    }

    private TlsSessionRecord session(String ip) {
        return DaneHosts.session(audit, ip);
    }

    /** Publishes a signed world, submits one message under level dane; its deferral, once nothing was sent. */
    private String deferredUnderDane(TestDnsServer dns, ScriptedSmtpServer mx, Mx... mxs) throws Exception {
        publish(dns, mx.port(), true, mxs);
        try (Gateway gw = Gateway.start(dane(dns, mx.port()), audit)) {
            String reason = deferral(gw, submit(gw, FROM, List.of(TO), body("dane deferred", "Hello")));
            assertThat(mx.transactions()).as("nothing of the message was sent").noneMatch(t -> t.mailFrom() != null);
            return reason;
        }
    }

    private static String deferral(Gateway gw, String id) {
        return DaneHosts.lastResult(gw, id, TO);
    }

    @Test void daneEeMatchDeliversOverAuthenticatedTls() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0);
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            publish(dns, mx.port(), true, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 1, mx1.cert())));
            try (Gateway gw = Gateway.start(dane(dns, mx.port()), audit)) {
                submit(gw, FROM, List.of(TO), body("dane ee", "Hello"));
                eventually().until(() -> mx.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
            assertThat(mx.delivered().getFirst().usedTls()).isTrue();
            assertThat(mx.delivered().getFirst().tls().sni()).isEqualTo("mx1.b.example");
            TlsSessionRecord s = session("127.0.0.31");
            assertThat(s.policy().level()).isEqualTo("dane");
            assertThat(s.policy().source()).isEqualTo("dane");
            assertThat(s.policy().sourceDetail()).startsWith("DNSSEC-secure TLSA records at _" + mx.port()
                    + "._tcp.mx1.b.example (base domain mx1.b.example), level dane from default");
            assertThat(s.verification()).isEqualTo(TlsSessionRecord.Verification.VERIFIED);
            assertThat(s.verificationReason()).matches("DANE-EE 3 1 1 [0-9a-f]{8}… matched");
            assertThat(log.lines()).anyMatch(l -> l.startsWith("delivery id=") && l.contains("policy=dane")
                    && l.contains("cert=\"DANE verified: DANE-EE 3 1 1 ") && l.contains("result=delivered"));
        }
    }

    @Test void aDaneAuthenticatedHopCarriesRequireTlsAnInsecureOneDoesNot() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = ScriptedSmtpServer.create().enhancedStatusCodes().extensions("REQUIRETLS")
                     .starttls(mx1.material(inter.cert())).start(new InetSocketAddress("127.0.0.31", 0))) {
            publish(dns, mx.port(), true, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 1, mx1.cert())));
            try (Gateway gw = Gateway.start(dane(dns, mx.port()), audit)) {
                RequireTlsTest.submitRequireTls(gw, TO);
                eventually().until(() -> mx.delivered().size() == 1);
                assertThat(mx.delivered().getFirst().mailParameters()).contains("REQUIRETLS");
            }
            // the same records in an unsigned zone authenticate nothing: RFC 8689 §4.2.1, bounce at once
            dns.clear();
            publish(dns, mx.port(), false, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 1, mx1.cert())));
            try (Gateway gw = Gateway.start(dane(dns, mx.port()), audit)) {
                RequireTlsTest.submitRequireTls(gw, TO);
                String dsn = String.join("\n", Outbound.awaitMailbox(data, FROM, 1)).replaceAll("\\r?\\n[ \\t]+", " ");
                assertThat(dsn).contains("Diagnostic-Code: X-Postern; 550 5.7.30 REQUIRETLS support required: the TLS "
                        + "policy for b.example is dane, which does not verify the next hop");
            }
            assertThat(mx.delivered()).hasSize(1);
        }
    }

    @Test void requireTlsSkipsAnMxWithoutTlsaForOneWithDane() throws Exception {
        // RFC 8689 §4.2.1: each MX host is tried; plans differ per host under DANE, so the first host's want of TLSA
        // records must not bounce a message the second host can carry
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer first = ScriptedSmtpServer.create().enhancedStatusCodes().extensions("REQUIRETLS")
                     .starttls(mx1.material(inter.cert())).start(new InetSocketAddress("127.0.0.31", 0));
             ScriptedSmtpServer second = ScriptedSmtpServer.create().enhancedStatusCodes().extensions("REQUIRETLS")
                     .starttls(mx2.material(inter.cert())).start(new InetSocketAddress("127.0.0.32", first.port()))) {
            publish(dns, first.port(), true, new Mx(10, "mx1.b.example", "127.0.0.31"),
                    new Mx(20, "mx2.b.example", "127.0.0.32", tlsa(3, 1, mx2.cert())));
            try (Gateway gw = Gateway.start(dane(dns, first.port()), audit)) {
                RequireTlsTest.submitRequireTls(gw, TO);
                eventually().until(() -> second.delivered().size() == 1);
                assertThat(second.delivered().getFirst().mailParameters()).contains("REQUIRETLS");
            }
            assertThat(first.delivered()).isEmpty();
        }
    }

    @Test void mismatchNeverGoesClearAndTheNextMxIsTried() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer first = server(mx1, "127.0.0.31", 0);
             ScriptedSmtpServer second = server(mx2, "127.0.0.32", first.port())) {
            // the primary's record is for another key (a rolled key, or a man in the middle answering for it)
            publish(dns, first.port(), true,
                    new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 1, mx2.cert())),
                    new Mx(20, "mx2.b.example", "127.0.0.32", tlsa(2, 0, inter.cert())));
            try (Gateway gw = Gateway.start(dane(dns, first.port()), audit)) {
                submit(gw, FROM, List.of(TO), body("dane next mx", "Hello"));
                eventually().until(() -> second.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
            assertThat(first.connections()).hasSize(1);
            assertThat(first.transactions()).as("nothing sent to the mismatching host").isEmpty();
            TlsSessionRecord refused = session("127.0.0.31");
            assertThat(refused.noTls()).isEqualTo(TlsSessionRecord.NoTls.POLICY_CHECK_FAILED);
            assertThat(refused.noTlsDetail()).contains("TLSA mismatch: no TLSA record matched (DANE-EE 3 1 1 ");
            assertThat(session("127.0.0.32").verificationReason()).matches("DANE-TA 2 0 1 [0-9a-f]{8}… matched, "
                    + "name mx2.b.example");
        }
    }

    @Test void mismatchOnTheOnlyMxDefers() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0)) {
            assertThat(deferredUnderDane(dns, mx, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 0, mx2.cert()))))
                    .startsWith("451 4.7.10 TLS required by policy for b.example (default): ")
                    .contains("TLSA mismatch: no TLSA record matched (DANE-EE 3 0 1 ");
        }
    }

    @Test void peerWithoutStarttlsAndSecureTlsaDefers() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = ScriptedSmtpServer.create().enhancedStatusCodes()
                     .start(new InetSocketAddress("127.0.0.31", 0))) {
            assertThat(deferredUnderDane(dns, mx, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 1, mx1.cert()))))
                    .startsWith("451 4.7.10 TLS required by policy for b.example").contains("does not offer STARTTLS");
        }
    }

    @Test void insecureMxMeansMay() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0);
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            // a mismatching record in an unsigned zone: not looked at, not obeyed
            publish(dns, mx.port(), false, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 1, mx2.cert())));
            try (Gateway gw = Gateway.start(dane(dns, mx.port()), audit)) {
                submit(gw, FROM, List.of(TO), body("dane insecure", "Hello"));
                eventually().until(() -> mx.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
            assertThat(mx.delivered().getFirst().usedTls()).isTrue();
            TlsSessionRecord s = session("127.0.0.31");
            assertThat(s.policy().source()).isEqualTo("default");
            assertThat(s.policy().sourceDetail()).isEqualTo("default; DANE not applied: the MX answer is not "
                    + "DNSSEC-secure");
            assertThat(s.verification()).isEqualTo(TlsSessionRecord.Verification.FAILED);
            assertThat(log.lines()).anyMatch(l -> l.contains("policy=dane policy-source=\"default; DANE not applied: "
                    + "the MX answer is not DNSSEC-secure\"") && l.contains("result=delivered"));
        }
    }

    @Test void daneOnlyWithoutTlsaDefersWithAClearReason() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0)) {
            publish(dns, mx.port(), true, new Mx(10, "mx1.b.example", "127.0.0.31"));
            Config c = config(dns, mx.port(), TlsPolicy.of(TlsLevel.MAY),
                    Map.of("b.example", TlsPolicy.of(TlsLevel.DANE_ONLY)));
            try (Gateway gw = Gateway.start(c, audit)) {
                String id = submit(gw, FROM, List.of(TO), body("dane only", "Hello"));
                assertThat(deferral(gw, id)).isEqualTo("451 4.7.10 TLS required by policy for b.example (static "
                        + "entry \"b.example\"): mx1.b.example: no DNSSEC-secure TLSA records (level dane-only): no "
                        + "TLSA records at _" + mx.port() + "._tcp.mx1.b.example (DNSSEC-secure denial)");
            }
            assertThat(mx.connections()).as("a refused host is not even connected to").isEmpty();
        }
    }

    @Test void tlsaAtTheCnameExpandedHostNameAndItsNames() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(hosting, "127.0.0.31", 0)) {
            // mx1.b.example is a CNAME for mx.hosting.example, whose TLSA records name the hoster's CA and whose
            // certificate names only itself: the TLSA base domain is the reference identifier (RFC 7672 §3.2.2)
            publish(dns, mx.port(), true, new Mx(10, "mx1.b.example", "127.0.0.31", "mx.hosting.example",
                    List.of(tlsa(2, 0, inter.cert())), false));
            try (Gateway gw = Gateway.start(dane(dns, mx.port()), audit)) {
                submit(gw, FROM, List.of(TO), body("dane cname", "Hello"));
                eventually().until(() -> mx.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
            TlsSessionRecord s = session("127.0.0.31");
            assertThat(s.sni()).as("SNI is the TLSA base domain (RFC 7672 §8.1)").isEqualTo("mx.hosting.example");
            assertThat(s.policy().sourceDetail()).startsWith("DNSSEC-secure TLSA records at _" + mx.port()
                    + "._tcp.mx.hosting.example (base domain mx.hosting.example)");
            assertThat(s.verificationReason()).endsWith("matched, name mx.hosting.example");
        }
    }

    @Test void bogusTlsaMakesTheHostUnusableForNow() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0)) {
            assertThat(deferredUnderDane(dns, mx, new Mx(10, "mx1.b.example", "127.0.0.31", null,
                    List.of(tlsa(3, 1, mx1.cert())), true))).startsWith("451 4.7.10 TLS required by policy for "
                    + "b.example (default): mx1.b.example: TLSA lookup of _" + mx.port() + "._tcp.mx1.b.example "
                    + "failed: ");
            assertThat(mx.connections()).as("never clear text, never an unauthenticated try").isEmpty();
        }
    }

    @Test void onlyUnusableRecordsMeanEncryptWithoutAuthentication() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0)) {
            publish(dns, mx.port(), true, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(1, 1, mx2.cert())));
            try (Gateway gw = Gateway.start(dane(dns, mx.port()), audit)) {
                submit(gw, FROM, List.of(TO), body("dane unusable", "Hello"));
                eventually().until(() -> mx.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
            assertThat(mx.delivered().getFirst().usedTls()).isTrue();
            TlsSessionRecord s = session("127.0.0.31");
            assertThat(s.policy().source()).isEqualTo("dane");
            assertThat(s.verification()).isEqualTo(TlsSessionRecord.Verification.FAILED);
            assertThat(s.verificationReason()).startsWith("no usable TLSA records (PKIX-EE 1 1 1 ");
        }
    }

    @Test void aStaticRouteToANameIsJudgedByItsAddressRecordsAnIpLiteralNeverLooks() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0)) {
            // no MX: the route's host's own (secure) address records let its (mismatching) TLSA records apply
            dns.a("relay.b.example", "127.0.0.31")
                    .tlsa("_" + mx.port() + "._tcp.relay.b.example", 3, 1, 1, tlsa(3, 1, mx2.cert()).data())
                    .allAuthentic(true);
            Config byName = config(dns, mx.port(), TlsPolicy.of(TlsLevel.DANE), Map.of(),
                    Map.of("b.example", new Config.Route("relay.b.example", mx.port(), false)));
            try (Gateway gw = Gateway.start(byName, audit)) {
                String id = submit(gw, FROM, List.of(TO), body("dane route name", "Hello"));
                assertThat(deferral(gw, id)).startsWith("451 4.7.10 TLS required by policy for b.example")
                        .contains("TLSA mismatch");
            }
            Path literal = data.resolve("literal");
            Config byAddress = config(dns, mx.port(), TlsPolicy.of(TlsLevel.DANE), Map.of(),
                    Map.of("b.example", new Config.Route("127.0.0.31", mx.port(), false)));
            byAddress = new Config(byAddress.source(), byAddress.hostname(), literal, byAddress.listeners(),
                    byAddress.localDomains(), byAddress.relayDomains(), byAddress.relayNetworks(), byAddress.tls(),
                    byAddress.limits(), byAddress.queue(), byAddress.delivery(), byAddress.dns(), byAddress.routes(),
                    byAddress.outboundTls(), byAddress.inbound());
            try (Gateway gw = Gateway.start(byAddress, audit)) {
                submit(gw, FROM, List.of(TO), body("dane route literal", "Hello"));
                eventually().until(() -> mx.delivered().size() == 1);
            }
            assertThat(mx.delivered().getFirst().usedTls()).isTrue();
        }
    }

    @Test void staticPolicyWinsOverDane() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer mx = server(mx1, "127.0.0.31", 0)) {
            // secure, mismatching TLSA records; the domain's static entry says "may": DANE is not asked
            publish(dns, mx.port(), true, new Mx(10, "mx1.b.example", "127.0.0.31", tlsa(3, 1, mx2.cert())));
            Config c = config(dns, mx.port(), TlsPolicy.of(TlsLevel.DANE),
                    Map.of("b.example", TlsPolicy.of(TlsLevel.MAY)));
            try (Gateway gw = Gateway.start(c, audit)) {
                submit(gw, FROM, List.of(TO), body("dane static", "Hello"));
                eventually().until(() -> mx.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
            assertThat(session("127.0.0.31").policy().source()).isEqualTo("static");
        }
    }
}
