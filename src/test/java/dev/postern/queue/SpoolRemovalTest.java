package dev.postern.queue;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: how many fsyncs a message costs from receipt to removal after delivery, and the removal path's crash
 * safety: a message whose envelope is still on disk after a crash always has its content.
 */
class SpoolRemovalTest {
    private static final Instant T0 = Instant.parse("2025-03-01T10:15:30.123Z");

    @TempDir Path dir;

    private static Envelope envelope(String id) {
        return new Envelope(id, "alice@example.org", List.of(Envelope.Recipient.pending("bob@example.com")), T0,
                "mx.example.org", "8BITMIME", false, 0, T0, false, 1);
    }

    private static String commit(Spool spool, byte[] content) throws IOException {
        try (Spool.Incoming in = spool.receive()) {
            in.body().write(content);
            in.commit(envelope(in.id()));
            return in.id();
        }
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Holds the committer's first batch until {@code n} jobs wait behind it, so that the batching is known. */
    private static void gatherFirstBatch(Spool spool, int n) {
        var once = new AtomicBoolean();
        spool.committer().beforeBatch = () -> {
            if (once.compareAndSet(false, true)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> spool.committer().queued() >= n - 1);
            }
        };
    }

    /**
     * N messages received by concurrent sessions, then removed as the scheduler removes delivered ones: two file
     * syncs each (content, envelope) and a few directory fsyncs per batch. Before issue 14 it was at least four per
     * message (plus incoming/ per batch, and active/ and messages/ per removal).
     */
    @Test void receivingAndRemovingConcurrentMessagesCostsAboutTwoFsyncsEach() throws Exception {
        int n = 40;
        AtomicInteger fileSyncs = new AtomicInteger();
        AtomicInteger dirSyncs = new AtomicInteger();
        DurableFiles counted = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void fileSynced(Path f) { fileSyncs.incrementAndGet(); }

            @Override public void directorySynced(Path d) { dirSyncs.incrementAndGet(); }
        });
        Path queue = dir.resolve("queue");
        try (Spool spool = Spool.open(queue, counted)) {
            spool.recover();
            fileSyncs.set(0);
            dirSyncs.set(0);

            gatherFirstBatch(spool, n);
            List<Future<String>> sessions = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < n; i++) {
                    byte[] content = ("message " + i + "\r\n").repeat(100).getBytes(UTF_8);
                    sessions.add(pool.submit(() -> commit(spool, content)));
                }
            }
            List<String> ids = new ArrayList<>();
            for (Future<String> f : sessions) ids.add(f.get());
            assertThat(spool.list()).hasSize(n);

            gatherFirstBatch(spool, n);
            List<CompletableFuture<Void>> removals = new ArrayList<>();
            for (String id : ids) removals.add(spool.remove(id)); // as delivery threads do: not waited for
            CompletableFuture.allOf(removals.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

            assertThat(spool.list()).isEmpty();
            assertThat(names(queue.resolve("messages"))).isEmpty();
            assertThat(names(queue.resolve("active"))).isEmpty();
            int total = fileSyncs.get() + dirSyncs.get();
            assertThat(fileSyncs.get()).isEqualTo(2 * n);
            // one batch of commits (messages/, active/), one of removals (active/)
            assertThat(dirSyncs.get()).isEqualTo(3);
            assertThat((double) total / n).as("fsyncs per message").isLessThanOrEqualTo(2.1);
        }
    }

    /** The order that keeps an envelope from coming back without content: every envelope's unlink durable first. */
    @Test void aRemovalUnlinksTheEnvelopeDurablyBeforeTheContentAndNeverSyncsMessages() throws IOException {
        List<String> events = new CopyOnWriteArrayList<>();
        Path queue = dir.resolve("queue");
        DurableFiles observed = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void deleted(Path f) { events.add("deleted " + queue.relativize(f)); }

            @Override public void directorySynced(Path d) { events.add("synced-dir " + queue.relativize(d)); }
        });
        try (Spool spool = Spool.open(queue, observed)) {
            String id = commit(spool, "x".getBytes(UTF_8));
            events.clear();
            spool.update(spool.find(id).orElseThrow().envelope(), QueueState.DEFERRED);
            spool.delete(id);

            assertThat(events).containsExactly(
                    // a deferral: the old version's unlink is durable too, or it could come back after the content
                    // is gone, since the removal only fsyncs the directory of the envelope it finds
                    "synced-dir deferred", "deleted active/" + id + ".env", "synced-dir active",
                    // the removal
                    "deleted deferred/" + id + ".env", "synced-dir deferred", "deleted messages/" + id + ".eml");
        }
    }

    /** A crash with the removal still queued: the message comes back whole and is delivered again. */
    @Test void aCrashBeforeTheRemovalIsDoneKeepsTheWholeMessage() throws Exception {
        Path queue = dir.resolve("queue");
        byte[] content = "Subject: kept\r\n\r\nbody\r\n".getBytes(UTF_8);
        var release = new CountDownLatch(1);
        try (Spool spool = Spool.open(queue)) {
            String id = commit(spool, content);
            spool.committer().beforeBatch = () -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            CompletableFuture<Void> removal = spool.remove(id);
            await().atMost(Duration.ofSeconds(10)).until(() -> spool.committer().queued() == 0); // taken, held

            // the live spool already treats it as gone
            assertThat(removal).isNotDone();
            assertThat(spool.find(id)).isEmpty();
            assertThat(spool.list()).isEmpty();
            assertThatThrownBy(() -> spool.update(envelope(id), QueueState.DEFERRED))
                    .isInstanceOf(NoSuchFileException.class);

            // "crash": another process opens the spool as it is on disk
            try (Spool afterCrash = Spool.open(queue)) {
                assertThat(afterCrash.recover()).extracting(e -> e.envelope().id()).containsExactly(id);
                try (InputStream in = afterCrash.openContent(id)) {
                    assertThat(in.readAllBytes()).isEqualTo(content);
                }
            }
            release.countDown();
            removal.get(10, TimeUnit.SECONDS);
        }
        assertThat(names(queue.resolve("messages"))).isEmpty();
        assertThat(names(queue.resolve("active"))).isEmpty();
    }

    /**
     * A crash after the envelope's unlink is durable and before the content's: the content is an orphan, which
     * recovery deletes; nothing is moved to corrupt/ and nothing is delivered again.
     */
    @Test void aCrashBetweenTheTwoUnlinksLeavesOnlyAnOrphanThatRecoveryRemoves() throws Exception {
        Path queue = dir.resolve("queue");
        var release = new CountDownLatch(1);
        var reached = new CountDownLatch(1);
        try (Spool spool = Spool.open(queue)) {
            String kept = commit(spool, "kept".getBytes(UTF_8));
            String id = commit(spool, "delivered".getBytes(UTF_8));
            spool.committer().beforeContentUnlink = () -> {
                reached.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            CompletableFuture<Void> removal = spool.remove(id);
            assertThat(reached.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(names(queue.resolve("messages"))).contains(id + ".eml");

            try (Spool afterCrash = Spool.open(queue)) {
                assertThat(afterCrash.recover()).extracting(e -> e.envelope().id()).containsExactly(kept);
                assertThat(names(queue.resolve("messages"))).containsExactly(kept + ".eml");
                assertThat(names(queue.resolve("corrupt"))).isEmpty();
            }
            release.countDown();
            removal.get(10, TimeUnit.SECONDS); // the content already gone is no error
        }
    }

    /** After close, a removal is done at once (a gateway shutting down while deliveries finish). */
    @Test void aRemovalAfterCloseIsDoneAtOnce() throws Exception {
        Path queue = dir.resolve("queue");
        Spool spool = Spool.open(queue);
        String id = commit(spool, "x".getBytes(UTF_8));
        spool.close();
        spool.remove(id).get(10, TimeUnit.SECONDS);
        assertThat(names(queue.resolve("active"))).isEmpty();
        assertThat(names(queue.resolve("messages"))).isEmpty();
    }

    /**
     * A batch that fails unexpectedly (an Error in the committer) before the removal's unlink: the message is still
     * on disk, so the spool must show it again (list, find, update, a later removal), not hide it until a restart.
     */
    @Test void aRemovalThatFailsBeforeItsUnlinkLeavesTheMessageVisible() throws Exception {
        Path queue = dir.resolve("queue");
        try (Spool spool = Spool.open(queue)) {
            String id = commit(spool, "x".getBytes(UTF_8));
            var once = new AtomicBoolean();
            spool.committer().beforeBatch = () -> {
                if (once.compareAndSet(false, true)) throw new OutOfMemoryError("simulated");
            };
            CompletableFuture<Void> removal = spool.remove(id);
            assertThatThrownBy(() -> removal.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(OutOfMemoryError.class);
            assertThat(names(queue.resolve("active"))).containsExactly(id + ".env");

            assertThat(spool.find(id)).isPresent();
            assertThat(spool.list()).extracting(e -> e.envelope().id()).containsExactly(id);
            spool.update(spool.find(id).orElseThrow().envelope(), QueueState.DEFERRED);
            spool.delete(id);
            assertThat(names(queue.resolve("deferred"))).isEmpty();
            assertThat(names(queue.resolve("messages"))).isEmpty();
        }
    }
}
