package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.audit.AuditRecord;
import dev.postern.audit.AuditStore;
import dev.postern.audit.AuditWriter;
import dev.postern.audit.AdminRecord;
import dev.postern.files.DurableFiles;
import dev.postern.queue.Spool;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern audit status} asks the gateway's control socket ("audit") and prints the writer's stats. */
class AuditStatusTest {
    @TempDir Path data;

    /** A store that is down: the writer spills, and the status says so. */
    private static final class DownStore implements AuditStore {
        @Override public void write(List<AuditRecord> batch) throws AuditStoreException {
            throw new AuditStoreException("connection to db.example:5432 refused", null);
        }
        @Override public int prune(Instant cutoff, int limit) { return 0; }
        @Override public void close() { }
    }

    @Test void statusShowsTheRunningWritersStats() throws Exception {
        try (FileChannel lockFile = DurableFiles.SYSTEM.openLockFile(data.resolve("postern.lock"));
             var lock = lockFile.lock(); // as the gateway holds it
             Spool spool = Spool.open(data.resolve("queue"));
             AuditWriter writer = AuditWriter.start(new DownStore(), data.resolve("audit/spill"),
                     AuditWriter.Options.of(10_000, 1L << 30, Duration.ofDays(400)));
             ControlServer control = new ControlServer(data.resolve("control.sock"), spool, null, writer::stats)) {
            control.start();
            for (int i = 0; i < 3; i++) {
                writer.record(new AdminRecord(Instant.now(), "root", AdminRecord.Action.QUEUE_HOLD, "Q" + i, "test"));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> writer.stats().spilled() == 3);

            Cli.Result r = Cli.run("audit", "status", "--data", data.toString());
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.outLines()).anySatisfy(l -> assertThat(l).matches("store: +DOWN since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ"))
                    .contains("last error: connection to db.example:5432 refused")
                    .contains("spilled:    3 records to the spill file (now " + writer.stats().spillBytes()
                            + " bytes)")
                    .contains("written:    0 records from memory", "dropped:    0 records");

            // the wire form is one line of JSON that parses back to the same stats
            String json = ControlClient.ask(data.resolve("control.sock"), "audit");
            assertThat(AuditWriter.Stats.fromJson(json).spilled()).isEqualTo(3);
        }
    }

    @Test void aGatewayWithoutAWriterSaysSo() throws Exception {
        try (FileChannel lockFile = DurableFiles.SYSTEM.openLockFile(data.resolve("postern.lock"));
             var lock = lockFile.lock();
             Spool spool = Spool.open(data.resolve("queue"));
             ControlServer control = new ControlServer(data.resolve("control.sock"), spool, null)) {
            control.start();
            Cli.Result r = Cli.run("audit", "status", "--data", data.toString());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err().strip()).isEqualTo("postern: this gateway has no audit writer");
        }
    }

    @Test void withoutARunningGatewayItSaysSo() {
        Cli.Result r = Cli.run("audit", "status", "--data", data.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("postern: no gateway runs with data directory " + data
                + " (audit status asks the running gateway)");
    }
}
