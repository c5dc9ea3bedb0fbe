package dev.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spill file's directory entry must be made durable even when the append that created the file failed (a full
 * disk, issue 17): the audit writer now keeps such records in memory and retries the append, and a retry that
 * succeeds reports them spilled, so the file's name has to survive a power cut from then on.
 */
class SpillDurabilityTest {
    @TempDir Path dir;

    @Test void aFirstAppendThatFailsStillLeavesTheDirectoryToBeSyncedByTheNextOne() throws Exception {
        AtomicBoolean failSync = new AtomicBoolean(true);
        AtomicInteger dirSyncs = new AtomicInteger();
        DurableFiles files = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void fileSynced(Path file) {
                // as a write or an fsync that meets ENOSPC: after the file was created, before the directory sync
                if (file.getFileName().toString().equals(Spill.FILE) && failSync.get()) {
                    throw new UncheckedIOException(new IOException("No space left on device"));
                }
            }

            @Override public void directorySynced(Path d) {
                if (d.equals(dir)) dirSyncs.incrementAndGet();
            }
        });
        Spill spill = Spill.open(dir, 1L << 20, files);
        int before = dirSyncs.get();
        assertThatThrownBy(() -> spill.append(List.of(record(1)))).hasMessageContaining("No space left");
        failSync.set(false);
        assertThat(spill.append(List.of(record(2))).kept()).isEqualTo(1);
        assertThat(dirSyncs.get() - before).as("fsyncs of the spill's directory after the file was created")
                .isEqualTo(1);
        spill.append(List.of(record(3)));
        assertThat(dirSyncs.get() - before).as("once is enough").isEqualTo(1);
    }

    private static AuditRecord record(int n) {
        return MemoryStore.record(n);
    }
}
