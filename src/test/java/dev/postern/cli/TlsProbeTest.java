package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.RecordCodec;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.Pem;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern tls probe} against real SMTP servers with STARTTLS on loopback, reached through static routes in the
 * config (so the domain path runs without DNS): a good chain, a wrong name, an expired certificate, a self-signed one,
 * a server without STARTTLS and one that never answers EHLO. Every server records what it received: no MAIL ever.
 */
class TlsProbeTest {
    @TempDir static Path dir;
    static Path config;
    static Issued root;
    static Issued good;
    static ScriptedSmtpServer goodMx;
    static ScriptedSmtpServer wrongNameMx;
    static ScriptedSmtpServer expiredMx;
    static ScriptedSmtpServer selfSignedMx;
    static ScriptedSmtpServer plainMx;
    static ScriptedSmtpServer hangingMx;
    static ScriptedSmtpServer v6Mx;
    static ScriptedSmtpServer loopMx;
    static ServerSocket dnsSink;

    @BeforeAll static void servers() throws Exception {
        root = TestPki.root("Probe Root");
        Issued inter = TestPki.cert("Probe Intermediate").issuer(root).ca().build();
        good = TestPki.cert("mx.good.test").issuer(inter).dns("mx.good.test").ip("127.0.0.1", "::1").build();
        Issued wrong = TestPki.cert("mx.other.test").issuer(inter).dns("mx.other.test").build();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        Issued expired = TestPki.cert("mx.good.test").issuer(inter).dns("mx.good.test").ip("127.0.0.1")
                .valid(now.minus(30, ChronoUnit.DAYS), now.minus(1, ChronoUnit.DAYS)).build();
        Issued self = TestPki.cert("mx.self.test").dns("mx.self.test").ip("127.0.0.1").build();
        Path ca = dir.resolve("root.pem");
        Pem.write(root.material(), ca, dir.resolve("root.key"));

        goodMx = ScriptedSmtpServer.create().hostname("mx.good.test").pipelining()
                .starttls(good.material(inter.cert())).start();
        wrongNameMx = ScriptedSmtpServer.create().starttls(wrong.material(inter.cert())).start();
        expiredMx = ScriptedSmtpServer.create().starttls(expired.material(inter.cert())).start();
        selfSignedMx = ScriptedSmtpServer.create().starttls(self.material()).start();
        plainMx = ScriptedSmtpServer.create().start();
        hangingMx = ScriptedSmtpServer.create().starttls(good.material(inter.cert())).on(ScriptedSmtpServer.Verb.EHLO,
                ScriptedSmtpServer.HANG).start();
        v6Mx = ScriptedSmtpServer.create().starttls(good.material(inter.cert()))
                .start(new InetSocketAddress(InetAddress.getByName("::1"), 0));
        loopMx = ScriptedSmtpServer.create().hostname("gw.probe.test").start(); // a route back to ourselves
        dnsSink = new ServerSocket(0); // [dns] points here: nothing in these tests may need DNS
        config = dir.resolve("postern.toml");
        Files.writeString(config, head(dnsSink.getLocalPort(), "") + """
                [routes]
                "good.test" = "[127.0.0.1]:%d"
                "wrong.test" = "[127.0.0.1]:%d"
                "expired.test" = "[127.0.0.1]:%d"
                "self.test" = "[127.0.0.1]:%d"
                "plain.test" = "[127.0.0.1]:%d"
                "hang.test" = "[127.0.0.1]:%d"
                "may-self.test" = "[127.0.0.1]:%d"
                "may-plain.test" = "[127.0.0.1]:%d"
                "testing.test" = "[127.0.0.1]:%d"
                "named.test" = "[127.0.0.1]:%d"
                "pinned.test" = "[127.0.0.1]:%d"
                "loop.test" = "[127.0.0.1]:%d"

                [outbound_tls.default]
                level = "verify"
                ca_file = "%s"

                [outbound_tls."may-self.test"]
                level = "may"

                [outbound_tls."may-plain.test"]
                level = "may"

                [outbound_tls."testing.test"]
                level = "verify"
                mode = "testing"
                ca_file = "CA_FILE"

                [outbound_tls."named.test"]
                level = "secure"
                match = ["mx.good.test"]
                ca_file = "CA_FILE"

                [outbound_tls."pinned.test"]
                level = "fingerprint"
                fingerprints = ["%s"]
                """.formatted(goodMx.port(), wrongNameMx.port(),
                expiredMx.port(), selfSignedMx.port(), plainMx.port(), hangingMx.port(), selfSignedMx.port(),
                plainMx.port(), wrongNameMx.port(), goodMx.port(), goodMx.port(), loopMx.port(), ca,
                PeerCheck.sha256(good.cert().getPublicKey().getEncoded())).replace("CA_FILE", ca.toString()));
    }

