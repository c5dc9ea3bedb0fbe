package dev.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.files.DurableFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The writer with real files and real threads; the store is {@link MemoryStore}, which stands in for the database and
 * can fail, be slow or hang.
 */
class AuditWriterTest {
    @TempDir Path dir;
    private Path spillDir;
    private Path spillFile;
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach void setUp() {
        spillDir = dir.resolve("audit/spill");
        spillFile = spillDir.resolve(Spill.FILE);
        logged.start();
        ((Logger) LoggerFactory.getLogger(AuditWriter.class)).addAppender(logged);
        ((Logger) LoggerFactory.getLogger(Spill.class)).addAppender(logged);
    }

    @AfterEach void tearDown() {
        ((Logger) LoggerFactory.getLogger(AuditWriter.class)).detachAppender(logged);
        ((Logger) LoggerFactory.getLogger(Spill.class)).detachAppender(logged);
    }

    /** Short retries, so that tests need not wait seconds for a store to be tried again. */
    private static AuditWriter.Options options(int queueSize, long spillMax) {
        return new AuditWriter.Options(queueSize, spillMax, Duration.ofDays(400), 500, Duration.ofSeconds(2),
                Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofHours(1), Duration.ofSeconds(5),
                Clock.systemUTC(), Duration.ZERO);
    }

    private static List<Integer> range(int from, int to) {
        return IntStream.range(from, to).boxed().toList();
    }

    private static void recordAll(AuditWriter w, int from, int to) {
        for (int i = from; i < to; i++) w.record(MemoryStore.record(i));
    }

