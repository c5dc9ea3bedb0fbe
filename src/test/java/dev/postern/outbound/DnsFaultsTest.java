package dev.postern.outbound;

import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.Leaks;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/**
 * Issue 17, DNS faults: a resolver that times out or answers SERVFAIL defers the mail (4.4.3 for the MX lookup, 4.4.1
 * for an MX host's addresses), never bounces it and never skips the domain's MX to use its A record; the next MX host
 * is still tried; and a resolver that flaps (answers, SERVFAIL, times out, answers) costs a few retries, never a
 * bounce. Bogus DNSSEC under {@code dane-only}: {@code DaneSignedZonesTest#bogusUnderDaneOnlyNeverDelivers}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DnsFaultsTest {
    static final String FROM = "alice@a.example";
    /** The gateway's [dns] timeout (TestConfigs.withDns): the whole of one lookup. */
    static final Duration DNS_TIMEOUT = Duration.ofSeconds(2);
    static final Duration MARGIN = Duration.ofMillis(1500);

    @TempDir static Path data;
    final RecordingAudit audit = new RecordingAudit();
    /** One resolver, one next hop (every MX host is 127.0.0.1 on its port) and one gateway for both tests. */
    TestDnsServer dns;
    ScriptedSmtpServer mx;
    Gateway gw;

    @BeforeAll void start() throws Exception {
        dns = TestDnsServer.start();
        mx = ScriptedSmtpServer.create().start();
        Config base = TestConfigs.withDns(TestConfigs.withRelay(TestConfigs.gateway(data, Outbound.HOSTNAME,
                Set.of("a.example")), Set.of("mx-servfail.example", "mx-timeout.example", "a-servfail.example",
                "a-timeout.example", "second.example", "flap.example"), java.util.Map.of()), dns.address(), mx.port());
        // a retry every second: the flapping resolver is asked again and again
        gw = Gateway.start(TestConfigs.withQueue(base, new Config.Queue(Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ofDays(1), null)), audit);
    }

    @AfterAll void stop() throws Exception {
        try {
            if (gw != null) {
                Outbound.awaitEmptySpool(gw);
                gw.close();
                assertThat(Leaks.filesUnder(data.resolve("queue"))).as("files open in the spool").isZero();
                eventually().until(() -> Leaks.socketsOnPort(mx.port()) == 0);
            }
        } finally {
            if (mx != null) mx.close();
            if (dns != null) dns.close();
        }
    }

    /** The recipients' deliveries that {@code mx} received. */
    private List<List<String>> delivered(String domain) {
        return mx.delivered().stream().map(ScriptedSmtpServer.Transaction::recipients)
                .filter(r -> r.getFirst().endsWith("@" + domain)).toList();
    }

    private DeliveryRecord first(String rcpt) {
        return audit.await(DeliveryRecord.class, r -> r.recipient().equals(rcpt) && r.attempt() == 1);
    }

    /** The first attempt of {@code rcpt}, deferred with {@code status} and a reason starting with {@code reason}. */
    private DeliveryRecord deferred(String rcpt, String status, String reason) {
        DeliveryRecord r = first(rcpt);
        assertThat(r.outcome()).as(rcpt).isEqualTo(Outcome.DEFERRED);
        assertThat(r.status()).as(rcpt).isEqualTo(status);
        assertThat(r.reason()).as(rcpt).startsWith(reason);
        assertThat(r.dsnQueueId()).as(rcpt).isNull();
        return r;
    }

    private DeliveryRecord await(String rcpt, Predicate<DeliveryRecord> which) {
        return audit.await(DeliveryRecord.class, r -> r.recipient().equals(rcpt) && which.test(r));
    }

    @Test void timeoutsAndServfailDeferNeverBounceAndNeverSkipTheMx() throws Exception {
        dns.ttl(0);
        // MX lookups that fail; each domain also has an A record at the server: using it would be a fault
        dns.a("mx-servfail.example", "127.0.0.1").servfail("mx-servfail.example", Type.MX);
        dns.a("mx-timeout.example", "127.0.0.1").silent("mx-timeout.example");
        // MX answered, the MX host's addresses not
        dns.mx("a-servfail.example", 10, "mx.a-servfail.example").a("mx.a-servfail.example", "127.0.0.1")
                .servfail("mx.a-servfail.example");
        dns.mx("a-timeout.example", 10, "mx.a-timeout.example").a("mx.a-timeout.example", "127.0.0.1")
                .silent("mx.a-timeout.example");
        // the first MX host's lookup fails, the second's works: delivered there, in the same attempt
        dns.mx("second.example", 10, "mx1.second.example").mx("second.example", 20, "mx2.second.example")
                .a("mx1.second.example", "127.0.0.1").servfail("mx1.second.example")
                .a("mx2.second.example", "127.0.0.1");
        List<String> failing = List.of("mx-servfail", "mx-timeout", "a-servfail", "a-timeout");
        submit(gw, FROM, List.of("bob@mx-timeout.example"), body("mx-timeout", "Hello"));
        for (String d : failing) {
            if (!d.equals("mx-timeout")) submit(gw, FROM, List.of("bob@" + d + ".example"), body(d, "Hello"));
        }
        submit(gw, FROM, List.of("bob@second.example"), body("second", "Hello"));

        deferred("bob@mx-servfail.example", "4.4.3", "451 4.4.3 DNS lookup of MX for mx-servfail.example failed: "
                + "DNS server answered SERVFAIL for mx-servfail.example/MX");
        DeliveryRecord timeout = deferred("bob@mx-timeout.example", "4.4.3", "451 4.4.3 DNS lookup of MX for "
                + "mx-timeout.example failed: DNS timeout for mx-timeout.example/MX");
        // from the resolver's first sight of the question: the submission's own time is not the resolver's
        Duration given = Duration.between(dns.firstAsked("mx-timeout.example"), timeout.at());
        assertThat(given).as("a silent resolver is given [dns] timeout").isLessThan(DNS_TIMEOUT.plus(MARGIN))
                .isGreaterThanOrEqualTo(DNS_TIMEOUT.minusMillis(100));
        System.out.printf("dns-faults: silent resolver given up after %d ms (timeout %d ms)%n",
                given.toMillis(), DNS_TIMEOUT.toMillis());
        deferred("bob@a-servfail.example", "4.4.1", "451 4.4.1 DNS lookup of mx.a-servfail.example failed: "
                + "DNS server answered SERVFAIL for mx.a-servfail.example/");
        deferred("bob@a-timeout.example", "4.4.1", "451 4.4.1 DNS lookup of mx.a-timeout.example failed: "
                + "DNS timeout for mx.a-timeout.example/");
        DeliveryRecord second = first("bob@second.example");
        assertThat(second.outcome()).isEqualTo(Outcome.DELIVERED);
        assertThat(second.mxHost()).isEqualTo("mx2.second.example");
        assertThat(second.hostsTried().getFirst()).startsWith("DNS lookup of mx1.second.example failed: DNS "
                + "server answered SERVFAIL");

        for (String d : failing) {
            assertThat(delivered(d + ".example")).as("nothing went to an A record instead of the MX").isEmpty();
        }
        // retried, still deferred while the resolver fails; never a bounce, never a DSN
        for (String d : failing) await("bob@" + d + ".example", r -> r.attempt() == 2);
        assertThat(audit.of(DeliveryRecord.class)).noneMatch(r -> r.outcome() == Outcome.BOUNCED)
                .allMatch(r -> r.dsnQueueId() == null);
        assertThat(Outbound.mailbox(data, FROM)).as("no DSN").isEmpty();

        // the resolver answers again: each delivered on its next retry, once
        dns.heal("mx-timeout.example").heal("mx.a-servfail.example").heal("mx.a-timeout.example");
        dns.heal("mx-servfail.example").mx("mx-servfail.example", 10, "mx.mx-servfail.example")
                .a("mx.mx-servfail.example", "127.0.0.1");
        dns.mx("mx-timeout.example", 10, "mx.mx-timeout.example").a("mx.mx-timeout.example", "127.0.0.1");
        for (String d : failing) {
            DeliveryRecord ok = await("bob@" + d + ".example", r -> r.outcome() == Outcome.DELIVERED);
            assertThat(ok.mxHost()).isEqualTo("mx." + d + ".example");
        }
        for (String d : failing) assertThat(delivered(d + ".example")).hasSize(1);
        assertThat(delivered("second.example")).hasSize(1);
        assertThat(Outbound.mailbox(data, FROM)).isEmpty();
    }

    @Test void aFlappingResolverCostsRetriesNeverABounce() throws Exception {
        dns.ttl(0).mx("flap.example", 10, "mx.flap.example").a("mx.flap.example", "127.0.0.1");
        // 1. it answers: delivered
        submit(gw, FROM, List.of("ann@flap.example"), body("flap 1", "Hello"));
        assertThat(first("ann@flap.example").outcome()).isEqualTo(Outcome.DELIVERED);

        // 2. SERVFAIL: deferred
        dns.servfail("flap.example");
        String bobId = submit(gw, FROM, List.of("bob@flap.example"), body("flap 2", "Hello"));
        DeliveryRecord one = first("bob@flap.example");
        assertThat(one.outcome()).isEqualTo(Outcome.DEFERRED);
        assertThat(one.reason()).contains("SERVFAIL");

        // 3. no answer at all: deferred again
        dns.heal("flap.example").silent("flap.example");
        DeliveryRecord timedOut = await("bob@flap.example", r -> r.reason().contains("DNS timeout"));
        assertThat(timedOut.outcome()).isEqualTo(Outcome.DEFERRED);
        assertThat(timedOut.status()).isEqualTo("4.4.3");

        // 4. it answers again: delivered on the next retry
        dns.heal("flap.example");
        DeliveryRecord done = await("bob@flap.example", r -> r.outcome() == Outcome.DELIVERED);
        assertThat(done.attempt()).isGreaterThanOrEqualTo(3);
        eventually().until(() -> Outbound.entry(gw, bobId).isEmpty());
        assertThat(audit.of(DeliveryRecord.class)).noneMatch(r -> r.outcome() == Outcome.BOUNCED);
        assertThat(Outbound.mailbox(data, FROM)).as("no DSN").isEmpty();
        assertThat(delivered("flap.example")).containsExactly(List.of("ann@flap.example"),
                List.of("bob@flap.example"));
        System.out.printf("dns-faults: flapping resolver: delivered on attempt %d, no bounce%n",
                done.attempt());
    }
}
