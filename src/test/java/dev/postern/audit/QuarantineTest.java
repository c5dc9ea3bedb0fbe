package dev.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.AuditSamples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A record the store refuses for good must not stop the records behind it: before, the writer took the refusal for
 * a store that is down and retried the same batch for ever, so one bad record (from a bug in a producer, or a value a
 * database cannot hold) silently ended the audit. Against the real databases: the record is set aside in
 * rejected.jsonl and counted, every other record is written, the store stays "up".
 */
class QuarantineTest {
    @TempDir Path dir;

    @ParameterizedTest @EnumSource(Backend.class)
    void aRefusedRecordIsSetAsideAndTheOthersAreWritten(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        // A null queue id breaks the NOT NULL key of the message table: the database refuses it, however often asked.
        MessageRecord bad = AuditSamples.message(null, now, "a@x.example", List.of("b@y.example"), "s0");
        Path spill = dir.resolve("audit/spill");
        try (AuditWriter w = AuditWriter.start(JdbcAuditStore.open(url, null, null, "gw"), spill,
                AuditWriter.Options.of(10_000, 1L << 30, Duration.ofDays(400)))) {
            for (int i = 0; i < 10; i++) {
                w.record(AuditSamples.message("Q" + i, now, "a@x.example", List.of("b@y.example"), "s" + i));
                if (i == 4) w.record(bad);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> w.stats().rejected() == 1
                    && Backend.count(url, "SELECT COUNT(*) FROM message") == 10);
            AuditWriter.Stats s = w.stats();
            assertThat(s.storeUp()).as("a refusal is not an outage").isTrue();
            assertThat(s.dropped()).isZero();
            assertThat(s.spillBytes()).isZero();
        }
        Path rejected = dir.resolve("audit").resolve(Quarantine.FILE);
        assertThat(Files.readAllLines(rejected)).hasSize(1).first().asString().contains("\"message\"", "a@x.example");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(rejected))).isEqualTo("rw-------");
    }
}
