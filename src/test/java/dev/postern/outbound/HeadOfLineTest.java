package dev.postern.outbound;

import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.ScriptedSmtpServer.Verb;
import dev.postern.testkit.TestConfigs;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 14: a backlogged next hop must not hold the global delivery slots (head-of-line blocking), and the
 * per-destination limit counts per next hop, not per recipient domain.
 */
class HeadOfLineTest {
    @TempDir Path data;

    static final String FROM = "alice@a.example";
    static final int CONCURRENCY = 8;
    static final int PER_DESTINATION = 2;

    /** A next hop that takes {@code delay} to answer each end of data, and counts how many it serves at once. */
    static ScriptedSmtpServer slow(Duration delay, AtomicInteger now, AtomicInteger most) {
        return ScriptedSmtpServer.create().pipelining().on(Verb.DATA_END, text -> {
            most.accumulateAndGet(now.incrementAndGet(), Math::max);
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                now.decrementAndGet();
            }
            return null; // the default 250
        });
    }

    @Test void aSlowDestinationDoesNotDelayAnotherOne() throws Exception {
        AtomicInteger now = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        try (ScriptedSmtpServer slowHop = slow(Duration.ofMillis(40), now, most).start();
             ScriptedSmtpServer fastHop = ScriptedSmtpServer.create().pipelining().start()) {
            // slow1 and slow2 are two domains behind one next hop; fast.example has its own.
            Config base = TestConfigs.withRelay(TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")),
                    Set.of("slow1.example", "slow2.example", "fast.example"), Map.of(
                            "slow1.example", new Config.Route("127.0.0.1", slowHop.port(), false),
                            "slow2.example", new Config.Route("127.0.0.1", slowHop.port(), false),
                            "fast.example", new Config.Route("127.0.0.1", fastHop.port(), false)));
            Config config = Outbound.withDelivery(base, CONCURRENCY, PER_DESTINATION, Duration.ofSeconds(30),
                    Duration.ofSeconds(30));
            try (Gateway gw = Gateway.start(config)) {
                // A backlog far beyond the global slots (the 500 messages), over two domains.
                int backlog = 500;
                for (int i = 0; i < backlog; i++) {
                    submit(gw, FROM, List.of("u" + i + "@slow" + (1 + i % 2) + ".example"), body("slow " + i, "Hi"));
                }
                Instant submitted = Instant.now();
                submit(gw, FROM, List.of("bob@fast.example"), body("fast", "Hello"));
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                        .until(() -> fastHop.delivered().size() == 1);
                Duration took = Duration.between(submitted, Instant.now());
                // Before: every global slot parked behind the slow next hop; the fast message waited for about
                // backlog / PER_DESTINATION slow deliveries.
                assertThat(took).isLessThan(Duration.ofSeconds(3));
                assertThat(slowHop.delivered().size()).as("the slow backlog is still being worked off")
                        .isLessThan(backlog - 2 * PER_DESTINATION);
                // One limit for the next hop shared by both domains (before: one per domain, twice as many).
                await().atMost(Duration.ofSeconds(120)).until(() -> slowHop.delivered().size() == backlog);
                assertThat(most.get()).isEqualTo(PER_DESTINATION);
                // Idle next hops are forgotten: one limit per next hop ever seen would grow without bound.
                await().atMost(Duration.ofSeconds(10)).until(() -> gw.scheduler().nextHopsInUse() == 0);
            }
        }
    }

    @Test void theLimitHoldsWhateverOrderEqualPreferenceMxHostsComeIn() throws Exception {
        // Three MX hosts of equal preference: DNS gives them in random order (RFC 5321 §5.1) on every routing, and
        // every order is still the same next hop with one limit.
        AtomicInteger now = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        try (ScriptedSmtpServer mx1 = slow(Duration.ofMillis(30), now, most)
                .start(new java.net.InetSocketAddress("127.0.79.1", 0));
             ScriptedSmtpServer mx2 = slow(Duration.ofMillis(30), now, most)
                     .start(new java.net.InetSocketAddress("127.0.79.2", mx1.port()));
             ScriptedSmtpServer mx3 = slow(Duration.ofMillis(30), now, most)
                     .start(new java.net.InetSocketAddress("127.0.79.3", mx1.port()));
             dev.postern.dns.TestDnsServer dns = dev.postern.dns.TestDnsServer.start()) {
            dns.mx("b.example", 10, "mx1.b.example").mx("b.example", 10, "mx2.b.example")
                    .mx("b.example", 10, "mx3.b.example").a("mx1.b.example", "127.0.79.1")
                    .a("mx2.b.example", "127.0.79.2").a("mx3.b.example", "127.0.79.3");
            Config base = TestConfigs.withDns(TestConfigs.withRelay(
                    TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("b.example"), Map.of()),
                    dns.address(), mx1.port());
            Config config = Outbound.withDelivery(base, CONCURRENCY, 1, Duration.ofSeconds(30), Duration.ofSeconds(30));
            try (Gateway gw = Gateway.start(config)) {
                int messages = 40;
                for (int i = 0; i < messages; i++) {
                    submit(gw, FROM, List.of("u" + i + "@b.example"), body("m " + i, "Hi"));
                }
                await().atMost(Duration.ofSeconds(60)).until(() ->
                        mx1.delivered().size() + mx2.delivered().size() + mx3.delivered().size() == messages);
                assertThat(most.get()).as("deliveries at once to the one next hop").isEqualTo(1);
                await().atMost(Duration.ofSeconds(10)).until(() -> gw.scheduler().nextHopsInUse() == 0);
            }
        }
    }
}
