package dev.postern.outbound;

import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.Leaks;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.ScriptedSmtpServer.StartTlsFailure;
import dev.postern.testkit.ScriptedSmtpServer.Verb;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 17, "faults on the other side": next hops on loopback that misbehave on purpose, one row of {@link #FAULTS}
 * each (a {@link ScriptedSmtpServer} told how to fail, on its own port, for its own recipient domain), all delivered
 * to by one gateway at once. For each row: the first attempt's outcome per recipient as RFC 5321 says (4xx and lost
 * connections defer, 5xx bounce that recipient with a DSN, 421 closes and defers; under {@code encrypt} never a
 * clear-text MAIL), the reason the delivery audit record and the queue keep, how long a hung peer was given, and once
 * the server is healed, the retry delivering each deferred recipient exactly once; then no socket left on the server's
 * port and no file open in the spool. {@link #severalMxHostsFailingInDifferentWaysEndAtTheLastOne} walks four MX hosts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultyNextHopTest {
    static final Duration COMMAND = Duration.ofSeconds(3);
    static final Duration DATA = Duration.ofSeconds(4);
    /** How late past its timeout a hung peer may be given up: the watchdog's tick and a loaded 2-core machine. */
    static final Duration MARGIN = Duration.ofMillis(1500);
    static final String FROM = "alice@a.example";

    /** What one recipient's first attempt must come to; {@code reason} is a fragment, "{peer}" the next hop. */
    record Expect(String local, Outcome outcome, String status, String reason) {}

    /**
     * One way for a next hop to misbehave: {@code setup} scripts the server, {@code heal} makes it behave; {@code
     * level} the TLS policy for the row's domain (null: the default, may); {@code hang} the timeout a hung peer must
     * be given up after (null: not a hang); {@code bodyBytes} the message's size.
     */
    record Fault(String name, Consumer<ScriptedSmtpServer> setup, Consumer<ScriptedSmtpServer> heal, TlsLevel level,
                 Duration hang, int bodyBytes, List<Expect> expect) {
        String domain() { return name + ".example"; }

        String rcpt(String local) { return local + "@" + domain(); }

        @Override public String toString() { return name; }
    }

    static Expect defer(String local, String status, String reason) {
        return new Expect(local, Outcome.DEFERRED, status, reason);
    }

    static Fault fault(String name, Consumer<ScriptedSmtpServer> setup, Expect... expect) {
        return new Fault(name, setup, ScriptedSmtpServer::clearScript, null, null, 1000, List.of(expect));
    }

    static Fault hang(String name, Duration timeout, Consumer<ScriptedSmtpServer> setup, Consumer<ScriptedSmtpServer> heal,
                      Expect... expect) {
        return new Fault(name, setup, heal, null, timeout, 1000, List.of(expect));
    }

    static Fault tls(String name, StartTlsFailure failure, Duration hang, String reason) {
        return new Fault(name, s -> s.startTlsFailure(failure), s -> s.startTlsFailure(StartTlsFailure.NONE),
                TlsLevel.ENCRYPT, hang, 1000, List.of(defer("bob", "4.7.10", "TLS required by policy for " + name
                + ".example (static entry \"" + name + ".example\"): {peer}: " + reason)));
    }

    static final String LOST = "451 4.4.1 lost connection with {peer} while ";

    static final List<Fault> FAULTS = List.of(
            fault("refused", s -> { }, defer("bob", "4.4.1", "451 4.4.1 connect to {peer} failed: Connection refused")),
            hang("greeting-silent", COMMAND, s -> s.greeting(ScriptedSmtpServer.SILENT), ScriptedSmtpServer::clearScript,
                    defer("bob", "4.4.1", LOST + "receiving the greeting: reply timed out after 3.0 s")),
            hang("greeting-trickle", COMMAND, s -> s.trickle(Duration.ofSeconds(1)), s -> s.trickle(null),
                    defer("bob", "4.4.1", LOST + "receiving the greeting: reply timed out after 3.0 s")),
            fault("greeting-garbage", s -> s.greeting("hello, this is not SMTP"),
                    defer("bob", "4.4.1", LOST + "receiving the greeting: malformed reply line: hello, this is not")),
            fault("greeting-oversized", s -> s.greeting(ScriptedSmtpServer.unterminated("220 " + "x".repeat(100_000))),
                    defer("bob", "4.4.1", LOST + "receiving the greeting: malformed reply line: line longer than "
                            + "16384 octets")),
            fault("ehlo-out-of-range", s -> s.on(Verb.EHLO, "999 what"),
                    defer("bob", "4.4.1", LOST + "sending EHLO: reply code out of range: 999")),
            fault("ehlo-too-many-lines", s -> s.on(Verb.EHLO, "250-x\n".repeat(2000) + "250 x"),
                    defer("bob", "4.4.1", LOST + "sending EHLO: reply has too many lines")),
            fault("mail-mismatched", s -> s.on(Verb.MAIL, "250-2.1.0 ok\n550 5.1.0 no"),
                    defer("bob", "4.4.1", LOST + "sending MAIL FROM: reply code changed within a reply: 550 5.1.0 no")),
            fault("mail-421", s -> s.on(Verb.MAIL, "421 4.3.2 shutting down"),
                    defer("bob", "4.3.2", "451 4.3.2 {peer} refused MAIL FROM: 421 4.3.2 shutting down")),
            fault("mail-421-pipelined", s -> s.pipelining().on(Verb.MAIL, "421 4.3.2 shutting down"),
                    defer("bob", "4.3.2", "451 4.3.2 {peer} refused MAIL FROM: 421 4.3.2 shutting down")),
            fault("rcpt-421", s -> s.onRcpt("carol@rcpt-421.example", "421 4.3.2 going down"),
                    defer("bob", "4.3.2", "451 4.3.2 {peer} refused RCPT TO: 421 4.3.2 going down"),
                    defer("carol", "4.3.2", "451 4.3.2 {peer} refused RCPT TO: 421 4.3.2 going down")),
            fault("rcpt-421-pipelined", s -> s.pipelining()
                            .onRcpt("carol@rcpt-421-pipelined.example", "421 4.3.2 going down"),
                    defer("bob", "4.3.2", "451 4.3.2 {peer} refused RCPT TO: 421 4.3.2 going down"),
                    defer("carol", "4.3.2", "451 4.3.2 {peer} refused RCPT TO: 421 4.3.2 going down")),
            new Fault("rcpt-mixed", s -> s.pipelining().onRcpt("carol@rcpt-mixed.example", "550 5.1.1 no such user")
                    .onRcpt("dave@rcpt-mixed.example", "452 4.2.2 mailbox full"),
                    s -> s.clearRcpt("dave@rcpt-mixed.example"), null, null, 1000, List.of(
                    new Expect("bob", Outcome.DELIVERED, "2.0.0", "{peer} accepted: 250 2.0.0 queued as"),
                    new Expect("carol", Outcome.BOUNCED, "5.1.1", "{peer} said: 550 5.1.1 no such user"),
                    defer("dave", "4.2.2", "{peer} said: 452 4.2.2 mailbox full"))),
            fault("mail-550", s -> s.on(Verb.MAIL, "550 5.7.1 sender refused"),
                    new Expect("bob", Outcome.BOUNCED, "5.7.1", "{peer} said: 550 5.7.1 sender refused"),
                    new Expect("carol", Outcome.BOUNCED, "5.7.1", "{peer} said: 550 5.7.1 sender refused")),
            new Fault("data-cut", s -> s.on(Verb.DATA, ScriptedSmtpServer.DISCONNECT_MID_DATA),
                    ScriptedSmtpServer::clearScript, null, null, 6_000_000,
                    List.of(defer("bob", "4.4.1", LOST + "sending message content: Broken pipe"))),
            hang("data-end-silent", DATA, s -> s.on(Verb.DATA_END, ScriptedSmtpServer.SILENT),
                    ScriptedSmtpServer::clearScript,
                    defer("bob", "4.4.1", LOST + "waiting for the end-of-data reply: reply timed out after 4.0 s")),
            tls("starttls-454", StartTlsFailure.REFUSE, null,
                    "STARTTLS refused: 454 4.7.0 TLS not available due to temporary reason"),
            tls("starttls-closed", StartTlsFailure.CLOSE_AFTER_READY, null, "TLS handshake failed"),
            tls("starttls-garbage", StartTlsFailure.GARBAGE_AFTER_READY, null, "TLS handshake failed"),
            tls("handshake-cut", StartTlsFailure.CLOSE_DURING_HANDSHAKE, null, "TLS handshake failed"),
            tls("handshake-alert", StartTlsFailure.ALERT, null,
                    "TLS handshake failed: (handshake_failure) Received fatal alert: handshake_failure"),
            tls("handshake-stall", StartTlsFailure.STALL_DURING_HANDSHAKE, COMMAND,
                    "TLS handshake failed: timed out after 3 s"));

    @TempDir static Path data;
    final RecordingAudit audit = new RecordingAudit();
    final Map<String, ScriptedSmtpServer> servers = new LinkedHashMap<>();
    final Map<String, String> ids = new HashMap<>();
    final Map<String, Instant> submitted = new HashMap<>();
    final Map<String, Instant> healed = new java.util.concurrent.ConcurrentHashMap<>();
    KeyMaterial material;
    TestDnsServer dns;
    /** The SMTP port of the MX hosts of {@link #severalMxHostsFailingInDifferentWaysEndAtTheLastOne}. */
    int mxPort;
    final List<ScriptedSmtpServer> mxHosts = new ArrayList<>();
    Gateway gw;

    static Stream<Fault> faults() { return FAULTS.stream(); }

    @BeforeAll void startEverything() throws Exception {
        material = Certificates.selfSigned(List.of("mx.faults.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        Map<String, Config.Route> routes = new HashMap<>();
        Map<String, TlsPolicy> policies = new HashMap<>();
        for (Fault f : FAULTS) {
            // TLS only where the row is about TLS: fewer handshakes on a busy machine, and none before a hang
            ScriptedSmtpServer s = ScriptedSmtpServer.create().enhancedStatusCodes();
            if (f.level() != null) s.starttls(material);
            f.setup().accept(s);
            int port = f.name().equals("refused") ? Outbound.closedPort() : s.start().port();
            servers.put(f.name(), s);
            routes.put(f.domain(), new Config.Route("127.0.0.1", port, false));
            if (f.level() != null) policies.put(f.domain(), TlsPolicy.of(f.level()));
        }
        // MX hosts for the multi-MX cases: 127.0.83.1 refuses (nobody listens), .2 hangs, .3 says 421, .4 works;
        // mx-all.example has only the first three.
        mxPort = Outbound.freeOnAll(List.of("127.0.83.1", "127.0.83.2", "127.0.83.3", "127.0.83.4"));
        mxHosts.add(ScriptedSmtpServer.create().hostname("mx2.example").greeting(ScriptedSmtpServer.SILENT)
                .start(new InetSocketAddress("127.0.83.2", mxPort)));
        mxHosts.add(ScriptedSmtpServer.create().hostname("mx3.example").greeting("421 4.3.2 too busy")
                .start(new InetSocketAddress("127.0.83.3", mxPort)));
        mxHosts.add(ScriptedSmtpServer.create().hostname("mx4.example")
                .start(new InetSocketAddress("127.0.83.4", mxPort)));
        dns = TestDnsServer.start();
        for (String d : List.of("mx-last.example", "mx-all.example")) {
            dns.mx(d, 10, "mx1." + d).a("mx1." + d, "127.0.83.1").mx(d, 20, "mx2." + d).a("mx2." + d, "127.0.83.2")
                    .mx(d, 30, "mx3." + d).a("mx3." + d, "127.0.83.3");
        }
        dns.mx("mx-last.example", 40, "mx4.mx-last.example").a("mx4.mx-last.example", "127.0.83.4");

        Set<String> domains = new java.util.HashSet<>(routes.keySet());
        domains.addAll(List.of("mx-last.example", "mx-all.example"));
        Config base = TestConfigs.withDns(TestConfigs.withRelay(TestConfigs.gateway(data, Outbound.HOSTNAME,
                Set.of("a.example")), domains, routes), dns.address(), mxPort);
        // retries every 2 s: the first attempt is checked, then the server healed, then the retry delivers
        Config config = TestConfigs.withQueue(Outbound.withDelivery(base, 40, 5, COMMAND, DATA),
                new Config.Queue(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofDays(1), null))
                .withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY), policies));
        gw = Gateway.start(config, audit);
        for (Fault f : FAULTS) {
            List<String> rcpts = f.expect().stream().map(e -> f.rcpt(e.local())).toList();
            String text = f.bodyBytes() > 1000 ? ("y".repeat(78) + "\r\n").repeat(f.bodyBytes() / 80) : "Hello";
            submitted.put(f.name(), Instant.now());
            ids.put(f.name(), submit(gw, FROM, rcpts, body(f.name(), text)));
        }
        for (String d : List.of("mx-last.example", "mx-all.example")) {
            ids.put(d, submit(gw, FROM, List.of("bob@" + d), body(d, "Hello")));
        }
        // Each server is healed as soon as its first attempt is recorded, all at once: the retries (every 2 s) then
        // run side by side, and each test below finds its outcome already there.
        for (Fault f : FAULTS) {
            Thread.ofVirtual().name("heal-" + f.name()).start(() -> {
                for (Expect e : f.expect()) record(f.rcpt(e.local()), 1);
                ScriptedSmtpServer server = servers.get(f.name());
                try {
                    if (f.name().equals("refused")) {
                        server.start(new InetSocketAddress("127.0.0.1", gw.config().routes().get(f.domain()).port()));
                    } else {
                        f.heal().accept(server);
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                healed.put(f.name(), Instant.now());
            });
        }
        Thread.ofVirtual().name("heal-mx").start(() -> {
            record("bob@mx-last.example", 1);
            record("bob@mx-all.example", 1);
            mxHosts.get(1).clearScript(); // the 421 host takes mail from now on
        });
    }

    @AfterAll void stopEverything() throws Exception {
        if (gw != null) {
            // every message settled (bounces delivered to the local sender), and nothing of the spool left open
            eventually().until(() -> gw.spool().list().isEmpty() && gw.scheduler().size() == 0);
            gw.close();
            List<DeliveryRecord> all = audit.of(DeliveryRecord.class, r -> !r.recipient().equals(FROM));
            Map<Outcome, Long> firsts = all.stream().filter(r -> r.attempt() == 1).collect(
                    java.util.stream.Collectors.groupingBy(DeliveryRecord::outcome, java.util.stream.Collectors.counting()));
            System.out.printf("faults: %d rows + 2 multi-MX domains; first attempts %s; %d attempts in all, %d deferred "
                    + "before the servers were healed; %d DSNs%n", FAULTS.size(), firsts, all.size(),
                    all.stream().filter(r -> r.outcome() == Outcome.DEFERRED).count(),
                    Outbound.mailbox(data, FROM).size());
            assertThat(Leaks.filesUnder(data.resolve("queue"))).as("files open in the spool").isZero();
        }
        for (ScriptedSmtpServer s : servers.values()) s.close();
        for (ScriptedSmtpServer s : mxHosts) s.close();
        if (dns != null) dns.close();
    }

    private static String peer(int port) {
        return "127.0.0.1[127.0.0.1]:" + port;
    }

    private DeliveryRecord record(String rcpt, int attempt) {
        return audit.await(DeliveryRecord.class, r -> r.recipient().equals(rcpt) && r.attempt() == attempt);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("faults")
    void eachFaultEndsAsRfc5321Says(Fault f) throws Exception {
        ScriptedSmtpServer server = servers.get(f.name());
        int port;
        Config.Route route = gw.config().routes().get(f.domain());
        String peer = peer(route.port());
        List<String> deferred = new ArrayList<>();
        for (Expect e : f.expect()) {
            DeliveryRecord first = record(f.rcpt(e.local()), 1);
            assertThat(first.outcome()).as(e.local()).isEqualTo(e.outcome());
            assertThat(first.status()).as(e.local()).isEqualTo(e.status());
            assertThat(first.reason()).as(e.local()).contains(e.reason().replace("{peer}", peer));
            if (e.outcome() == Outcome.DEFERRED) deferred.add(f.rcpt(e.local()));
            if (e.outcome() == Outcome.BOUNCED) {
                assertThat(first.dsnQueueId()).as("a DSN for " + e.local()).isNotNull();
                String dsn = eventually().until(() -> Outbound.mailbox(data, FROM).stream()
                        .filter(m -> m.contains("Final-Recipient: rfc822; " + f.rcpt(e.local()))).findFirst(),
                        java.util.Optional::isPresent).orElseThrow();
                assertThat(dsn.replace("\r\n ", " ")).contains("Action: failed", "Status: " + e.status(),
                        e.reason().replace("{peer} said: ", ""));
            } else {
                assertThat(first.dsnQueueId()).as("no DSN for " + e.local()).isNull();
            }
        }
        if (f.hang() != null) {
            // given up within the timeout and a small margin, not at once and not never
            DeliveryRecord first = record(f.rcpt(f.expect().getFirst().local()), 1);
            Duration given = Duration.between(server.connections().getFirst().acceptedAt(), first.at());
            assertThat(given).as("time given to the hung peer").isBetween(f.hang().minusMillis(100),
                    f.hang().plus(MARGIN));
            System.out.printf("faults: %s given up after %d ms (timeout %d ms)%n", f.name(), given.toMillis(),
                    f.hang().toMillis());
        }
        if (f.level() != null) {
            assertThat(server.transactions()).as("never a MAIL in clear text under " + f.level())
                    .allMatch(ScriptedSmtpServer.Transaction::usedTls);
        }

        // healed (in the background, once the first attempt was recorded), the next retry delivers each deferred
        // recipient, exactly once
        eventually().until(() -> healed.containsKey(f.name()));
        port = server.port();
        for (String rcpt : deferred) {
            audit.await(DeliveryRecord.class, r -> r.recipient().equals(rcpt) && r.outcome() == Outcome.DELIVERED);
        }
        eventually().until(() -> !gw.scheduler().isRunning(ids.get(f.name())) && Outbound.entry(gw, ids.get(f.name()))
                .isEmpty());
        List<String> got = server.delivered().stream().flatMap(t -> t.acceptedRecipients().stream()).toList();
        List<String> expected = f.expect().stream().filter(e -> e.outcome() != Outcome.BOUNCED)
                .map(e -> f.rcpt(e.local())).toList();
        assertThat(got).as("each recipient delivered once").containsExactlyInAnyOrderElementsOf(expected);
        if (f.level() != null) {
            assertThat(server.delivered()).allMatch(ScriptedSmtpServer.Transaction::usedTls);
        }
        int p = port;
        // no socket left on either end once the cached connection's idle time is up
        eventually().until(() -> Leaks.socketsOnPort(p) == 0);
    }

    @Test void severalMxHostsFailingInDifferentWaysEndAtTheLastOne() throws Exception {
        DeliveryRecord d = record("bob@mx-last.example", 1);
        assertThat(d.outcome()).isEqualTo(Outcome.DELIVERED);
        assertThat(d.mxHost()).isEqualTo("mx4.mx-last.example");
        String p = ":" + mxPort + " ";
        assertThat(d.hostsTried()).hasSize(4);
        assertThat(d.hostsTried().get(0)).startsWith("mx1.mx-last.example[127.0.83.1]" + p + "host failed")
                .contains("Connection refused");
        assertThat(d.hostsTried().get(1)).startsWith("mx2.mx-last.example[127.0.83.2]" + p + "host failed")
                .contains("while receiving the greeting: reply timed out after 3.0 s");
        assertThat(d.hostsTried().get(2)).startsWith("mx3.mx-last.example[127.0.83.3]" + p + "host failed")
                .contains("refused greeting: 421 4.3.2 too busy");
        assertThat(d.hostsTried().get(3)).startsWith("mx4.mx-last.example[127.0.83.4]" + p + "completed");
        assertThat(mxHosts.get(2).delivered()).extracting(t -> t.acceptedRecipients())
                .contains(List.of("bob@mx-last.example"));

        // the same three failures with no fourth: deferred, the 421 the status, every host named
        DeliveryRecord all = record("bob@mx-all.example", 1);
        assertThat(all.outcome()).isEqualTo(Outcome.DEFERRED);
        assertThat(all.status()).isEqualTo("4.3.2");
        assertThat(all.reason()).startsWith("451 4.3.2 mx3.mx-all.example[127.0.83.3]:" + mxPort
                + " refused greeting: 421 4.3.2 too busy").contains("mx1.mx-all.example[127.0.83.1]:" + mxPort,
                "Connection refused", "mx2.mx-all.example[127.0.83.2]:" + mxPort, "reply timed out after 3.0 s");
        assertThat(all.dsnQueueId()).isNull();
        // healed (the 421 host takes it, see startEverything): delivered there on a retry
        audit.await(DeliveryRecord.class, r -> r.recipient().equals("bob@mx-all.example")
                && r.outcome() == Outcome.DELIVERED);
        eventually().until(() -> Leaks.socketsOnPort(mxPort) == 0);
    }
}