    private List<String> logLines(String contains) {
        synchronized (logged) {
            return logged.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains(contains))
                    .toList();
        }
    }

    /**
     * Records that trickle in (one a millisecond, as from a relay at a few hundred messages a second) are gathered
     * into a few transactions, not written one each: a commit per record is what made the store cost the relay.
     */
    @Test void aTrickleOfRecordsIsGatheredIntoFewWrites() throws Exception {
        MemoryStore store = new MemoryStore();
        AuditWriter.Options o = options(10_000, 1L << 30);
        o = new AuditWriter.Options(o.queueSize(), o.spillMax(), o.retention(), o.batchSize(), o.slowWrite(),
                o.retryFirst(), o.retryMax(), o.pruneEvery(), o.closeTimeout(), o.clock(), Duration.ofMillis(300));
        try (AuditWriter w = AuditWriter.start(store, spillDir, o)) {
            for (int i = 0; i < 200; i++) {
                w.record(MemoryStore.record(i));
                Thread.sleep(1);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> store.size() == 200);
            assertThat(store.sequence()).isEqualTo(range(0, 200));
            // 200 records over at least 200 ms, gathered for 300 ms after each first one: one write, or two when
            // the machine is slow; without gathering about one per record
            assertThat(store.writeCalls.get()).isLessThanOrEqualTo(3);
        }
    }

    @Test void recordsReachTheStoreInOrder() throws Exception {
        MemoryStore store = new MemoryStore();
        try (AuditWriter w = AuditWriter.start(store, spillDir, options(10_000, 1L << 30))) {
            recordAll(w, 0, 5_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> store.size() == 5_000);
            assertThat(store.sequence()).isEqualTo(range(0, 5_000));
            AuditWriter.Stats s = w.stats();
            assertThat(s.written()).isEqualTo(5_000);
            assertThat(s.spilled()).isZero();
            assertThat(s.dropped()).isZero();
            assertThat(s.storeUp()).isTrue();
            assertThat(store.writeCalls.get()).as("batches, not one write per record").isLessThan(5_000);
        }
        assertThat(Files.exists(spillFile)).isFalse();
        assertThat(store.closed).as("the writer owns the store").isTrue();
    }

    @Test void downStoreSpillsInGroupsThenReplaysInOrderExactlyOnce() throws Exception {
        MemoryStore store = new MemoryStore();
        store.failing = true;
        AtomicInteger spillSyncs = new AtomicInteger();
        DurableFiles files = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void fileSynced(Path file) {
                if (file.equals(spillFile)) spillSyncs.incrementAndGet();
            }
        });
        try (AuditWriter w = AuditWriter.start(store, spillDir, options(10_000, 1L << 30), files)) {
            recordAll(w, 0, 1_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> w.stats().spilled() == 1_000);
            long firstSize = Files.size(spillFile);
            assertThat(firstSize).isPositive().isEqualTo(w.stats().spillBytes());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spillFile))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spillDir))).isEqualTo("rwx------");
            assertThat(w.stats().storeUp()).isFalse();
            assertThat(w.stats().lastError()).contains("connection refused");
            recordAll(w, 1_000, 2_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> w.stats().spilled() == 2_000);
            assertThat(Files.size(spillFile)).as("the spill grows").isGreaterThan(firstSize);
            assertThat(spillSyncs.get()).as("one fsync per drained batch, not per record").isBetween(1, 200);
            assertThat(store.size()).isZero();

            // the store comes back, a little slow; records keep coming during the replay and must wait for it
            store.delayMillis = 20;
            store.failing = false;
            for (int i = 2_000; i < 2_100; i++) {
                w.record(MemoryStore.record(i));
                Thread.sleep(3);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> store.size() == 2_100 && !Files.exists(spillFile));
            store.delayMillis = 0;
            recordAll(w, 2_100, 2_200);
            await().atMost(Duration.ofSeconds(10)).until(() -> store.size() == 2_200);
            assertThat(store.sequence()).as("every record once, in the order recorded").isEqualTo(range(0, 2_200));
            AuditWriter.Stats s = w.stats();
            assertThat(s.replayed()).isGreaterThanOrEqualTo(2_000);
            assertThat(s.written()).as("directly again once the spill is replayed").isGreaterThanOrEqualTo(100);
            assertThat(s.replayed() + s.written()).isEqualTo(2_200);
            assertThat(s.dropped()).isZero();
            assertThat(s.storeUp()).isTrue();
            assertThat(s.spillBytes()).isZero();
        }
        assertThat(Files.exists(spillDir.resolve(Spill.POSITION))).isFalse();
    }

    @Test void aDownStoreIsTriedAgainWithDoublingWaits() throws Exception {
        MemoryStore store = new MemoryStore();
        store.failing = true;
        var o = new AuditWriter.Options(10_000, 1L << 30, Duration.ofDays(400), 500, Duration.ofSeconds(2),
                Duration.ofMillis(100), Duration.ofMillis(400), Duration.ofHours(1), Duration.ofSeconds(5),
                Clock.systemUTC(), Duration.ZERO);
        try (AuditWriter w = AuditWriter.start(store, spillDir, o)) {
            long start = System.nanoTime();
            w.record(MemoryStore.record(0));
            // 100, 200, 400, 400, ... ms: a few tries a second, not thousands (waited for, not slept: a loaded
            // machine may be slow to run the writer, never fast)
            await().atMost(Duration.ofSeconds(30)).until(() -> store.writeTimes().size() >= 5);
            List<Long> t = store.writeTimes();
            long elapsedMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertThat(t.size()).as("tries in " + elapsedMillis + " ms").isLessThanOrEqualTo(2 + (int) (elapsedMillis / 100));
            long[] expected = {100, 200, 400, 400};
            for (int i = 0; i < expected.length && i + 1 < t.size(); i++) {
                assertThat(Duration.ofNanos(t.get(i + 1) - t.get(i)).toMillis()).as("wait before try " + (i + 2))
                        .isGreaterThanOrEqualTo(expected[i] - 5);
            }
            assertThat(logLines("the store failed")).hasSize(1);
        }
    }

    @Test void aSlowStoreNeverBlocksRecordAndLosesNothing() throws Exception {
        MemoryStore store = new MemoryStore();
        store.delayMillis = 3_000;
        int n = 100_000;
        try (AuditWriter w = AuditWriter.start(store, spillDir, options(1_000_000, 1L << 30))) {
            w.record(MemoryStore.record(0));
            await().atMost(Duration.ofSeconds(2)).until(() -> store.writeCalls.get() == 1); // a write is pending
            long start = System.nanoTime();
            recordAll(w, 1, n);
            long tookMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();
            System.out.println("audit: " + (n - 1) + " record() calls with a store that takes 3 s per write: "
                    + tookMillis + " ms");
            assertThat(tookMillis).as("record() with a slow store").isLessThan(500);
            // past slowWrite the queued records go to the spill while the write is still pending
            await().atMost(Duration.ofSeconds(15)).until(() -> w.stats().spilled() > 0);
            store.delayMillis = 0;
            await().atMost(Duration.ofSeconds(60)).until(() -> store.size() >= n && !Files.exists(spillFile));
            assertThat(store.sequence()).as("all, once, in order").isEqualTo(range(0, n));
            AuditWriter.Stats s = w.stats();
            assertThat(s.dropped()).isZero();
            assertThat(s.written() + s.replayed()).isEqualTo(n);
        }
    }

    @Test void aSpillLeftByAnEarlierRunIsReplayedAtStart() throws Exception {
        MemoryStore down = new MemoryStore();
        down.failing = true;
        try (AuditWriter w = AuditWriter.start(down, spillDir, options(10_000, 1L << 30))) {
            recordAll(w, 0, 300);
        } // close spills what the store would not take
        assertThat(Files.size(spillFile)).isPositive();
        assertThat(Files.readAllLines(spillFile)).hasSize(300);

        MemoryStore up = new MemoryStore();
        try (AuditWriter w = AuditWriter.start(up, spillDir, options(10_000, 1L << 30))) {
            recordAll(w, 300, 350); // recorded during the replay: after it
            await().atMost(Duration.ofSeconds(10)).until(() -> up.size() == 350);
            assertThat(up.sequence()).isEqualTo(range(0, 350));
            assertThat(w.stats().replayed()).isEqualTo(300);
        }
        assertThat(Files.exists(spillFile)).isFalse();
    }

    @Test void aCrashMidReplayReplaysAtMostOneBatchAgain() throws Exception {
        MemoryStore down = new MemoryStore();
        down.failing = true;
        try (AuditWriter w = AuditWriter.start(down, spillDir, options(10_000, 1L << 30))) {
            recordAll(w, 0, 2_000);
        }
        // the next run gets through two batches of 500, then its store hangs and the process "crashes"
        MemoryStore hanging = new MemoryStore();
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch never = new CountDownLatch(1);
        AuditStore third = new AuditStore() {
            @Override public void write(List<AuditRecord> batch) throws AuditStoreException {
                if (calls.incrementAndGet() == 3) hanging.hang = never;
                hanging.write(batch);
            }
            @Override public int prune(Instant cutoff, int limit) { return 0; }
            @Override public void close() { }
        };
        AuditWriter crashed = AuditWriter.start(third, spillDir, options(10_000, 1L << 30));
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() == 3);
        // no close(): the files stay as a kill -9 leaves them, the position after the first 1000 records
        assertThat(Files.readString(spillDir.resolve(Spill.POSITION)).strip())
                .isEqualTo(String.valueOf(positionAfter(1_000)));

        MemoryStore after = new MemoryStore();
        try (AuditWriter w = AuditWriter.start(after, spillDir, options(10_000, 1L << 30))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> after.size() == 1_000);
            assertThat(after.sequence()).as("the rest, from the durable position on").isEqualTo(range(1_000, 2_000));
        }
        never.countDown();
        crashed.close();
    }

    /** The byte offset after the first {@code n} spilled test records. */
    private long positionAfter(int n) throws Exception {
        long offset = 0;
        for (int i = 0; i < n; i++) offset += RecordCodec.encode(MemoryStore.record(i)).length + 1;
        return offset;
    }

    @Test void aTornLastLineAndAnUnreadableLineAreSkippedWithALogLine() throws Exception {
        MemoryStore down = new MemoryStore();
        down.failing = true;
        try (AuditWriter w = AuditWriter.start(down, spillDir, options(10_000, 1L << 30))) {
            recordAll(w, 0, 5);
        }
        Files.write(spillFile, "this is not json\n".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
        down.failing = true;
        try (AuditWriter w = AuditWriter.start(down, spillDir, options(10_000, 1L << 30))) {
            recordAll(w, 5, 10);
        }
        byte[] whole = RecordCodec.encode(MemoryStore.record(99));
        Files.write(spillFile, java.util.Arrays.copyOf(whole, whole.length / 2), StandardOpenOption.APPEND);

        MemoryStore up = new MemoryStore();
        try (AuditWriter w = AuditWriter.start(up, spillDir, options(10_000, 1L << 30))) {
            recordAll(w, 10, 12); // appended after the cut: not glued to the torn line
            await().atMost(Duration.ofSeconds(10)).until(() -> up.size() == 12);
            assertThat(up.sequence()).isEqualTo(range(0, 12));
            assertThat(w.stats().dropped()).as("the torn line and the unreadable one").isEqualTo(2);
        }
        assertThat(logLines("cut off a torn last line")).hasSize(1);
        // once per run that read it (the second run may have tried its down store once): the same line each time
        assertThat(logLines("skipped an unreadable line").stream().distinct().toList()).hasSize(1);
        assertThat(logLines("records dropped")).last().asString().contains("2 in all")
                .contains("2 unreadable in the spill");
    }

    @Test void aFullSpillDropsAndCounts() throws Exception {
        MemoryStore store = new MemoryStore();
        store.failing = true;
        long max = 50L * (RecordCodec.encode(MemoryStore.record(0)).length + 1);
        try (AuditWriter w = AuditWriter.start(store, spillDir, options(10_000, max))) {
            recordAll(w, 0, 100);
            await().atMost(Duration.ofSeconds(10)).until(() -> w.stats().spilled() + w.stats().dropped() == 100);
            AuditWriter.Stats s = w.stats();
            assertThat(s.spilled()).isBetween(40L, 50L);
            assertThat(s.dropped()).isEqualTo(100 - s.spilled());
            assertThat(s.spillBytes()).isLessThanOrEqualTo(max);
            assertThat(Files.size(spillFile)).isLessThanOrEqualTo(max);
            await().atMost(Duration.ofSeconds(5)).until(() -> !logLines("records dropped").isEmpty());
            assertThat(logLines("records dropped").getFirst()).contains("spill full");
            recordAll(w, 100, 200);
            await().atMost(Duration.ofSeconds(10)).until(() -> w.stats().dropped() == 200 - s.spilled());
            assertThat(logLines("records dropped")).as("at most one line per 10 s").hasSize(1);
        }
        assertThat(logLines("records dropped")).as("the rest at close").hasSize(2);
    }

    @Test void aFullQueueDropsAndCounts() throws Exception {
        MemoryStore store = new MemoryStore();
        store.failing = true;
        CountDownLatch disk = new CountDownLatch(1);
        // the disk cannot keep up: the spill's first fsync takes until released
        DurableFiles slowDisk = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void fileSynced(Path file) {
                if (file.equals(spillFile)) {
                    try {
                        disk.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        });
        try (AuditWriter w = AuditWriter.start(store, spillDir, options(100, 1L << 30), slowDisk)) {
            w.record(MemoryStore.record(0));
            await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(spillFile)); // writer stuck in fsync
            long start = System.nanoTime();
            recordAll(w, 1, 1_000);
            assertThat(Duration.ofNanos(System.nanoTime() - start).toMillis()).isLessThan(500);
            AuditWriter.Stats s = w.stats();
            assertThat(s.queued()).isEqualTo(100);
            assertThat(s.dropped()).isEqualTo(899);
            disk.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> w.stats().spilled() == 101);
            assertThat(w.stats().dropped()).isEqualTo(899);
            await().atMost(Duration.ofSeconds(5)).until(() -> !logLines("records dropped").isEmpty());
            assertThat(logLines("records dropped").getFirst()).contains("899 with the queue full");
        }
    }

    @Test void closeWritesWhatIsQueued() throws Exception {
        MemoryStore store = new MemoryStore();
        AuditWriter w = AuditWriter.start(store, spillDir, options(100_000, 1L << 30));
        recordAll(w, 0, 20_000);
        w.close();
        assertThat(store.sequence()).isEqualTo(range(0, 20_000));
        assertThat(Files.exists(spillFile)).isFalse();
        w.record(MemoryStore.record(20_000));
        assertThat(w.stats().dropped()).as("a record after close is counted").isEqualTo(1);
    }

    @Test void closeWithAHungStoreReturnsInBoundedTimeAndSpills() throws Exception {
        MemoryStore store = new MemoryStore();
        CountDownLatch never = new CountDownLatch(1);
        store.hang = never;
        var o = new AuditWriter.Options(10_000, 1L << 30, Duration.ofDays(400), 500, Duration.ofHours(1),
                Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofHours(1), Duration.ofMillis(500),
                Clock.systemUTC(), Duration.ZERO);
        AuditWriter w = AuditWriter.start(store, spillDir, o);
        recordAll(w, 0, 1_000);
        await().atMost(Duration.ofSeconds(5)).until(() -> store.writeCalls.get() == 1);
        long start = System.nanoTime();
        w.close();
        assertThat(Duration.ofNanos(System.nanoTime() - start).toMillis()).isLessThan(3_000);
        assertThat(Files.readAllLines(spillFile)).hasSize(1_000);
        never.countDown();

        MemoryStore next = new MemoryStore();
        try (AuditWriter w2 = AuditWriter.start(next, spillDir, options(10_000, 1L << 30))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> next.size() == 1_000);
            assertThat(next.sequence()).isEqualTo(range(0, 1_000));
        }
    }

    @Test void pruningUsesTheRetentionCutoffInRoundsAndYieldsToWrites() throws Exception {
        Instant now = Instant.parse("2026-03-01T12:00:00Z");
        MemoryStore store = new MemoryStore();
        AtomicInteger prunes = new AtomicInteger();
        store.pruneResult = () -> prunes.incrementAndGet() < 3 ? 1000 : 10; // a round of three calls
        var o = new AuditWriter.Options(10_000, 1L << 30, Duration.ofDays(400), 500, Duration.ofSeconds(2),
                Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofSeconds(5),
                Clock.fixed(now, ZoneOffset.UTC), Duration.ZERO);
        try (AuditWriter w = AuditWriter.start(store, spillDir, o)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> prunes.get() >= 4);
            synchronized (store) {
                assertThat(store.pruneCutoffs.subList(0, 4)).containsOnly(now.minus(Duration.ofDays(400)));
                assertThat(store.pruneLimits.subList(0, 4)).containsOnly(1000);
                assertThat(Duration.ofNanos(store.pruneTimes.get(3) - store.pruneTimes.get(0)).toMillis())
                        .as("the round ended at 10 < 1000; the next comes a period after it began")
                        .isGreaterThanOrEqualTo(295);
            }
            // an endless round (every call deletes 1000, slowly) must not hold records back
            store.pruneResult = () -> 1000;
            store.pruneDelayMillis = 50;
            await().atMost(Duration.ofSeconds(5)).until(() -> store.pruneTimes.size() > 6);
            long start = System.nanoTime();
            recordAll(w, 0, 100);
            await().atMost(Duration.ofSeconds(5)).until(() -> store.size() == 100);
            assertThat(Duration.ofNanos(System.nanoTime() - start).toMillis()).isLessThan(1_000);
            int before = store.pruneTimes.size();
            await().atMost(Duration.ofSeconds(5)).until(() -> store.pruneTimes.size() > before);
        }
    }

    @Test void statsTravelAsOneJsonLine() {
        var s = new AuditWriter.Stats(3, 10, 20, 4096, 20, 1, false, "connection refused", Instant.parse(
                "2026-03-01T12:00:00.123456Z"), 2);
        String json = s.toJson();
        assertThat(json).doesNotContain("\n");
        assertThat(AuditWriter.Stats.fromJson(json)).isEqualTo(s);
    }

    /** Not a benchmark: the figure for the report, and a wide floor so a lock or a log call per record shows. */
    @Test void recordThroughputWithANoOpStore() throws Exception {
        AuditStore noop = new AuditStore() {
            @Override public void write(List<AuditRecord> batch) { }
            @Override public int prune(Instant cutoff, int limit) { return 0; }
            @Override public void close() { }
        };
        try (AuditWriter w = AuditWriter.start(noop, spillDir, AuditWriter.Options.of(10_000_000, 1L << 30,
                Duration.ofDays(400)))) {
            AdminRecord r = MemoryStore.record(1);
            for (int i = 0; i < 200_000; i++) w.record(r); // warm up
            int n = 2_000_000;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) w.record(r);
            long took = System.nanoTime() - start;
            double perSecond = n / (took / 1e9);
            System.out.printf("audit: record() with a no-op store: %,.0f records/s (%d ns each), dropped %d%n",
                    perSecond, took / n, w.stats().dropped());
            assertThat(perSecond).isGreaterThan(200_000);

            // four producers at once, as sessions and deliveries are
            int threads = 4, each = 500_000;
            Thread[] producers = new Thread[threads];
            start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                producers[t] = Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < each; i++) w.record(r);
                });
            }
            for (Thread t : producers) t.join();
            took = System.nanoTime() - start;
            System.out.printf("audit: record() from %d threads at once: %,.0f records/s in all%n", threads,
                    threads * each / (took / 1e9));
            long total = 200_000L + n + (long) threads * each;
            await().atMost(Duration.ofSeconds(60)).until(() -> w.stats().written() == total);
            took = System.nanoTime() - start;
            System.out.printf("audit: through the writer to a no-op store: %,.0f records/s%n",
                    (double) threads * each / (took / 1e9));
            assertThat(w.stats().dropped()).isZero();
        }
    }

    /** Figures for the report: how fast records go to the spill (store down) and come back from it. */
    @Test void spillAndReplayRates() throws Exception {
        MemoryStore store = new MemoryStore();
        store.failing = true;
        TlsSessionRecord r = RecordCodecTest.session(); // a TLS session with a two-certificate chain and a PEM leaf
        int n = 100_000;
        try (AuditWriter w = AuditWriter.start(store, spillDir, options(200_000, 1L << 32))) {
            w.record(r);
            await().atMost(Duration.ofSeconds(5)).until(() -> w.stats().spilled() == 1);
            long start = System.nanoTime();
            for (int i = 1; i < n; i++) w.record(r);
            await().atMost(Duration.ofSeconds(120)).until(() -> w.stats().spilled() == n);
            double spillRate = (n - 1) / ((System.nanoTime() - start) / 1e9);
            long bytes = Files.size(spillFile);
            start = System.nanoTime();
            store.failing = false;
            await().atMost(Duration.ofSeconds(120)).until(() -> store.size() == n);
            double replayRate = n / ((System.nanoTime() - start) / 1e9);
            System.out.printf("audit: spill: %,.0f records/s (%,d bytes a record); replay to an in-memory store:"
                    + " %,.0f records/s%n", spillRate, bytes / n, replayRate);
            assertThat(w.stats().dropped()).isZero();
        }
    }
}
