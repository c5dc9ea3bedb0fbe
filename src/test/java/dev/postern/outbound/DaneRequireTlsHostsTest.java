package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RFC 8689 §4.2.1 with DANE decided per MX host (RFC 7672): a REQUIRETLS message whose first MX host has no TLSA
 * records (so under level dane it would go unverified) must not bounce before the next MX host, which DANE
 * authenticates, was tried.
 */
class DaneRequireTlsHostsTest {
    @TempDir Path data;
    final RecordingAudit audit = new RecordingAudit();

    @Test void aHostDaneCannotVerifyDoesNotBounceTheMessageBeforeTheOthersWereTried() throws Exception {
        Issued root = TestPki.root("DANE REQUIRETLS Root");
        Issued mx1 = TestPki.leaf(root, "mx1.b.example");
        Issued mx2 = TestPki.leaf(root, "mx2.b.example");
        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer first = ScriptedSmtpServer.create().enhancedStatusCodes().extensions("REQUIRETLS")
                     .starttls(mx1.material(root.cert())).start(new InetSocketAddress("127.0.0.31", 0));
             ScriptedSmtpServer second = ScriptedSmtpServer.create().enhancedStatusCodes().extensions("REQUIRETLS")
                     .starttls(mx2.material(root.cert())).start(new InetSocketAddress("127.0.0.32", first.port()))) {
            // a signed world: mx1 securely has no TLSA records, mx2 has a DANE-EE record for its key
            dns.mx("b.example", 10, "mx1.b.example").a("mx1.b.example", "127.0.0.31");
            dns.mx("b.example", 20, "mx2.b.example").a("mx2.b.example", "127.0.0.32");
            var r = DaneHosts.tlsa(3, 1, mx2.cert());
            dns.tlsa("_" + first.port() + "._tcp.mx2.b.example", r.usage(), r.selector(), r.matchingType(), r.data());
            dns.allAuthentic(true);
            Config c = TestConfigs.withDns(TestConfigs.withRelay(TestConfigs.gateway(data, Outbound.HOSTNAME,
                    Set.of("a.example")), Set.of("b.example"), Map.of()), dns.address(), first.port());
            c = new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                    c.relayNetworks(), c.tls(), c.limits(), c.queue(), c.delivery(),
                    new Config.Dns(List.of(dns.address()), Duration.ofSeconds(2), Config.Dnssec.TRUST_AD, null),
                    c.routes(), new Config.OutboundTls(TlsPolicy.of(TlsLevel.DANE), Map.of()), c.inbound());
            try (Gateway gw = Gateway.start(c, audit)) {
                RequireTlsTest.submitRequireTls(gw, "bob@b.example");
                eventually().until(() -> second.delivered().size() == 1);
                awaitEmptySpool(gw);
            }
            assertThat(second.delivered().getFirst().mailParameters()).contains("REQUIRETLS");
            assertThat(first.transactions()).as("nothing sent to the host DANE cannot verify")
                    .noneMatch(t -> t.mailFrom() != null);
            assertThat(Outbound.mailbox(data, RequireTlsTest.FROM)).as("no bounce").isEmpty();
        }
    }
}
