package dev.postern.inbound;

import static dev.postern.inbound.AuthLockoutTest.tls;
import static dev.postern.inbound.AuthTest.plain;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.auth.AuthLimiter;
import dev.postern.auth.PasswordFile;
import dev.postern.queue.Spool;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.TlsContexts;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17, AUTH brute force over real STARTTLS sessions: guesses from many distinct source addresses (three times as many as the limiter may track) (each
 * socket bound to its own 127.x.y.z, each in its own /24 so that no network cap stops them) against a limiter that
 * tracks at most {@value #TRACKED} pairs. Proves: every failure is answered {@code 535 5.7.8} only after the failure
 * delay; the limiter's memory stays within its bound; a user locked out before the flood is still locked out after it
 * (a flood of new names cannot buy a guesser a fresh start); a legitimate user from another address logs in during the
 * flood (its time is printed, not asserted: a bcrypt check on a loaded machine takes seconds).
 */
class AuthFloodTest {
    static final int TRACKED = 10;
    static final int ATTACKERS = 30;
    static final Duration DELAY = Duration.ofMillis(250);

    @TempDir Path data;

    @Test void aFloodOfAddressesIsSlowedAndBoundedAndALegitimateUserStillLogsIn() throws Exception {
        PasswordFile.empty().with("alice", "correct horse".toCharArray()).save(data.resolve("users"));
        AuthLimiter limiter = new AuthLimiter(new AuthLimiter.Limits(3, Duration.ofMinutes(15), Duration.ofMinutes(10),
                Duration.ofHours(1), 1000, Duration.ofHours(1), 24, 64), TRACKED, Clock.systemUTC());
        SSLContext context = TlsContexts.server(Certificates.selfSigned(List.of("gw.test"),
                Certificates.KeyType.EC_P256, Duration.ofDays(1)));
        var config = TestConfigs.gateway(data, "gw.test", Set.of("postern.test"));
        try (Spool spool = Spool.open(data.resolve("queue"));
             InboundServer server = new InboundServer(config, () -> context, spool,
                     new Authentication(new PasswordFile.Watcher(data.resolve("users")), limiter, DELAY), e -> { })) {
            server.start();
            InetSocketAddress submission = server.boundAddresses().get(1);

            // Before the flood: alice mistyped from 127.0.8.1 until locked out (454 4.7.0, RFC 4954's temporary
            // authentication failure), each failure answered after the delay.
            try (SmtpTestClient c = tls(submission, "127.0.8.1")) {
                for (int i = 0; i < 3; i++) {
                    long t0 = System.nanoTime();
                    assertThat(c.command("AUTH PLAIN " + plain("alice", "typo" + i)).last()).startsWith("535 5.7.8");
                    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(DELAY);
                }
                assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).startsWith("454 4.7.0");
            }

            // The flood: each address guesses once, a new name each time; at most 8 sessions at once.
            ConcurrentLinkedQueue<String> replies = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Long> waits = new ConcurrentLinkedQueue<>();
            Semaphore open = new Semaphore(8);
            long flood0 = System.nanoTime();
            List<Future<?>> done = new ArrayList<>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < ATTACKERS; i++) {
                    String from = "127." + (10 + i / 250) + "." + (i % 250) + ".7";
                    int n = i;
                    done.add(pool.submit(() -> {
                        open.acquireUninterruptibly();
                        try (SmtpTestClient c = tls(submission, from)) {
                            long t0 = System.nanoTime();
                            replies.add(c.command("AUTH PLAIN " + plain("user" + n, "123456")).last());
                            waits.add((System.nanoTime() - t0) / 1_000_000);
                        } finally {
                            open.release();
                        }
                        return null;
                    }));
                }
                // alice, from her own address, while the flood runs
                Thread.sleep(300);
                long t0 = System.nanoTime();
                try (SmtpTestClient c = tls(submission, "127.0.9.1")) {
                    long auth0 = System.nanoTime();
                    assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last())
                            .startsWith("235 2.7.0");
                    long authMillis = (System.nanoTime() - auth0) / 1_000_000;
                    System.out.printf("auth-flood: alice logged in during the flood in %d ms (AUTH alone %d ms)%n",
                            (System.nanoTime() - t0) / 1_000_000, authMillis);
                }
                for (Future<?> f : done) f.get();
            }
            long floodMillis = (System.nanoTime() - flood0) / 1_000_000;
            assertThat(replies).hasSize(ATTACKERS).allSatisfy(r -> assertThat(r).startsWith("535 5.7.8"));
            assertThat(waits).allSatisfy(w -> assertThat(w).isGreaterThanOrEqualTo(DELAY.toMillis()));
            assertThat(limiter.tracked()).isLessThanOrEqualTo(TRACKED);
            assertThat(limiter.trackedNetworks()).isLessThanOrEqualTo(TRACKED);
            System.out.printf("auth-flood: %d addresses, %d guesses in %d ms, each answered after >= %d ms;"
                            + " limiter tracks %d pairs and %d networks (bound %d)%n", ATTACKERS, replies.size(),
                    floodMillis, DELAY.toMillis(), limiter.tracked(), limiter.trackedNetworks(), TRACKED);

            try (SmtpTestClient c = tls(submission, "127.0.8.1")) {
                assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).as("still locked out")
                        .startsWith("454 4.7.0");
            }
        }
    }
}
