package dev.postern.recipients;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class VerificationCacheTest {
    static final class FakeClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        @Override public ZoneId getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    }

    final FakeClock clock = new FakeClock();
    final List<String> asked = new ArrayList<>();
    final Verifier nextHop = (address, domain) -> {
        synchronized (asked) {
            asked.add(address);
        }
        return address.startsWith("ok") ? Verdict.ACCEPTED : address.startsWith("no")
                ? new Verdict.Refused("550 5.1.1 no") : new Verdict.Unverified("451 later");
    };

    @Test void positiveAndNegativeAnswersExpireTemporaryOnesAreNotKept() {
        VerificationCache cache = new VerificationCache(nextHop, Duration.ofDays(7), Duration.ofHours(3), 100, clock);
        assertThat(cache.verify("ok@b.example", "b.example")).isEqualTo(Verdict.ACCEPTED);
        assertThat(cache.verify("OK@b.example", "b.example")).isEqualTo(Verdict.ACCEPTED);
        assertThat(cache.verify("no@b.example", "b.example")).isInstanceOf(Verdict.Refused.class);
        assertThat(cache.verify("later@b.example", "b.example")).isInstanceOf(Verdict.Unverified.class);
        assertThat(cache.verify("later@b.example", "b.example")).isInstanceOf(Verdict.Unverified.class);
        assertThat(asked).containsExactly("ok@b.example", "no@b.example", "later@b.example", "later@b.example");

        clock.now = clock.now.plus(Duration.ofHours(3));
        cache.verify("no@b.example", "b.example");
        cache.verify("ok@b.example", "b.example");
        assertThat(asked).hasSize(5).endsWith("no@b.example"); // refused asked again, accepted still known
        clock.now = clock.now.plus(Duration.ofDays(7));
        cache.verify("ok@b.example", "b.example");
        assertThat(asked).endsWith("ok@b.example");
    }

    @Test void sizeIsBounded() {
        VerificationCache cache = new VerificationCache(nextHop, Duration.ofDays(7), Duration.ofHours(3), 10, clock);
        for (int i = 0; i < 1000; i++) cache.verify("ok" + i + "@b.example", "b.example");
        assertThat(cache.size()).isEqualTo(10);
    }

    @Test void concurrentQuestionsShareOneProbe() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger probes = new AtomicInteger();
        VerificationCache cache = new VerificationCache((a, d) -> {
            probes.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Verdict.Unverified("slow");
        }, Duration.ofDays(7), Duration.ofHours(3), 10, clock);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 20; i++) threads.add(Thread.ofVirtual().start(() -> cache.verify("x@b.example", "b.example")));
        Thread.sleep(200);
        release.countDown();
        for (Thread t : threads) t.join();
        assertThat(probes.get()).isEqualTo(1);
    }

    /** A partner with case-sensitive local parts that knows only "john", and does not take quoted forms. */
    @Test void aRefusedVariantDoesNotPoisonTheRealAddress() {
        List<String> probes = new ArrayList<>();
        VerificationCache cache = new VerificationCache((address, domain) -> {
            probes.add(address);
            return address.equals("john@b.example") ? Verdict.ACCEPTED : new Verdict.Refused("550 5.1.1 no");
        }, Duration.ofDays(7), Duration.ofHours(3), 100, clock);
        assertThat(cache.verify("JOHN@b.example", "b.example")).isInstanceOf(Verdict.Refused.class);
        assertThat(cache.verify("\"john\"@b.example", "b.example")).isInstanceOf(Verdict.Refused.class);
        assertThat(cache.verify("john@b.example", "b.example")).isEqualTo(Verdict.ACCEPTED);
        // The refusals stay cached for exactly the forms refused; the acceptance covers every variant from now on.
        assertThat(cache.verify("JOHN@b.example", "b.example")).isEqualTo(Verdict.ACCEPTED);
        assertThat(cache.verify("nobody@b.example", "b.example")).isInstanceOf(Verdict.Refused.class);
        assertThat(cache.verify("nobody@b.example", "b.example")).isInstanceOf(Verdict.Refused.class);
        assertThat(probes).containsExactly("JOHN@b.example", "\"john\"@b.example", "john@b.example",
                "nobody@b.example");
    }

    /** Distinct recipients (which no cache absorbs) from many sessions at once: at most 3 probes reach the partner. */
    @Test void probesToOneDomainAreBounded() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger(), most = new AtomicInteger(), probes = new AtomicInteger();
        VerificationCache cache = new VerificationCache((a, d) -> {
            probes.incrementAndGet();
            most.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                running.decrementAndGet();
            }
            return Verdict.ACCEPTED;
        }, Duration.ofDays(7), Duration.ofHours(3), 1000, 3, clock);
        List<Thread> threads = new ArrayList<>();
        List<Verdict> busy = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 50; i++) {
            String address = "user" + i + "@b.example";
            threads.add(Thread.ofVirtual().start(() -> {
                Verdict v = cache.verify(address, "b.example");
                if (v instanceof Verdict.Unverified) busy.add(v);
            }));
        }
        for (int i = 0; i < 100 && busy.size() < 47; i++) Thread.sleep(20);
        assertThat(busy).as("answered at once, not queued behind the probes").hasSize(47);
        // Another domain has its own slots.
        Thread other = Thread.ofVirtual().start(() -> cache.verify("x@c.example", "c.example"));
        for (int i = 0; i < 100 && probes.get() < 4; i++) Thread.sleep(20);
        release.countDown();
        for (Thread t : threads) t.join();
        other.join();
        assertThat(most.get()).isEqualTo(4);
        assertThat(probes.get()).isEqualTo(4);
        assertThat(((Verdict.Unverified) busy.getFirst()).why()).contains("3 verifications of b.example");
        // Slots are given back: the next question is probed.
        assertThat(cache.verify("late@b.example", "b.example")).isEqualTo(Verdict.ACCEPTED);
        assertThat(probes.get()).isEqualTo(5);
    }
}
