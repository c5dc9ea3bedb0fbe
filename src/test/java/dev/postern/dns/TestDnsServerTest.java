package dev.postern.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/** Checks the test server's wire behaviour directly with dnsjava, so resolver tests can trust it. */
class TestDnsServerTest {

    private TestDnsServer dns;

    @BeforeEach
    void start() throws Exception {
        dns = TestDnsServer.start();
    }

    @AfterEach
    void stop() {
        dns.close();
    }

    private SimpleResolver client() {
        var client = new SimpleResolver(dns.address());
        client.setTimeout(Duration.ofSeconds(2));
        return client;
    }

    private static Message query(String name, int type) throws Exception {
        return Message.newQuery(Record.newRecord(Name.fromString(name, Name.root), type, DClass.IN));
    }

    @Test
    void echoesIdAndQuestionAndIsAuthoritative() throws Exception {
        dns.a("host.test", "192.0.2.1");
        Message query = query("Host.Test", Type.A);

        Message response = client().send(query);

        assertThat(response.getHeader().getID()).isEqualTo(query.getHeader().getID());
        assertThat(response.getQuestion()).isEqualTo(query.getQuestion());
        assertThat(response.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(response.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(response.getSection(Section.ANSWER)).hasSize(1);
    }

    @Test
    void nxdomainVersusNodataVersusEmptyNonTerminal() throws Exception {
        dns.a("host.sub.test", "192.0.2.1");

        assertThat(client().send(query("nothing.test", Type.A)).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        Message nodata = client().send(query("host.sub.test", Type.MX));
        assertThat(nodata.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(nodata.getSection(Section.ANSWER)).isEmpty();
        assertThat(client().send(query("sub.test", Type.A)).getRcode()).isEqualTo(Rcode.NOERROR);
    }

    @Test
    void servfailAndClear() throws Exception {
        dns.a("host.test", "192.0.2.1").servfail("host.test");
        assertThat(client().send(query("host.test", Type.A)).getRcode()).isEqualTo(Rcode.SERVFAIL);

        dns.clear().a("host.test", "192.0.2.2");
        Message response = client().send(query("host.test", Type.A));
        assertThat(response.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(response.getSection(Section.ANSWER)).hasSize(1);
    }

    @Test
    void plainUdpAnswerOver512BytesIsTruncatedButCompleteOverTcp() throws Exception {
        for (int i = 0; i < 25; i++) {
            dns.mx("big.test", i, "mail-exchanger-" + i + ".big.test");
        }
        SimpleResolver noEdns = client();
        noEdns.setEDNS(-1, 0, 0, java.util.List.of());
        noEdns.setIgnoreTruncation(true);

        Message udp = noEdns.send(query("big.test", Type.MX));
        assertThat(udp.getHeader().getFlag(Flags.TC)).isTrue();
        assertThat(udp.getSection(Section.ANSWER)).isEmpty();
        assertThat(dns.tcpQueryCount()).isZero();

        noEdns.setTCP(true);
        Message tcp = noEdns.send(query("big.test", Type.MX));
        assertThat(tcp.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(tcp.getSection(Section.ANSWER)).hasSize(25);
        assertThat(dns.tcpQueryCount()).isEqualTo(1);
    }

    @Test
    void ednsClientGetsLargerUdpAnswers() throws Exception {
        for (int i = 0; i < 25; i++) {
            dns.mx("big.test", i, "mail-exchanger-" + i + ".big.test"); // ~850 bytes: over 512, under 1280
        }
        SimpleResolver edns = client();
        edns.setIgnoreTruncation(true);

        Message udp = edns.send(query("big.test", Type.MX));

        assertThat(udp.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(udp.getSection(Section.ANSWER)).hasSize(25);
        assertThat(udp.getOPT()).isNotNull();
    }
}
