package dev.postern.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Audit} the gateway records into: {@link #record} puts the record in a bounded in-memory queue and returns
 * at once; one writer thread drains the queue in batches into the {@link AuditStore}.
 *
 * <p>When the store is down (a write fails) or slow (a write takes longer than {@code slowWrite}, or the queue passes
 * half full while a write is pending), records go to an append-only {@link Spill} file instead, fsynced once per
 * drained batch. A down store is tried again after 1 s, doubling to 30 s. When it answers, the spill is replayed oldest
 * first, in batches, before any newer record (newer records wait in memory meanwhile, or go to the end of the spill
 * when the queue passes half full), so the store sees records in the order they were recorded. A spill left by an
 * earlier run is replayed at start.
 *
 * <p>Nothing is dropped silently: a record that finds the queue full, or the spill at its maximum size, is counted
 * ({@link Stats#dropped}) and logged, at most one line per 10 s. A spill that cannot be written (its disk is full,
 * and a store on the same disk fails too) loses nothing at once: the records wait in memory, oldest first, up to
 * {@code queueSize} of them, and go to the spill (or to the store, when it answers first) once it takes them again.
 *
 * <p>Store calls run on a thread of their own (one at a time, so SQLite has one writer): a store that hangs delays
 * its own records, never the spilling of the rest. Retention pruning runs between batches on the same thread.
 */
public final class AuditWriter implements Audit, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditWriter.class);
    private static final long DROP_LOG_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long IDLE_POLL_MILLIS = 250;
    private static final long PENDING_POLL_MILLIS = 20;

    /**
     * The writer's settings. {@code queueSize}, {@code spillMax} and {@code retention} come from {@code [audit]}; the
     * rest have defaults ({@link #of}) that tests shorten.
     *
     * @param batchSize   most records per store write (and per replayed batch)
     * @param slowWrite   a store call pending longer than this counts as slow: queued records go to the spill
     * @param retryFirst  first wait before a down store is tried again; doubles up to {@code retryMax}
     * @param pruneEvery  how often records older than {@code retention} are pruned (the first time one minute after
     *                    start, or {@code pruneEvery} when shorter)
     * @param closeTimeout how long {@link #close} may write what is queued before spilling the rest
     * @param linger      how long the writer gathers records after the first before it writes them (unless a batch
     *                    fills first): one transaction for many records instead of one each. A commit per record
     *                    rewrote the store's table and index pages for every message (SQLite's WAL) and cost the
     *                    relay a fifth of its throughput; gathering for 200 ms made it one or two commits a second
     *                    at that rate. Records wait in memory meanwhile, as they did in the queue.
     */
    public record Options(int queueSize, long spillMax, Duration retention, int batchSize, Duration slowWrite,
                          Duration retryFirst, Duration retryMax, Duration pruneEvery, Duration closeTimeout,
                          Clock clock, Duration linger) {
        public Options {
            if (queueSize < 1 || batchSize < 1) throw new IllegalArgumentException("queueSize and batchSize >= 1");
            Objects.requireNonNull(clock);
            if (linger == null || linger.isNegative()) linger = Duration.ZERO;
        }

        /**
         * The gateway's settings: batches of 500 gathered for up to 200 ms, slow after 2 s, retries 1 s to 30 s,
         * pruning hourly, close 5 s.
         */
        public static Options of(int queueSize, long spillMax, Duration retention) {
            return new Options(queueSize, spillMax, retention, 500, Duration.ofSeconds(2), Duration.ofSeconds(1),
                    Duration.ofSeconds(30), Duration.ofHours(1), Duration.ofSeconds(5), Clock.systemUTC(),
                    Duration.ofMillis(200));
        }
    }

    /**
     * What the writer has done since start, for the control socket, the admin API and alerts.
     *
     * @param queued     records in memory now
     * @param written    records written to the store from memory
     * @param spilled    records appended to the spill file
     * @param spillBytes the spill file's size now (0: no spill)
     * @param replayed   records written to the store from the spill
     * @param dropped    records lost: queue full, spill full, or unreadable in the spill; every one is logged
     * @param rejected   records the store refused for good (a value it cannot hold), kept in {@code rejected.jsonl}
     *                   beside the spill directory and logged; the records after them were written
     * @param storeUp    whether the last store call succeeded (true before the first)
     * @param lastError  the last store error, one line; null when there was none
     * @param since      when the store went up or down last (the start, until then)
     */
    public record Stats(int queued, long written, long spilled, long spillBytes, long replayed, long dropped,
                        boolean storeUp, String lastError, Instant since, long rejected) {

        /** One line of JSON (the control socket's answer). */
        public String toJson() {
            try {
                return RecordCodec.JSON.writeValueAsString(this);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The stats {@link #toJson} wrote; IllegalArgumentException when {@code json} is not that. */
        public static Stats fromJson(String json) {
            try {
                return RecordCodec.JSON.readValue(json, Stats.class);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("not audit stats: " + Spill.oneLine(e.getOriginalMessage()), e);
            }
        }
    }

    private final AuditStore store;
    /** The store as the writer uses it: refused records are set aside, not retried for ever. */
    private final Quarantine quarantine;
    private final Spill spill;
    private final Options options;
    private final Clock clock;
    private final int highWater;
    private final LinkedBlockingQueue<AuditRecord> queue;
    private final ExecutorService storeThread;
    private final Thread writerThread;
    private final AtomicBoolean closed = new AtomicBoolean();

    private final LongAdder droppedQueueFull = new LongAdder();
    private final AtomicLong droppedSpillFull = new AtomicLong();
    private final AtomicLong unreadable = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong spilled = new AtomicLong();
    private final AtomicLong replayed = new AtomicLong();
    private volatile boolean storeUp = true;
    /**
     * Records the spill could not take (its disk full), oldest first, at most {@code queueSize}; after the spill's,
     * before the queue's. Used by the writer thread (and by close once it has ended); a blocking deque for its bound
     * and its size, which {@link #stats} reads from any thread.
     */
    private final LinkedBlockingDeque<AuditRecord> unspilled;
    private long unspilledRetryAt; // nanoTime; meaningful while unspilled is not empty
    private volatile String lastError;
    private volatile Instant since;

    // writer thread only
    private volatile boolean stopping;
    private volatile long closeDeadline;
    private long retryAt; // nanoTime; meaningful while the store is down
    private Duration backoff;
    private long nextPrune; // nanoTime
    private Instant pruneCutoff; // non-null while a pruning round is under way
    private long prunedThisRound;
    private boolean pruneTurn;
    private long loggedDrops;
    private long lastDropLog;
    private long lastFailureLog;

    private AuditWriter(Quarantine store, Spill spill, Options options) {
        this.store = store;
        this.quarantine = store;
        this.spill = spill;
        this.options = options;
        this.clock = options.clock();
        this.highWater = Math.max(1, options.queueSize() / 2);
        this.queue = new LinkedBlockingQueue<>(options.queueSize());
        this.unspilled = new LinkedBlockingDeque<>(options.queueSize());
        this.since = clock.instant();
        this.backoff = options.retryFirst();
        long now = System.nanoTime();
        this.nextPrune = now + Math.min(Duration.ofMinutes(1).toNanos(), options.pruneEvery().toNanos());
        this.lastDropLog = now - DROP_LOG_NANOS;
        this.lastFailureLog = now - DROP_LOG_NANOS;
        this.storeThread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("audit-store")
                .daemon(true).unstarted(r));
        this.writerThread = Thread.ofPlatform().name("audit-writer").daemon(true).unstarted(this::run);
        if (spill.tornAtOpen() > 0) unreadable.addAndGet(spill.tornAtOpen());
    }

    /**
     * Opens the spill in {@code spillDir} (created durably when missing; a spill left by an earlier run is replayed
     * first) and starts the writer. The writer owns {@code store} from now on and closes it in {@link #close}.
     */
    public static AuditWriter start(AuditStore store, Path spillDir, Options options) throws IOException {
        return start(store, spillDir, options, DurableFiles.SYSTEM);
    }

    static AuditWriter start(AuditStore store, Path spillDir, Options options, DurableFiles files) throws IOException {
        Spill spill = Spill.open(spillDir, options.spillMax(), files);
        if (spill.pending()) {
            log.info("audit: {} bytes of spilled records from an earlier run to replay", spill.pendingBytes());
        }
        // beside the spill directory, not in it: the spill directory holds only what is to be replayed
        Quarantine quarantine = new Quarantine(store, spillDir.resolveSibling(Quarantine.FILE), files);
        AuditWriter w = new AuditWriter(quarantine, spill, options);
        w.writerThread.start();
        return w;
    }

    /** Never blocks, never throws: a full queue (or a closed writer) drops the record and counts it. */
    @Override public void record(AuditRecord record) {
        if (record == null) return;
        if (closed.get() || !queue.offer(record)) droppedQueueFull.increment();
    }

    public Stats stats() {
        return new Stats(queue.size() + unspilled.size(), written.get(), spilled.get(), spill.size(), replayed.get(),
                dropped(), storeUp, lastError, since, quarantine.rejected());
    }

    private long dropped() {
        return droppedQueueFull.sum() + droppedSpillFull.get() + unreadable.get();
    }

    /**
     * Writes what is queued (for at most {@code closeTimeout}; what is left then goes to the spill, fsynced), stops
     * the writer and closes the store.
     */
    @Override public void close() {
        if (!closed.compareAndSet(false, true)) return;
        closeDeadline = System.nanoTime() + options.closeTimeout().toNanos();
        stopping = true;
        boolean ended = false;
        try {
            writerThread.join(options.closeTimeout().plusSeconds(5));
            ended = !writerThread.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (ended) {
            spillQueued(); // anything recorded while the writer finished; it has ended, so the spill is ours
            if (!unspilled.isEmpty()) {
                droppedSpillFull.addAndGet(unspilled.size());
                log.error("audit: the spill still cannot be written; {} records held in memory are lost",
                        unspilled.size());
            }
        } else {
            log.error("audit: the writer did not stop within {}; {} queued records are lost", options.closeTimeout(),
                    queue.size());
        }
        logDrops(true);
        storeThread.shutdownNow();
        try {
            if (!storeThread.awaitTermination(1, TimeUnit.SECONDS)) log.warn("audit: a store call is still running");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            spill.close();
        } catch (IOException e) {
            log.warn("audit: closing the spill: {}", e.getMessage());
        }
        store.close();
        log.info("audit: stopped; {}", summary());
    }

    private String summary() {
        Stats s = stats();
        return s.written() + " written, " + s.spilled() + " spilled, " + s.replayed() + " replayed, " + s.dropped()
                + " dropped, spill " + s.spillBytes() + " bytes";
    }

    // ---- the writer thread

    private void run() {
        while (true) {
            try {
                if (!step()) return;
            } catch (Throwable t) {
                // the writer must outlive any surprise (a disk error reading the spill); records wait in the queue,
                // or are counted when it fills. At close, close() spills what is left itself.
                if (stopping) return;
                long now = System.nanoTime();
                if (now - lastFailureLog >= DROP_LOG_NANOS) {
                    log.error("audit writer: {}", t.toString(), t);
                    lastFailureLog = now;
                }
                sleep(IDLE_POLL_MILLIS);
            }
        }
    }

    /** One round of work; false when the writer is done. */
    private boolean step() throws InterruptedException, IOException {
        logDrops(false);
        if (stopping) return stopStep();
        if (!unspilled.isEmpty()) {
            unspilledStep();
            return true;
        }
        if (spill.pending()) {
            replayStep();
            return true;
        }
        if (pruneCutoff == null && storeUp && System.nanoTime() - nextPrune >= 0) startPrune();
        if (pruneCutoff != null && (pruneTurn || queue.isEmpty())) {
            pruneStep();
            pruneTurn = false;
            return true;
        }
        List<AuditRecord> batch = takeBatch(waitMillis());
        if (batch.isEmpty()) return true;
        linger(batch);
        pruneTurn = true;
        if (!storeUp && System.nanoTime() - retryAt < 0) {
            toSpill(batch); // down and not yet due: spill keeps records through a crash, memory does not
            return true;
        }
        writeFromMemory(batch);
        return true;
    }

    /** While stopping: write what is queued directly if the store is fine, else spill it. */
    private boolean stopStep() throws InterruptedException, IOException {
        if (spill.pending() || !unspilled.isEmpty() || !storeUp || System.nanoTime() - closeDeadline >= 0) {
            spillQueued();
            return false;
        }
        List<AuditRecord> batch = takeBatch(0);
        if (batch.isEmpty()) return false;
        writeFromMemory(batch);
        return true;
    }

    /** One store write of {@code records} (see {@link #call}; {@code memoryBatch} is spilled if it is slow). */
    private Outcome write(List<AuditRecord> records, List<AuditRecord> memoryBatch)
            throws InterruptedException, IOException {
        return call(() -> {
            store.write(records);
            return records.size();
        }, memoryBatch);
    }

    private void writeFromMemory(List<AuditRecord> batch) throws InterruptedException, IOException {
        Outcome o = write(batch, batch);
        if (o.ok()) {
            written.addAndGet(batch.size());
            // a slow write that ended well: its records were spilled meanwhile, and need no replay
            if (o.spilled() != null && spill.position() == o.spilled().start()) spill.advance(o.spilled().end());
            clearSpillIfDone();
        } else if (o.spilled() == null) {
            toSpill(batch);
        } // else: the batch is already at the head of the spill, replayed when the store is back
    }

    private void replayStep() throws InterruptedException, IOException {
        if (!storeUp && System.nanoTime() - retryAt < 0) {
            // down: new records go after the spilled ones, promptly, so that a crash keeps them
            List<AuditRecord> batch = takeBatchUntil(retryAt);
            if (!batch.isEmpty()) toSpill(batch);
            return;
        }
        if (queue.size() > highWater) spillQueued();
        Spill.Batch b = spill.read(options.batchSize(), 4 << 20);
        if (b.records().isEmpty()) {
            unreadable.addAndGet(b.unreadable());
            spill.advance(b.end());
            clearSpillIfDone();
            return;
        }
        Outcome o = write(b.records(), null);
        if (o.ok()) {
            spill.advance(b.end());
            replayed.addAndGet(b.records().size());
            unreadable.addAndGet(b.unreadable()); // counted once, when passed for good
            clearSpillIfDone();
        }
    }

    /**
     * Records wait in memory because the spill could not take them: gathers new ones behind them until the next try,
     * then hands them to the store if nothing waits in the spill and the store answers, else to the spill.
     */
    private void unspilledStep() throws InterruptedException, IOException {
        if (unspilledRetryAt - System.nanoTime() > 0) {
            hold(takeBatchUntil(unspilledRetryAt));
            return;
        }
        if (!spill.pending() && (storeUp || System.nanoTime() - retryAt >= 0)) {
            List<AuditRecord> held = new ArrayList<>(unspilled.stream().limit(options.batchSize()).toList());
            Outcome o = write(held, null);
            if (o.ok()) {
                written.addAndGet(held.size());
                // a stop may have moved them to the spill while the store was writing (flushUnspilled): remove only
                // what is still at the front, the same records
                for (AuditRecord r : held) {
                    if (unspilled.peekFirst() != r) break;
                    unspilled.removeFirst();
                }
                return;
            }
        }
        flushUnspilled();
    }

    /** Tries to append the records held in memory to the spill; on failure tries again in a second. */
    private void flushUnspilled() {
        if (unspilled.isEmpty()) return;
        List<AuditRecord> held = new ArrayList<>(unspilled);
        try {
            Spill.Appended a = spill.append(held);
            spilled.addAndGet(a.kept());
            droppedSpillFull.addAndGet(held.size() - a.kept()); // past the spill's maximum: counted, logged
            unspilled.clear();
            log.info("audit: the spill takes records again; {} held in memory are in it", a.kept());
        } catch (IOException | UncheckedIOException e) {
            unspilledRetryAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        }
    }

    /** Keeps records in memory behind those already held, up to {@code queueSize}; the rest is counted dropped. */
    private void hold(List<AuditRecord> batch) {
        for (AuditRecord r : batch) {
            if (!unspilled.offerLast(r)) droppedSpillFull.incrementAndGet();
        }
    }

    private void clearSpillIfDone() throws IOException {
        if (spill.pending() || spill.size() == 0) return;
        long n = replayed.get();
        spill.clear();
        log.info("audit: the spill is replayed ({} records from the spill in all); writing directly again", n);
    }

    private void startPrune() {
        nextPrune = System.nanoTime() + options.pruneEvery().toNanos();
        pruneCutoff = clock.instant().minus(options.retention());
        prunedThisRound = 0;
    }

    /** One bounded prune call; the round ends when a call finds fewer than 1000 records to delete. */
    private void pruneStep() throws InterruptedException, IOException {
        Instant cutoff = pruneCutoff;
        Outcome o = call(() -> store.prune(cutoff, PRUNE_LIMIT), null);
        if (!o.ok()) {
            pruneCutoff = null; // tried again at the next round
            return;
        }
        prunedThisRound += o.value();
        if (o.value() < PRUNE_LIMIT) {
            pruneCutoff = null;
            if (prunedThisRound > 0) {
                log.info("audit: pruned {} records made before {}", prunedThisRound, cutoff);
            }
        }
    }

    static final int PRUNE_LIMIT = 1000;

    /** How a store call went; {@code spilled}: where its memory batch went in the spill while it was slow. */
    private record Outcome(boolean ok, int value, Spill.Appended spilled) { }

    /**
     * Runs one store call on the store thread and waits for it. While it is pending past {@code slowWrite}, or the
     * queue passes half full, or close's deadline passed, the batch it carries (when it comes from memory) and then
     * everything queued go to the spill, so a hung store never holds records in memory.
     */
    private Outcome call(Callable<Integer> op, List<AuditRecord> memoryBatch)
            throws InterruptedException, IOException {
        Future<Integer> f = storeThread.submit(op);
        long start = System.nanoTime();
        Spill.Appended spilledBatch = null;
        while (true) {
            try {
                int value = f.get(PENDING_POLL_MILLIS, TimeUnit.MILLISECONDS);
                up(start);
                return new Outcome(true, value, spilledBatch);
            } catch (ExecutionException e) {
                down(e.getCause());
                return new Outcome(false, 0, spilledBatch);
            } catch (TimeoutException e) {
                long now = System.nanoTime();
                boolean past = stopping && now - closeDeadline >= 0;
                if (now - start > options.slowWrite().toNanos() || queue.size() > highWater || past) {
                    if (memoryBatch != null && spilledBatch == null) {
                        spilledBatch = toSpill(memoryBatch);
                        if (spilledBatch.kept() < memoryBatch.size()) {
                            // not all of it fits: the rest was counted as dropped, so do not skip it if written
                            spilledBatch = new Spill.Appended(0, -1, -1);
                        }
                    }
                    spillQueued();
                    logDrops(false);
                    if (past) {
                        f.cancel(true);
                        return new Outcome(false, 0, spilledBatch);
                    }
                }
            }
        }
    }

    private void up(long startNanos) {
        if (!storeUp) {
            storeUp = true;
            since = clock.instant();
            log.info("audit: the store answers again{}", spill.pending()
                    ? "; replaying " + spill.pendingBytes() + " bytes of spilled records" : "");
        }
        backoff = options.retryFirst();
        long took = System.nanoTime() - startNanos;
        if (took > options.slowWrite().toNanos()) {
            log.warn("audit: a store call took {} ms", TimeUnit.NANOSECONDS.toMillis(took));
        }
    }

    private void down(Throwable cause) {
        String error = Spill.oneLine(cause instanceof AuditStore.AuditStoreException ? cause.getMessage()
                : cause.toString());
        lastError = error;
        retryAt = System.nanoTime() + backoff.toNanos();
        if (storeUp) {
            storeUp = false;
            since = clock.instant();
            log.warn("audit: the store failed, records go to the spill until it answers (next try in {} s): {}",
                    backoff.toSeconds(), error);
        } else {
            log.debug("audit: the store still fails (next try in {} ms): {}", backoff.toMillis(), error);
        }
        Duration doubled = backoff.multipliedBy(2);
        backoff = doubled.compareTo(options.retryMax()) > 0 ? options.retryMax() : doubled;
    }

    /**
     * Appends to the spill, counting what did not fit as dropped. A spill that cannot be written (a full disk) keeps
     * the batch in memory ({@link #hold}), as it does every batch after it until the spill takes them.
     */
    private Spill.Appended toSpill(List<AuditRecord> batch) {
        if (!unspilled.isEmpty()) {
            hold(batch);
            return new Spill.Appended(0, -1, -1);
        }
        try {
            Spill.Appended a = spill.append(batch);
            spilled.addAndGet(a.kept());
            if (a.kept() < batch.size()) droppedSpillFull.addAndGet(batch.size() - a.kept());
            return a;
        } catch (IOException | UncheckedIOException e) {
            log.error("audit: cannot write the spill ({}); {} records wait in memory, up to {}, until it can",
                    e.getMessage(), batch.size(), options.queueSize());
            unspilledRetryAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            hold(batch);
            return new Spill.Appended(0, -1, -1);
        }
    }

    /** Moves everything queued now to the spill, a batch (one fsync) at a time. */
    private void spillQueued() {
        if (stopping) flushUnspilled(); // a last try for what waits in memory
        while (true) {
            List<AuditRecord> batch = new ArrayList<>();
            queue.drainTo(batch, Math.max(options.batchSize(), 1000));
            if (batch.isEmpty()) return;
            toSpill(batch);
        }
    }

    /** Up to a batch of queued records, waiting for the first until {@code due} (nanoTime), at most an idle poll. */
    private List<AuditRecord> takeBatchUntil(long due) throws InterruptedException {
        long left = TimeUnit.NANOSECONDS.toMillis(due - System.nanoTime());
        return takeBatch(Math.max(1, Math.min(IDLE_POLL_MILLIS, left)));
    }

    /** Up to a batch of queued records, waiting at most {@code waitMillis} for the first. */
    private List<AuditRecord> takeBatch(long waitMillis) throws InterruptedException {
        List<AuditRecord> batch = new ArrayList<>();
        AuditRecord first = waitMillis > 0 ? queue.poll(waitMillis, TimeUnit.MILLISECONDS) : queue.poll();
        if (first == null) return batch;
        batch.add(first);
        queue.drainTo(batch, options.batchSize() - 1);
        return batch;
    }

    /**
     * Adds what arrives within {@code options.linger} of now (the first record's arrival) to {@code batch}, until it
     * is full; stops early when the writer is closing, or the queue passes its high-water mark (the store is then
     * behind, and the next round spills).
     */
    private void linger(List<AuditRecord> batch) throws InterruptedException {
        long end = System.nanoTime() + options.linger().toNanos();
        while (batch.size() < options.batchSize() && !stopping && queue.size() <= highWater) {
            long left = end - System.nanoTime();
            if (left <= 0) return;
            AuditRecord next = queue.poll(left, TimeUnit.NANOSECONDS);
            if (next == null) return;
            batch.add(next);
            queue.drainTo(batch, options.batchSize() - batch.size());
        }
    }

    private long waitMillis() {
        long untilPrune = TimeUnit.NANOSECONDS.toMillis(nextPrune - System.nanoTime());
        return Math.max(1, Math.min(IDLE_POLL_MILLIS, untilPrune));
    }

    /** At most one line per 10 s with the records dropped since the last line; {@code force} at close. */
    private void logDrops(boolean force) {
        long total = dropped();
        if (total == loggedDrops) return;
        long now = System.nanoTime();
        if (!force && now - lastDropLog < DROP_LOG_NANOS) return;
        log.warn("audit: {} records dropped since the last report ({} in all: {} with the queue full or after close,"
                        + " {} with the spill full or failing, {} unreadable in the spill)", total - loggedDrops, total,
                droppedQueueFull.sum(), droppedSpillFull.get(), unreadable.get());
        loggedDrops = total;
        lastDropLog = now;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
