package dev.postern.mtasts;

import static dev.postern.mtasts.PolicyServer.ok;
import static dev.postern.mtasts.PolicyServer.policy;
import static dev.postern.mtasts.PolicyServer.raw;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.dns.DnsResolver;
import dev.postern.dns.TestDnsServer;
import dev.postern.tls.KeyMaterial;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTPS fetch against a real TLS server on loopback, found through a real DNS server: Postern's resolver, SNI and
 * the certificate's name, and every way a policy host can misbehave.
 */
class PolicyFetcherTest {
    private static final String IP = "127.0.0.61";
    private static final String HOST = "mta-sts.b.example";
    private static final String GOOD = policy("enforce", 86400, "mx.b.example");

    @TempDir Path dir;
    private TestDnsServer dns;
    private PolicyServer.Ca ca;
    private PolicyServer server;
    private PolicyFetcher fetcher;

    @BeforeEach void setUp() throws Exception {
        dns = TestDnsServer.start().ttl(0); // the tests change answers: nothing cached across a change
        dns.a(HOST, IP);
        ca = PolicyServer.Ca.create(dir);
    }

    @AfterEach void tearDown() throws Exception {
        if (fetcher != null) fetcher.close();
        if (server != null) server.close();
        dns.close();
    }

    private PolicyFetcher fetcher(Path caFile, Duration timeout) throws Exception {
        fetcher = new PolicyFetcher(new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2)),
                new PolicyFetcher.Settings(caFile, Duration.ofSeconds(2), timeout, server.port()));
        return fetcher;
    }

    private Policy fetch(PolicyServer.Script script) throws Exception {
        return fetch(ca.issue(HOST), script);
    }

    private Policy fetch(KeyMaterial certificate, PolicyServer.Script script) throws Exception {
        server = PolicyServer.start(IP, certificate, script);
        return fetcher(ca.file(), Duration.ofSeconds(5)).fetch("b.example");
    }

    @Test void fetchesOverVerifiedTlsWithSniAndHost() throws Exception {
        Policy p = fetch(ok(GOOD));
        assertThat(p.mode()).isEqualTo(Policy.Mode.ENFORCE);
        assertThat(p.mx()).containsExactly("mx.b.example");
        assertThat(server.requests()).containsExactly(new PolicyServer.Request(
                "GET /.well-known/mta-sts.txt HTTP/1.1", HOST, HOST));
    }

    @Test void chunkedAndUntilCloseBodiesAndCharsetParameter() throws Exception {
        String half = GOOD.substring(0, 20), rest = GOOD.substring(20);
        Policy chunked = fetch(raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(half.length()) + "\r\n" + half + "\r\n"
                + Integer.toHexString(rest.length()) + ";ext=1\r\n" + rest + "\r\n0\r\n\r\n"));
        assertThat(chunked.maxAge()).isEqualTo(86400);
        server.script(raw("HTTP/1.0 200 OK\r\nContent-Type: TEXT/PLAIN\r\n\r\n" + GOOD));
        assertThat(fetcher.fetch("b.example").mx()).containsExactly("mx.b.example");
    }

    @Test void redirectIsAFailure() {
        assertThatThrownBy(() -> fetch(raw("HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\n"
                + "Content-Length: 0\r\n\r\n"))).isInstanceOf(PolicyFetcher.FetchException.class)
                .hasMessageContaining("HTTP status \"301\" (redirects are not followed");
        assertThat(server.requests()).hasSize(1);
    }

    @Test void otherStatusIsAFailure() {
        assertThatThrownBy(() -> fetch(raw("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                + "Content-Length: 0\r\n\r\n"))).hasMessageContaining("HTTP status \"404\", expected 200");
    }

    @Test void wrongContentTypeIsAFailure() {
        assertThatThrownBy(() -> fetch(raw("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                + GOOD.length() + "\r\n\r\n" + GOOD))).hasMessageContaining("Content-Type \"text/html\"");
        server.script(raw("HTTP/1.1 200 OK\r\nContent-Length: " + GOOD.length() + "\r\n\r\n" + GOOD));
        assertThatThrownBy(() -> fetcher.fetch("b.example")).hasMessageContaining("Content-Type missing");
    }

    @Test void oversizedBodiesAreRefused() {
        String big = GOOD + "x".repeat(PolicyFetcher.MAX_BODY);
        assertThatThrownBy(() -> fetch(raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                + big.length() + "\r\n\r\n" + big))).hasMessageContaining("over 65536");
        server.script(raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + big));
        assertThatThrownBy(() -> fetcher.fetch("b.example")).hasMessageContaining("over 65536");
        server.script(raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(big.length()) + "\r\n" + big + "\r\n0\r\n\r\n"));
        assertThatThrownBy(() -> fetcher.fetch("b.example")).hasMessageContaining("over 65536");
    }

    @Test void aSlowDripEndsAtTheFetchDeadline() throws Exception {
        server = PolicyServer.start(IP, ca.issue(HOST), out -> {
            out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < 1000; i++) {
                out.write('x');
                out.flush();
                Thread.sleep(100); // every read succeeds well within SO_TIMEOUT: only the deadline ends it
            }
        });
        fetcher(ca.file(), Duration.ofMillis(1500));
        long start = System.nanoTime();
        assertThatThrownBy(() -> fetcher.fetch("b.example")).hasMessageContaining("timed out");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
    }

    @Test void aCertificateForAnotherNameIsRefused() {
        assertThatThrownBy(() -> fetch(ca.issue("mta-sts.other.example"), ok(GOOD)))
                .isInstanceOf(PolicyFetcher.FetchException.class).hasMessageContaining(HOST + "[" + IP + "]");
        assertThat(server.requests()).as("no request over an unverified connection").isEmpty();
    }

    @Test void aCertificateFromAnUntrustedCaIsRefused() throws Exception {
        server = PolicyServer.start(IP, ca.issue(HOST), ok(GOOD));
        fetcher(null, Duration.ofSeconds(5)); // the system store only: the test CA is not in it
        assertThatThrownBy(() -> fetcher.fetch("b.example")).hasMessageContaining(HOST + "[" + IP + "]");
        assertThat(server.requests()).isEmpty();
    }

    @Test void addressesAreTriedOneAfterAnother() throws Exception {
        server = PolicyServer.start(IP, ca.issue(HOST), ok(GOOD));
        dns.clear().a(HOST, "127.0.0.62").a(HOST, IP); // nothing listens on .62
        assertThat(fetcher(ca.file(), Duration.ofSeconds(5)).fetch("b.example").mode())
                .isEqualTo(Policy.Mode.ENFORCE);
    }

    @Test void noAddressOrAnInvalidPolicyIsAFailure() throws Exception {
        assertThatThrownBy(() -> fetch(ok("version: STSv1\r\nmode: enforce\r\nmax_age: 60\r\n")))
                .hasMessageContaining("invalid policy from " + HOST).hasMessageContaining("no mx");
        dns.clear();
        assertThatThrownBy(() -> fetcher.fetch("b.example")).hasMessageContaining(HOST + " has no address");
    }
}