    @AfterAll static void stop() throws Exception {
        for (ScriptedSmtpServer s : List.of(goodMx, wrongNameMx, expiredMx, selfSignedMx, plainMx, hangingMx, v6Mx, loopMx)) {
            s.close();
        }
        dnsSink.close();
    }

    static Cli.Result probe(String... args) {
        return Cli.withConfig(config, List.of("tls", "probe"), args);
    }

    static JsonNode json(String... args) throws Exception {
        String[] all = new String[args.length + 1];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--json";
        return RecordCodec.mapper().readTree(probe(all).out());
    }

    @Test void goodChainIsDeliveredVerifiedAndNoMailIsSent() throws Exception {
        int before = goodMx.connections().size();
        Cli.Result r = probe("good.test");
        assertThat(r.exit()).as(r.toString()).isZero();
        String leaf = PeerCheck.sha256(good.cert().getEncoded());
        assertThat(r.out()).contains("policy: verify, enforce (default)", "route: static route",
                "STARTTLS: offered", "certificate 0: CN=mx.good.test", "names:   mx.good.test, 127.0.0.1, 0:0:0:0:0:0:0:1",
                "sha256:  " + leaf, "certificate 1: CN=Probe Intermediate", "issuer:  CN=Probe Root",
                "=> would be delivered with TLS verified (verified for 127.0.0.1");
        assertThat(r.outLines().getLast()).startsWith("verdict: mail for good.test via 127.0.0.1[127.0.0.1]:"
                + goodMx.port() + " would be delivered with TLS verified (verified for 127.0.0.1");
        assertThat(goodMx.transactions()).isEmpty();
        org.awaitility.Awaitility.await().until(() -> goodMx.connections().size() > before);
        List<String> commands = goodMx.connections().getLast().commands();
        assertThat(commands).startsWith("EHLO gw.probe.test", "STARTTLS", "EHLO gw.probe.test");
        assertThat(commands.getLast()).isEqualTo("QUIT");
        assertThat(commands).noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));

        JsonNode j = json("good.test");
        assertThat(j.at("/verdict/mailWouldGo").asBoolean()).isTrue();
        assertThat(j.at("/verdict/outcome").asText()).isEqualTo("tls-verified");
        JsonNode c = j.at("/hosts/0/connections/0");
        assertThat(c.at("/tls/protocol").asText()).isEqualTo("TLSv1.3");
        assertThat(c.at("/tls/group").asText()).isNotEmpty();
        assertThat(c.at("/chain/0/sha256").asText()).isEqualTo(leaf);
        assertThat(c.at("/chain/0/sans/1").asText()).isEqualTo("127.0.0.1");
        assertThat(c.at("/chain").size()).isEqualTo(2);
        assertThat(c.at("/check/verified").asBoolean()).isTrue();
        assertThat(c.at("/startTlsOffered").asBoolean()).isTrue();
    }

    @Test void wrongNameWouldDefer() throws Exception {
        Cli.Result r = probe("wrong.test");
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("refused: certificate name mismatch: mx.other.test does not match 127.0.0.1");
        assertThat(r.outLines().getLast()).isEqualTo("verdict: mail for wrong.test would be deferred (policy "
                + "verify, default): 127.0.0.1[127.0.0.1]:" + wrongNameMx.port() + ": certificate name mismatch: "
                + "mx.other.test does not match 127.0.0.1 (an IP address matches IP address SANs only)");
        JsonNode j = json("wrong.test");
        assertThat(j.at("/verdict/outcome").asText()).isEqualTo("defer");
        assertThat(j.at("/hosts/0/connections/0/outcome").asText()).isEqualTo("defer");
        assertThat(j.at("/hosts/0/connections/0/check/verified").asBoolean()).isFalse();
        assertThat(wrongNameMx.transactions()).isEmpty();
    }

    @Test void expiredAndSelfSignedWouldDefer() {
        Cli.Result expired = probe("expired.test");
        assertThat(expired.exit()).as(expired.toString()).isEqualTo(1);
        assertThat(expired.out()).contains("refused: certificate expired on");
        Cli.Result self = probe("self.test");
        assertThat(self.exit()).as(self.toString()).isEqualTo(1);
        assertThat(self.out()).contains("certificate 0: CN=mx.self.test", "refused: ")
                .containsPattern("self-signed|not a trust anchor|untrusted");
    }

    @Test void selfSignedUnderMayGoesWithUnverifiedTls() throws Exception {
        Cli.Result r = probe("may-self.test");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("policy: may, enforce (static entry \"may-self.test\")",
                "=> would be delivered with TLS, not verified (unverified: ");
        assertThat(json("may-self.test").at("/verdict/outcome").asText()).isEqualTo("tls-unverified");
    }

    @Test void noStartTlsDefersUnderVerifyAndGoesInClearUnderMay() throws Exception {
        Cli.Result verify = probe("plain.test");
        assertThat(verify.exit()).as(verify.toString()).isEqualTo(1);
        assertThat(verify.out()).contains("STARTTLS: not offered", "does not offer STARTTLS");
        Cli.Result may = probe("may-plain.test");
        assertThat(may.exit()).as(may.toString()).isZero();
        assertThat(may.outLines().getLast()).isEqualTo("verdict: mail for may-plain.test via 127.0.0.1[127.0.0.1]:"
                + plainMx.port() + " would go in clear text: 127.0.0.1[127.0.0.1]:" + plainMx.port()
                + ": does not offer STARTTLS");
        JsonNode j = json("may-plain.test");
        assertThat(j.at("/verdict/outcome").asText()).isEqualTo("clear");
        assertThat(j.at("/hosts/0/connections/0/tls").isNull()).isTrue();
        assertThat(plainMx.transactions()).isEmpty();
    }

    @Test void testingModeDeliversAndSaysWhatWouldFail() {
        Cli.Result r = probe("testing.test");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("policy: verify, testing", "would fail (testing): certificate name mismatch");
    }

    @Test void matchPatternsOfThePolicyAreUsed() {
        Cli.Result r = probe("named.test");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("verified for mx.good.test");
    }

    @Test void aRouteBackToThisGatewayWouldBounce() throws Exception {
        Cli.Result r = probe("loop.test");
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.outLines().getLast()).isEqualTo("verdict: mail for loop.test via 127.0.0.1[127.0.0.1]:"
                + loopMx.port() + " would bounce (554 5.4.6): mail loops back to myself: 127.0.0.1[127.0.0.1]:"
                + loopMx.port() + " greets as gw.probe.test");
        assertThat(json("loop.test").at("/verdict/outcome").asText()).isEqualTo("bounce");
    }

    /** The start of every config here: this gateway's name, the data directory, [dns] at {@code dnsPort}. */
    private static String head(int dnsPort, String dnsMore) {
        return """
                hostname = "gw.probe.test"
                data_dir = "%s"
                [dns]
                servers = ["127.0.0.1:%d"]
                timeout = "2s"
                %s
                """.formatted(dir.resolve("data"), dnsPort, dnsMore);
    }

    /** A config whose MX hosts are asked of {@code dns} and reached on goodMx's port. */
    private static Path mxConfig(String name, TestDnsServer dns, String dnsMore, String more) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, head(dns.address().getPort(), dnsMore) + """
                [delivery]
                smtp_port = %d
                %s
                """.formatted(goodMx.port(), more));
        return f;
    }

    /** The MX path: a DNS server on loopback answers, [delivery] smtp_port points the MX hosts at the servers. */
    @Test void mxHostsInPreferenceOrder() throws Exception {
        try (TestDnsServer dns = TestDnsServer.start()) {
            dns.mx("mx.test", 10, "mx.good.test").mx("mx.test", 20, "mx2.good.test")
                    .a("mx.good.test", "127.0.0.1").a("mx2.good.test", "127.0.0.1");
            Path mxConfig = mxConfig("mx.toml", dns, "", """
                    [outbound_tls.default]
                    level = "verify"
                    ca_file = "%s"
                    """.formatted(dir.resolve("root.pem")));
            Cli.Result r = Cli.withConfig(mxConfig, List.of("tls", "probe"), "mx.test");
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.out()).contains("route: MX, answer insecure", "mx.good.test:" + goodMx.port()
                    + " (preference 10) 127.0.0.1", "mx2.good.test:" + goodMx.port() + " (preference 20) 127.0.0.1",
                    "=> would not be sent here (TLS required by policy for mx.test (default)): mx2.good.test"
                            + "[127.0.0.1]:" + goodMx.port() + ": certificate name mismatch");
            assertThat(r.outLines().getLast()).isEqualTo("verdict: mail for mx.test via mx.good.test[127.0.0.1]:"
                    + goodMx.port() + " would be delivered with TLS verified (verified for mx.good.test (issuer "
                    + "CN=Probe Intermediate))");
            Cli.Result second = Cli.withConfig(mxConfig, List.of("tls", "probe"), "mx.test", "--host",
                    "MX2.good.test");
            assertThat(second.exit()).as(second.toString()).isEqualTo(1);
            assertThat(second.out()).doesNotContain("mx.good.test:" + goodMx.port() + " (preference 10)");
            Cli.Result none = Cli.withConfig(mxConfig, List.of("tls", "probe"), "nomail.test", "--timeout", "2s");
            assertThat(none.exit()).as(none.toString()).isEqualTo(1);
            assertThat(none.outLines().getLast()).startsWith("verdict: mail for nomail.test would");
        }
    }

    /** DANE: secure MX and TLSA answers (the resolver trusts the loopback server's AD bit), level dane. */
    @Test void daneJudgesByTheTlsaRecords() throws Exception {
        byte[] spki = java.util.HexFormat.of().parseHex(PeerCheck.sha256(good.cert().getPublicKey().getEncoded()));
        byte[] other = new byte[32];
        String tlsa = "_" + goodMx.port() + "._tcp.";
        try (TestDnsServer dns = TestDnsServer.start()) {
            dns.mx("dane.test", 10, "mx.dane.test").a("mx.dane.test", "127.0.0.1").tlsa(tlsa + "mx.dane.test", 3, 1, 1,
                            spki)
                    .mx("wrong-dane.test", 10, "mx.wrong-dane.test").a("mx.wrong-dane.test", "127.0.0.1")
                    .tlsa(tlsa + "mx.wrong-dane.test", 3, 1, 1, other)
                    .authentic("dane.test", "mx.dane.test", tlsa + "mx.dane.test", "wrong-dane.test",
                            "mx.wrong-dane.test", tlsa + "mx.wrong-dane.test");
            Path daneConfig = mxConfig("dane.toml", dns, "trust_ad = true", "");
            Cli.Result r = Cli.withConfig(daneConfig, List.of("tls", "probe"), "dane.test");
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.out()).contains("policy: dane, enforce (default)", "route: MX, answer secure",
                    "DANE applies (1 record, 1 usable)", "check: DANE verified: ", "SNI mx.dane.test");
            assertThat(r.outLines().getLast()).startsWith("verdict: mail for dane.test via mx.dane.test[127.0.0.1]:"
                    + goodMx.port() + " would be delivered with TLS verified (DANE verified: ");
            Cli.Result wrong = Cli.withConfig(daneConfig, List.of("tls", "probe"), "wrong-dane.test");
            assertThat(wrong.exit()).as(wrong.toString()).isEqualTo(1);
            assertThat(wrong.out()).contains("refused: TLSA mismatch: ");
        }
    }

    @Test void pinnedKeyIsVerifiedByItsFingerprint() {
        Cli.Result r = probe("pinned.test");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("check: verified by its pinned fingerprint", "no SNI");
    }

    @Test void hangAfterEhloIsBoundedByTimeout() {
        long start = System.nanoTime();
        Cli.Result r = probe("hang.test", "--timeout", "1s");
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("error: lost connection with 127.0.0.1[127.0.0.1]:" + hangingMx.port()
                + " while sending EHLO: reply timed out after 1.0 s", "the next host is tried, then deferred");
        assertThat(ms).as("bounded by --timeout 1s").isLessThan(5_000);
    }

    @Test void oneHostGivenDirectlyIncludingIpv6() throws Exception {
        // a host's policy is its own name's: 127.0.0.1 gets the default (verify), matched against IP SANs
        Cli.Result v4 = probe("127.0.0.1:" + goodMx.port());
        assertThat(v4.exit()).as(v4.toString()).isZero();
        assertThat(v4.out()).contains("route: command line", "verified for 127.0.0.1");
        Cli.Result v6 = probe("[::1]:" + v6Mx.port());
        assertThat(v6.exit()).as(v6.toString()).isZero();
        assertThat(v6.out()).contains("verified for 0:0:0:0:0:0:0:1");
        Cli.Result port = probe("[127.0.0.1]", "--port", String.valueOf(goodMx.port()));
        assertThat(port.exit()).as(port.toString()).isZero();
        // a pinned destination probed at a host: --port on the domain's route
        assertThat(json("good.test", "--port", String.valueOf(wrongNameMx.port())).at("/verdict/outcome").asText())
                .isEqualTo("defer");
    }

    @Test void hostSelectsOneNextHop() {
        Cli.Result r = probe("good.test", "--host", "127.0.0.1");
        assertThat(r.exit()).as(r.toString()).isZero();
        Cli.Result other = probe("good.test", "--host", "mx9.good.test");
        assertThat(other.exit()).isEqualTo(2);
        assertThat(other.err().strip()).isEqualTo("postern: --host: mx9.good.test is not a next hop of good.test "
                + "(static route: 127.0.0.1)");
    }

    @Test void badUsageIsOneLineAndExit2() {
        for (String[] args : List.of(new String[] {"no_such..domain"}, new String[] {"[::1"},
                new String[] {"good.test", "--timeout", "soon"}, new String[] {"good.test", "--port", "0"},
                new String[] {"127.0.0.1:25", "--host", "mx.good.test"})) {
            Cli.Result r = probe(args);
            assertThat(r.exit()).as(r.toString()).isEqualTo(2);
            assertThat(r.errLines()).as(r.toString()).hasSize(1);
            assertThat(r.err()).startsWith("postern: ").doesNotContain("Exception");
        }
    }

    @Test void connectionRefusedWouldDefer() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Cli.Result r = probe("127.0.0.1:" + closed, "--timeout", "2s");
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("connect to 127.0.0.1[127.0.0.1]:" + closed + " failed");
    }
}
