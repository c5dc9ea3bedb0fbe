package dev.postern.queue;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {
    private static final Instant T0 = Instant.parse("2025-03-01T10:15:30.123Z");

    @TempDir Path dir;
    private Spool spool;

    @BeforeEach void open() throws IOException {
        spool = Spool.open(dir);
    }

    @AfterEach void close() {
        spool.close();
    }

    static Envelope envelope(String id, String... rcpts) {
        return new Envelope(id, "alice@example.org", Stream.of(rcpts).map(Envelope.Recipient::pending).toList(), T0,
                "mx.example.org (mail.example.org [192.0.2.1])", "8BITMIME", false, 0, T0, false, 1);
    }

    private String commit(byte[] content) throws IOException {
        try (Spool.Incoming in = spool.receive()) {
            in.body().write(content);
            in.commit(envelope(in.id(), "bob@example.com").withNextAttempt(T0));
            return in.id();
        }
    }

    private static byte[] randomContent(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    private Spool reopen() throws IOException {
        spool.close();
        spool = Spool.open(dir);
        return spool;
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test void commitThenRecoverGivesByteExactContent() throws IOException {
        byte[] content = randomContent(200_000); // more than the 64 KiB buffer
        String id = commit(content);

        List<Spool.Entry> entries = reopen().recover();

        assertThat(entries).singleElement().satisfies(e -> {
            assertThat(e.state()).isEqualTo(QueueState.ACTIVE);
            assertThat(e.envelope()).isEqualTo(envelope(id, "bob@example.com"));
        });
        try (InputStream in = spool.openContent(id)) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
        assertThat(names(dir.resolve("incoming"))).isEmpty();
        assertThat(names(dir.resolve("messages"))).containsExactly(id + ".eml");
        assertThat(names(dir.resolve("active"))).containsExactly(id + ".env");
    }

    /** Through the shared DurableFiles: fsync files, rename, then the committer's directory fsyncs, in that order. */
    @Test void aCommitWritesThroughDurableFilesInTheRightOrder() throws IOException {
        List<String> events = new CopyOnWriteArrayList<>();
        DurableFiles observed = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void directoryCreated(Path d) { events.add("created " + dir.relativize(d)); }

            @Override public void fileSynced(Path f) { events.add("synced " + f.getFileName()); }

            @Override public void renamed(Path from, Path to) { events.add("renamed " + dir.relativize(to)); }

            @Override public void directorySynced(Path d) { events.add("synced-dir " + dir.relativize(d)); }
        });
        Path fresh = dir.resolve("fresh");
        try (Spool s = Spool.open(fresh, observed)) {
            assertThat(events).contains("created fresh", "created fresh/incoming", "created fresh/active",
                    "synced-dir ", "synced-dir fresh");
            events.clear();
            String id;
            try (Spool.Incoming in = s.receive()) {
                id = in.id();
                in.body().write("Subject: x\r\n\r\nx\r\n".getBytes(UTF_8));
                in.commit(envelope(id, "bob@example.com"));
            }
            assertThat(events).containsExactly("synced " + id + ".eml", "synced " + id + ".env",
                    "renamed fresh/messages/" + id + ".eml", "synced-dir fresh/messages",
                    "renamed fresh/active/" + id + ".env", "synced-dir fresh/active");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(s.contentPath(id))))
                    .isEqualTo("rw-------");
        }
    }

    @Test void closingTheBodyStreamDoesNotPreventCommit() throws IOException {
        String id;
        try (Spool.Incoming in = spool.receive()) {
            id = in.id();
            try (OutputStream body = in.body()) {
                body.write("Subject: hi\r\n\r\nbody\r\n".getBytes(UTF_8));
            }
            in.commit(envelope(id, "bob@example.com"));
        }
        try (InputStream in = spool.openContent(id)) {
            assertThat(new String(in.readAllBytes(), UTF_8)).isEqualTo("Subject: hi\r\n\r\nbody\r\n");
        }
    }

    @Test void closedWithoutCommitLeavesNothing() throws IOException {
        String id;
        try (Spool.Incoming in = spool.receive()) {
            id = in.id();
            in.body().write(randomContent(100_000));
            assertThat(names(dir.resolve("incoming"))).containsExactly(id + ".eml");
        }
        assertThat(names(dir.resolve("incoming"))).isEmpty();
        assertThat(spool.list()).isEmpty();
        assertThat(spool.find(id)).isEmpty();
        assertThat(reopen().recover()).isEmpty();
    }

    @Test void filesOfAProcessThatDiedMidWriteAreRemovedAndNeverListed() throws IOException {
        String kept = commit("kept".getBytes(UTF_8));
        // a session still writing when the process died: content open, never committed, never closed
        Spool.Incoming unfinished = spool.receive();
        unfinished.body().write(randomContent(70_000));
        unfinished.body().flush();
        // a crash right after the envelope was fsynced in incoming/ but before the renames
        String id2 = QueueIds.next();
        Files.write(dir.resolve("incoming/" + id2 + ".eml"), "partial".getBytes(UTF_8));
        Files.write(dir.resolve("incoming/" + id2 + ".env"), EnvelopeCodec.encode(envelope(id2, "x@example.com")));
        // a crash between the two renames: content published, envelope still in incoming/
        String id3 = QueueIds.next();
        Files.write(dir.resolve("messages/" + id3 + ".eml"), "whole".getBytes(UTF_8));
        Files.write(dir.resolve("incoming/" + id3 + ".env"), EnvelopeCodec.encode(envelope(id3, "y@example.com")));
        // an update interrupted before its rename
        Files.write(dir.resolve("incoming/" + kept + ".2.update"), "fo".getBytes(UTF_8));

        assertThat(spool.list()).extracting(e -> e.envelope().id()).containsExactly(kept);

        Spool fresh = Spool.open(dir); // the "next process"
        try {
            assertThat(fresh.recover()).extracting(e -> e.envelope().id()).containsExactly(kept);
            assertThat(names(dir.resolve("incoming"))).isEmpty();
            assertThat(names(dir.resolve("messages"))).containsExactly(kept + ".eml");
            assertThat(fresh.find(id2)).isEmpty();
            assertThat(fresh.find(id3)).isEmpty();
            assertThat(fresh.find(unfinished.id())).isEmpty();
        } finally {
            fresh.close();
        }
    }

    @Test void contentWithoutEnvelopeIsRemoved() throws IOException {
        String id = commit("x".getBytes(UTF_8));
        String orphan = QueueIds.next();
        Files.write(dir.resolve("messages/" + orphan + ".eml"), "orphan".getBytes(UTF_8));

        assertThat(reopen().recover()).extracting(e -> e.envelope().id()).containsExactly(id);
        assertThat(names(dir.resolve("messages"))).containsExactly(id + ".eml");
    }

    @Test void envelopeWithoutContentIsMovedAside() throws IOException {
        String id = QueueIds.next();
        Files.write(dir.resolve("deferred/" + id + ".env"), EnvelopeCodec.encode(envelope(id, "x@example.com")));

        assertThat(reopen().recover()).isEmpty();
        assertThat(names(dir.resolve("deferred"))).isEmpty();
        assertThat(names(dir.resolve("corrupt"))).containsExactly("deferred-" + id + ".env");
    }

    @Test void duplicateEnvelopesResolveToTheHighestVersion() throws IOException {
        String id = commit("x".getBytes(UTF_8));
        Envelope v1 = spool.find(id).orElseThrow().envelope();
        // a crash after the new version was renamed into deferred/ but before active/ was cleaned up
        Envelope v7 = v1.withVersion(7).withNextAttempt(T0.plusSeconds(60));
        Files.write(dir.resolve("deferred/" + id + ".env"), EnvelopeCodec.encode(v7));
        // and a stale older copy in hold/
        Files.write(dir.resolve("hold/" + id + ".env"), EnvelopeCodec.encode(v1.withVersion(3)));

        assertThat(spool.find(id)).contains(new Spool.Entry(v7, QueueState.DEFERRED));
        assertThat(spool.list()).containsExactly(new Spool.Entry(v7, QueueState.DEFERRED));

        assertThat(reopen().recover()).containsExactly(new Spool.Entry(v7, QueueState.DEFERRED));
        assertThat(names(dir.resolve("active"))).isEmpty();
        assertThat(names(dir.resolve("hold"))).isEmpty();
        assertThat(names(dir.resolve("deferred"))).containsExactly(id + ".env");
    }

    @Test void updateMovesBetweenStatesAndBumpsTheVersion() throws IOException {
        String id = commit("x".getBytes(UTF_8));
        Envelope committed = spool.find(id).orElseThrow().envelope();
        var failed = new Envelope.Recipient("bob@example.com", Envelope.Recipient.Status.PENDING, 1,
                "451 4.3.0 try later", T0.plusSeconds(5));

        Envelope deferred = spool.update(committed.withRecipients(List.of(failed), T0.plusSeconds(300)),
                QueueState.DEFERRED);

        assertThat(deferred.version()).isEqualTo(committed.version() + 1);
        assertThat(spool.find(id)).contains(new Spool.Entry(deferred, QueueState.DEFERRED));
        assertThat(names(dir.resolve("active"))).isEmpty();
        assertThat(names(dir.resolve("incoming"))).isEmpty();

        Envelope held = spool.update(deferred, QueueState.HOLD);
        assertThat(held.version()).isEqualTo(committed.version() + 2);
        Envelope sameState = spool.update(held.withDelayWarned(), QueueState.HOLD);
        assertThat(sameState.version()).isEqualTo(committed.version() + 3);
        // a stale copy still wins over what is on disk
        Envelope fromStale = spool.update(committed, QueueState.ACTIVE);
        assertThat(fromStale.version()).isEqualTo(committed.version() + 4);

        assertThat(reopen().recover()).containsExactly(new Spool.Entry(fromStale, QueueState.ACTIVE));
        assertThat(names(dir.resolve("hold"))).isEmpty();
        assertThat(names(dir.resolve("deferred"))).isEmpty();
    }

    @Test void updateOfADeletedMessageFails() throws IOException {
        String id = commit("x".getBytes(UTF_8));
        Envelope e = spool.find(id).orElseThrow().envelope();
        spool.delete(id);
        assertThatThrownBy(() -> spool.update(e, QueueState.DEFERRED)).isInstanceOf(NoSuchFileException.class);
        assertThat(spool.list()).isEmpty();
    }

    @Test void deleteRemovesEnvelopeAndContent() throws IOException {
        String a = commit("a".getBytes(UTF_8));
        String b = commit("b".getBytes(UTF_8));
        spool.update(spool.find(b).orElseThrow().envelope(), QueueState.HOLD);

        spool.delete(b);
        spool.delete(b); // idempotent

        assertThat(spool.list()).extracting(e -> e.envelope().id()).containsExactly(a);
        assertThat(names(dir.resolve("messages"))).containsExactly(a + ".eml");
        assertThat(names(dir.resolve("hold"))).isEmpty();
        assertThatThrownBy(() -> spool.openContent(b)).isInstanceOf(NoSuchFileException.class);
        assertThat(reopen().recover()).extracting(e -> e.envelope().id()).containsExactly(a);
    }

    @Test void listIsInArrivalOrder() throws IOException {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) ids.add(commit(("m" + i).getBytes(UTF_8)));
        spool.update(spool.find(ids.get(1)).orElseThrow().envelope(), QueueState.DEFERRED);
        spool.update(spool.find(ids.get(3)).orElseThrow().envelope(), QueueState.HOLD);

        assertThat(spool.list()).extracting(e -> e.envelope().id()).containsExactlyElementsOf(ids);
        assertThat(spool.list()).extracting(Spool.Entry::state).containsExactly(QueueState.ACTIVE,
                QueueState.DEFERRED, QueueState.ACTIVE, QueueState.HOLD, QueueState.ACTIVE);
    }

    @Test void badIdsAreRejected() throws IOException {
        assertThat(spool.find("../../etc/passwd")).isEmpty();
        assertThatThrownBy(() -> spool.openContent("../x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> spool.delete("x")).isInstanceOf(IllegalArgumentException.class);
        try (Spool.Incoming in = spool.receive()) {
            assertThatThrownBy(() -> in.commit(envelope(QueueIds.next(), "bob@example.com")))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(names(dir.resolve("incoming"))).isEmpty();
    }

    @Test void corruptEnvelopeIsMovedAsideWithItsContent() throws IOException {
        String good = commit("good".getBytes(UTF_8));
        String bad = commit("bad".getBytes(UTF_8));
        Path badEnv = dir.resolve("active/" + bad + ".env");
        byte[] full = Files.readAllBytes(badEnv);
        Files.write(badEnv, java.util.Arrays.copyOf(full, full.length / 2)); // truncated
        String garbage = QueueIds.next();
        Files.write(dir.resolve("deferred/" + garbage + ".env"), new byte[] {(byte) 0xff, 0, 1, 2});
        Files.write(dir.resolve("hold/notes.env"), "hello".getBytes(UTF_8));

        assertThat(spool.list()).extracting(e -> e.envelope().id()).containsExactly(good); // skipped, not fatal

        assertThat(reopen().recover()).extracting(e -> e.envelope().id()).containsExactly(good);
        assertThat(names(dir.resolve("corrupt"))).containsExactlyInAnyOrder(
                "active-" + bad + ".env", bad + ".eml", "deferred-" + garbage + ".env", "hold-notes.env");
        assertThat(names(dir.resolve("messages"))).containsExactly(good + ".eml");
        assertThat(names(dir.resolve("active"))).containsExactly(good + ".env");
    }

    @Test void concurrentCommitsAllSucceedAndShareFsyncs() throws Exception {
        int sessions = 50;
        // hold the first batch until every other session has queued, so the batching is deterministic
        var once = new AtomicBoolean();
        spool.committer().beforeBatch = () -> {
            if (once.compareAndSet(false, true)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> spool.committer().queued() >= sessions - 1);
            }
        };
        List<Future<String>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < sessions; i++) {
                byte[] content = ("message " + i + "\r\n").repeat(1000 + i).getBytes(UTF_8);
                results.add(pool.submit(() -> {
                    try (Spool.Incoming in = spool.receive()) {
                        in.body().write(content);
                        in.commit(envelope(in.id(), "rcpt@example.com"));
                        return in.id();
                    }
                }));
            }
        }
        List<String> ids = new ArrayList<>();
        for (Future<String> f : results) ids.add(f.get());

        assertThat(ids).doesNotHaveDuplicates().hasSize(sessions);
        assertThat(spool.commitBatches()).isPositive().isLessThan(sessions);
        assertThat(reopen().recover()).hasSize(sessions);
        for (int i = 0; i < sessions; i++) {
            try (InputStream in = spool.openContent(ids.get(i))) {
                assertThat(new String(in.readAllBytes(), UTF_8)).isEqualTo(("message " + i + "\r\n").repeat(1000 + i));
            }
        }
    }

    @Test void unhinderedConcurrentCommitsAllSucceed() throws Exception {
        int sessions = 50;
        List<Future<String>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < sessions; i++) {
                results.add(pool.submit(() -> commit(randomContent(10_000))));
            }
        }
        for (Future<String> f : results) assertThat(f.get()).isNotNull();
        assertThat(spool.commitBatches()).isBetween(1L, (long) sessions);
        assertThat(spool.list()).hasSize(sessions);
    }

    @Test void commitReturnsOnlyAfterTheBatchIsPublished() throws Exception {
        var release = new CountDownLatch(1);
        spool.committer().beforeBatch = () -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        var committed = new CountDownLatch(1);
        Thread session = Thread.ofVirtual().start(() -> {
            try {
                commit("held".getBytes(UTF_8));
                committed.countDown();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.committer().queued() == 0
                && names(dir.resolve("incoming")).size() == 2); // taken by the committer, not yet renamed
        Thread.sleep(50);
        assertThat(committed.getCount()).isEqualTo(1);
        assertThat(spool.list()).isEmpty();

        release.countDown();
        assertThat(committed.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        session.join();
        assertThat(spool.list()).hasSize(1);
    }

    @Test void afterCloseNoNewMessagesAreAccepted() throws IOException {
        Spool.Incoming in = spool.receive();
        in.body().write("x".getBytes(UTF_8));
        spool.close();
        assertThatThrownBy(() -> in.commit(envelope(in.id(), "bob@example.com"))).isInstanceOf(IOException.class);
        assertThat(names(dir.resolve("incoming"))).isEmpty();
        assertThatThrownBy(() -> spool.receive()).isInstanceOf(IOException.class);
        assertThat(spool.usableSpace()).isPositive();
    }

    @Test void failedPublicationFailsTheCommitAndCleansUp() throws IOException {
        String id;
        // a directory fsync cannot be made to fail on demand, a rename can: remove the target directory
        Path active = dir.resolve("active");
        Files.delete(active);
        try (Spool.Incoming in = spool.receive()) {
            id = in.id();
            in.body().write("x".getBytes(UTF_8));
            assertThatThrownBy(() -> in.commit(envelope(in.id(), "bob@example.com")))
                    .isInstanceOf(IOException.class);
        }
        Files.createDirectory(active);
        assertThat(names(dir.resolve("incoming"))).isEmpty();
        assertThat(names(dir.resolve("messages"))).isEmpty();
        assertThat(spool.find(id)).isEmpty();
        // the committer survives and keeps working
        commit("y".getBytes(UTF_8));
        assertThat(spool.list()).hasSize(1);
    }
}
