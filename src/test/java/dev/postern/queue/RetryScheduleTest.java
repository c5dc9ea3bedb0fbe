package dev.postern.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryScheduleTest {
    private static final Instant NOW = Instant.parse("2025-03-01T10:00:00Z");
    private final RetrySchedule schedule =
            new RetrySchedule(Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofDays(5));

    @Test void doublesFromFirstUpToMax() {
        assertThat(schedule.next(1, NOW)).isEqualTo(NOW.plus(Duration.ofMinutes(5)));
        assertThat(schedule.next(2, NOW)).isEqualTo(NOW.plus(Duration.ofMinutes(10)));
        assertThat(schedule.next(3, NOW)).isEqualTo(NOW.plus(Duration.ofMinutes(20)));
        assertThat(schedule.next(4, NOW)).isEqualTo(NOW.plus(Duration.ofMinutes(40)));
        assertThat(schedule.next(5, NOW)).isEqualTo(NOW.plus(Duration.ofHours(1)));
        assertThat(schedule.next(6, NOW)).isEqualTo(NOW.plus(Duration.ofHours(1)));
    }

    @Test void noAttemptsYetMeansFirst() {
        assertThat(schedule.next(0, NOW)).isEqualTo(NOW.plus(Duration.ofMinutes(5)));
        assertThat(schedule.next(-3, NOW)).isEqualTo(NOW.plus(Duration.ofMinutes(5)));
    }

    @Test void saturatesInsteadOfOverflowing() {
        assertThat(schedule.next(Integer.MAX_VALUE, NOW)).isEqualTo(NOW.plus(Duration.ofHours(1)));
        var huge = new RetrySchedule(Duration.ofDays(365L * 1_000_000), Duration.ofSeconds(Long.MAX_VALUE),
                Duration.ofSeconds(Long.MAX_VALUE));
        assertThat(huge.next(Integer.MAX_VALUE, NOW)).isEqualTo(Instant.MAX);
        assertThat(huge.expired(NOW, Instant.MAX)).isFalse();
        var zero = new RetrySchedule(Duration.ZERO, Duration.ofHours(1), Duration.ofDays(1));
        assertThat(zero.next(Integer.MAX_VALUE, NOW)).isEqualTo(NOW);
    }

    @Test void neverBeyondMax() {
        var odd = new RetrySchedule(Duration.ofHours(2), Duration.ofHours(1), Duration.ofDays(1));
        assertThat(odd.next(1, NOW)).isEqualTo(NOW.plus(Duration.ofHours(1)));
    }

    @Test void expiresAfterTheLifetime() {
        Instant received = NOW.minus(Duration.ofDays(5));
        assertThat(schedule.expired(received, NOW)).isFalse();
        assertThat(schedule.expired(received, NOW.plusMillis(1))).isTrue();
        assertThat(schedule.expired(NOW, NOW)).isFalse();
        assertThat(schedule.expired(NOW.minus(Duration.ofDays(30)), NOW)).isTrue();
    }
}
