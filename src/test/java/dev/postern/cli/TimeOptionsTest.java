package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Every command reads durations and points in time the same way, with the same words when it cannot. */
class TimeOptionsTest {
    private static final Instant NOW = Instant.parse("2026-12-09T12:00:00Z");

    @Test void sinceIsADurationBackATimeOrADate() throws Exception {
        assertThat(TimeOptions.since("--since", "7d", NOW)).isEqualTo(Instant.parse("2026-12-02T12:00:00Z"));
        assertThat(TimeOptions.since("--since", "2w", NOW)).isEqualTo(Instant.parse("2026-11-25T12:00:00Z"));
        assertThat(TimeOptions.since("--since", "90m", NOW)).isEqualTo(Instant.parse("2026-12-09T10:30:00Z"));
        assertThat(TimeOptions.since("--since", "2026-12-01", NOW)).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(TimeOptions.since("--since", "2026-12-01T08:00+01:00", NOW))
                .isEqualTo(Instant.parse("2026-12-01T07:00:00Z"));
    }

    @Test void untilIsADurationAheadATimeOrADate() throws Exception {
        assertThat(TimeOptions.until("--until", "2h", NOW)).isEqualTo(Instant.parse("2026-12-09T14:00:00Z"));
        assertThat(TimeOptions.until("--until", "2026-12-24", NOW)).isEqualTo(Instant.parse("2026-12-24T00:00:00Z"));
    }

    @Test void aDurationIsTheConfigFilesSyntax() throws Exception {
        assertThat(TimeOptions.duration("--expiring", "30d")).isEqualTo(Duration.ofDays(30));
        assertThat(TimeOptions.duration("--expiring", "1h30m")).isEqualTo(Duration.ofMinutes(90));
    }

    @Test void badValuesAreOneLineNamingTheOption() {
        assertThatThrownBy(() -> TimeOptions.since("--since", "7x", NOW)).isInstanceOf(CliException.class)
                .hasMessage("postern: --since: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, or a time like "
                        + "2026-12-01T00:00Z or a date like 2026-12-01, got \"7x\"");
        assertThatThrownBy(() -> TimeOptions.duration("--expiring", "2026-12-01")).isInstanceOf(CliException.class)
                .hasMessage("postern: --expiring: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, "
                        + "got \"2026-12-01\"");
        String far = "999999999w".repeat(60); // past Instant.MIN, not a stack trace
        assertThatThrownBy(() -> TimeOptions.since("--since", far, NOW)).isInstanceOf(CliException.class)
                .hasMessage("postern: --since: " + far + " is too far from now");
    }
}
