package dev.postern.queue;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A commit that fails at the last step (the fsync of active/, after the envelope's rename) withdraws the message in a
 * removal's order: envelope unlinked, active/ fsynced, then the content unlinked. Before, both were unlinked with no
 * fsync between, so a power cut could keep the content's unlink and lose the envelope's: an envelope without content,
 * which recovery moves to corrupt/ and logs as an error, for a message the client was told was not taken.
 */
class SpoolWithdrawOrderTest {
    @TempDir Path dir;

    @Test void aCommitFailingAtTheDirectoryFsyncUnlinksTheEnvelopeDurablyBeforeTheContent() throws IOException {
        List<String> steps = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean failed = new AtomicBoolean();
        Path active = dir.resolve("active").toAbsolutePath();
        DurableFiles files = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void directorySynced(Path d) {
                steps.add("sync " + d.getFileName());
                // as an fsync returning EIO would: the committer fails the batch after the envelope's rename
                if (d.equals(active) && failed.compareAndSet(false, true)) {
                    throw new UncheckedIOException(new IOException("Input/output error"));
                }
            }

            @Override public void deleted(Path f) { steps.add("unlink " + f.getParent().getFileName() + "/" + f.getFileName()); }

            @Override public void renamed(Path from, Path to) { steps.add("rename " + to.getParent().getFileName()); }
        });
        try (Spool spool = Spool.open(dir, files)) {
            String id;
            try (Spool.Incoming in = spool.receive()) {
                id = in.id();
                in.body().write("Subject: x\r\n\r\nbody\r\n".getBytes(UTF_8));
                Envelope env = new Envelope(id, "a@example.org", List.of(Envelope.Recipient.pending("b@example.com")),
                        Instant.now(), "c", "7BIT", false, 20, Instant.now(), false, 1);
                steps.clear();
                assertThatThrownBy(() -> in.commit(env)).isInstanceOf(IOException.class);
            }
            assertThat(steps).containsSubsequence("rename active", "sync active", "unlink active/" + id + ".env",
                    "sync active", "unlink messages/" + id + ".eml");
            assertThat(Files.exists(spool.envelopePath(id, QueueState.ACTIVE))).isFalse();
            assertThat(Files.exists(spool.contentPath(id))).isFalse();
            assertThat(spool.list()).isEmpty();
        }
    }
}
