package dev.postern.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class AuthLimiterTest {

    /** A clock the test moves by hand. */
    static final class FakeClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) { now = now.plus(d); }

        @Override public ZoneId getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    }

    private final FakeClock clock = new FakeClock();
    private final AuthLimiter limiter = new AuthLimiter(clock); // 5 in 10 minutes, 15 minutes out

    private static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private void fail(String address, int times) {
        for (int i = 0; i < times; i++) limiter.failure(ip(address));
    }

    @Test void lockoutAfterFiveFailuresAndRecovery() {
        fail("192.0.2.1", 4);
        assertThat(limiter.allowed(ip("192.0.2.1"))).isTrue();
        fail("192.0.2.1", 1);
        assertThat(limiter.allowed(ip("192.0.2.1"))).isFalse();
        assertThat(limiter.allowed(ip("192.0.2.2"))).as("other clients are not affected").isTrue();

        clock.advance(Duration.ofMinutes(15).minusSeconds(1));
        assertThat(limiter.allowed(ip("192.0.2.1"))).isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(limiter.allowed(ip("192.0.2.1"))).isTrue();

        fail("192.0.2.1", 1); // a fresh start after the lockout, not an immediate second lockout
        assertThat(limiter.allowed(ip("192.0.2.1"))).isTrue();
        assertThat(AuthLimiter.LOCKED_OUT.toWire())
                .isEqualTo("454 4.7.0 Too many failed authentication attempts; try again later\r\n");
    }

    @Test void failuresOutsideTheWindowDoNotCount() {
        for (int i = 0; i < 20; i++) {
            limiter.failure(ip("192.0.2.1"));
            clock.advance(Duration.ofMinutes(3)); // at most 4 within any 10 minutes
        }
        assertThat(limiter.allowed(ip("192.0.2.1"))).isTrue();
        clock.advance(Duration.ofMinutes(-3));
        fail("192.0.2.1", 1);
        assertThat(limiter.allowed(ip("192.0.2.1"))).isFalse();
    }

    @Test void successForgetsFailures() {
        fail("192.0.2.1", 4);
        limiter.success(ip("192.0.2.1"));
        fail("192.0.2.1", 4);
        assertThat(limiter.allowed(ip("192.0.2.1"))).isTrue();
        assertThat(limiter.tracked()).isEqualTo(1);
    }

    @Test void ipv6CountsPerSlash64() {
        fail("2001:db8:1:2::1", 3);
        fail("2001:db8:1:2:ffff::7", 2);
        assertThat(limiter.allowed(ip("2001:db8:1:2::99"))).isFalse();
        assertThat(limiter.allowed(ip("2001:db8:1:3::1"))).isTrue();
    }

    @Test void memoryIsBounded() {
        AuthLimiter small = new AuthLimiter(2, Duration.ofMinutes(10), Duration.ofMinutes(15), 3, clock);
        small.failure(ip("192.0.2.1"));
        small.failure(ip("192.0.2.1"));
        assertThat(small.allowed(ip("192.0.2.1"))).isFalse();
        for (int i = 10; i < 100; i++) small.failure(ip("198.51.100." + i));
        assertThat(small.tracked()).isEqualTo(3);
        assertThat(small.allowed(ip("192.0.2.1"))).as("a flood of new addresses does not free a locked one").isFalse();

        // Expired entries go before live ones.
        clock.advance(Duration.ofMinutes(16));
        small.failure(ip("203.0.113.1"));
        small.failure(ip("203.0.113.1"));
        small.failure(ip("203.0.113.2"));
        assertThat(small.tracked()).isEqualTo(2);
        assertThat(small.allowed(ip("203.0.113.1"))).isFalse();
    }
}
