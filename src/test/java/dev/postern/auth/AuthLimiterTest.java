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
    /** 5 failures per (client, user) in 15 minutes: 1 minute out, doubling up to 1 hour; 50 per /24 or /48. */
    private final AuthLimiter limiter = new AuthLimiter(clock);

    private static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private void fail(String address, String user, int times) {
        for (int i = 0; i < times; i++) limiter.failure(ip(address), user);
    }

    @Test void oneUsersTyposDoNotLockOutTheOthersBehindTheSameAddress() {
        fail("192.0.2.1", "alice", 4);
        assertThat(limiter.allowed(ip("192.0.2.1"), "alice")).isTrue();
        fail("192.0.2.1", "alice", 1);
        assertThat(limiter.allowed(ip("192.0.2.1"), "alice")).isFalse();
        assertThat(limiter.allowed(ip("192.0.2.1"), "bob")).as("another user behind the same NAT").isTrue();
        assertThat(limiter.allowed(ip("192.0.2.1"))).as("the network is not locked").isTrue();
        assertThat(limiter.allowed(ip("192.0.2.2"), "alice")).as("alice elsewhere").isTrue();
        assertThat(AuthLimiter.LOCKED_OUT.toWire())
                .isEqualTo("454 4.7.0 Too many failed authentication attempts; try again later\r\n");
    }

    @Test void theLockoutGrowsWithEveryFurtherFailureUpToTheCap() {
        fail("192.0.2.1", "alice", 5);
        Duration expected = Duration.ofMinutes(1);
        for (int round = 0; round < 10; round++) {
            clock.advance(expected.minusSeconds(1));
            assertThat(limiter.allowed(ip("192.0.2.1"), "alice")).as("round " + round).isFalse();
            clock.advance(Duration.ofSeconds(1));
            assertThat(limiter.allowed(ip("192.0.2.1"), "alice")).as("round " + round).isTrue();
            fail("192.0.2.1", "alice", 1); // one more wrong guess right after the lockout: twice as long
            expected = expected.multipliedBy(2);
            if (expected.compareTo(Duration.ofHours(1)) > 0) expected = Duration.ofHours(1);
        }
        assertThat(expected).isEqualTo(Duration.ofHours(1));
    }

    @Test void failuresOutsideTheWindowAreForgottenAndSuccessForgetsThem() {
        for (int i = 0; i < 20; i++) {
            fail("192.0.2.1", "alice", 1);
            clock.advance(Duration.ofMinutes(16)); // never two within 15 minutes
        }
        assertThat(limiter.allowed(ip("192.0.2.1"), "alice")).isTrue();
        fail("192.0.2.1", "alice", 4);
        limiter.success(ip("192.0.2.1"), "alice");
        fail("192.0.2.1", "alice", 4);
        assertThat(limiter.allowed(ip("192.0.2.1"), "alice")).isTrue();
    }

    @Test void manyUsersFromOneNetworkLockTheWholeNetwork() {
        for (int i = 0; i < 49; i++) limiter.failure(ip("192.0.2." + (i % 200 + 1)), "user" + i);
        assertThat(limiter.allowed(ip("192.0.2.250"), "carol")).isTrue();
        limiter.failure(ip("192.0.2.7"), "user49");
        assertThat(limiter.allowed(ip("192.0.2.250"))).as("the /24 is locked").isFalse();
        assertThat(limiter.allowed(ip("192.0.2.250"), "carol")).isFalse();
        assertThat(limiter.allowed(ip("192.0.3.1"), "carol")).as("the next /24").isTrue();
        clock.advance(Duration.ofMinutes(15));
        assertThat(limiter.allowed(ip("192.0.2.250"), "carol")).isTrue();
    }

    @Test void ipv6ClientsCountPerSlash64() {
        fail("2001:db8:1:2::1", "alice", 3);
        fail("2001:db8:1:2:ffff::7", "alice", 2);
        assertThat(limiter.allowed(ip("2001:db8:1:2::99"), "alice")).isFalse();
        assertThat(limiter.allowed(ip("2001:db8:1:3::1"), "alice")).isTrue();
    }

    /** One attacker, one /48: a new /64 for every guess at one password must still meet the network's cap. */
    @Test void rotatingThroughSlash64sOfOneSiteMeetsTheNetworkCap() {
        for (int i = 0; i < 49; i++) limiter.failure(ip("2001:db8:7:" + Integer.toHexString(i) + "::1"), "alice");
        assertThat(limiter.allowed(ip("2001:db8:7:ffff::1"), "alice")).isTrue();
        limiter.failure(ip("2001:db8:7:abcd::1"), "alice");
        assertThat(limiter.allowed(ip("2001:db8:7:ffff::1"), "alice")).as("a fresh /64 of the same /48").isFalse();
        assertThat(limiter.allowed(ip("2001:db8:8::1"), "alice")).as("another site").isTrue();
    }

    @Test void limitsAreConfigurable() {
        AuthLimiter strict = new AuthLimiter(new AuthLimiter.Limits(2, Duration.ofMinutes(10), Duration.ofMinutes(5),
                Duration.ofMinutes(5), 3, Duration.ofHours(1), 16, 48), clock);
        strict.failure(ip("10.1.2.3"), "alice");
        strict.failure(ip("10.1.2.3"), "alice");
        assertThat(strict.allowed(ip("10.1.2.3"), "alice")).isFalse();
        strict.failure(ip("10.1.200.1"), "bob");
        assertThat(strict.allowed(ip("10.1.99.99"))).as("3 failures in the /16").isFalse();
        assertThat(strict.allowed(ip("10.2.0.1"))).isTrue();
    }

    @Test void theDefaultsAreThoseOfTheConfig() {
        dev.postern.config.Config.AuthLimits c = dev.postern.config.Config.AuthLimits.DEFAULT;
        assertThat(AuthLimiter.Limits.DEFAULT).isEqualTo(new AuthLimiter.Limits(c.maxFailures(), c.window(),
                c.lockout(), c.maxLockout(), c.networkMaxFailures(), c.networkLockout(), c.ipv4Prefix(),
                c.ipv6Prefix()));
    }

    @Test void memoryIsBounded() {
        AuthLimiter small = new AuthLimiter(new AuthLimiter.Limits(2, Duration.ofMinutes(10), Duration.ofMinutes(15),
                Duration.ofMinutes(15), 1000, Duration.ofMinutes(15), 24, 64), 3, clock);
        small.failure(ip("192.0.2.1"), "alice");
        small.failure(ip("192.0.2.1"), "alice");
        assertThat(small.allowed(ip("192.0.2.1"), "alice")).isFalse();
        for (int i = 10; i < 100; i++) small.failure(ip("198.51." + i + ".1"), "x" + i);
        assertThat(small.tracked()).isEqualTo(3);
        assertThat(small.trackedNetworks()).isEqualTo(3);
        assertThat(small.allowed(ip("192.0.2.1"), "alice")).as("a flood does not free a locked-out user").isFalse();
        for (int i = 0; i < 100; i++) small.failure(ip("203.0.113.1"), "y".repeat(10_000) + i);
        assertThat(small.tracked()).isEqualTo(3);
    }
}
