package dev.postern.audit;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * An {@link AuditStore} in memory that stands in for the database (not for the network): it keeps every record it is
 * given, duplicates included (so a test sees a record written twice), and can be told to fail, to be slow, or to hang
 * until released.
 */
final class MemoryStore implements AuditStore {
    private final List<AuditRecord> records = new ArrayList<>();
    volatile boolean failing;
    volatile long delayMillis;
    volatile CountDownLatch hang; // non-null: each write waits for it
    final AtomicInteger writeCalls = new AtomicInteger();
    final List<Long> writeTimes = new ArrayList<>(); // nanoTime of each call, failed ones too
    final List<Instant> pruneCutoffs = new ArrayList<>();
    final List<Integer> pruneLimits = new ArrayList<>();
    final List<Long> pruneTimes = new ArrayList<>();
    volatile IntSupplier pruneResult = () -> 0;
    volatile long pruneDelayMillis;
    volatile boolean closed;

    @Override public void write(List<AuditRecord> batch) throws AuditStoreException {
        writeCalls.incrementAndGet();
        synchronized (this) {
            writeTimes.add(System.nanoTime());
        }
        pause(delayMillis);
        CountDownLatch h = hang;
        if (h != null) {
            try {
                h.await();
            } catch (InterruptedException e) {
                throw new AuditStoreException("interrupted", e);
            }
        }
        if (failing) throw new AuditStoreException("connection refused (test store down)", null);
        synchronized (this) {
            records.addAll(batch);
        }
    }

    @Override public int prune(Instant cutoff, int limit) throws AuditStoreException {
        synchronized (this) {
            pruneCutoffs.add(cutoff);
            pruneLimits.add(limit);
            pruneTimes.add(System.nanoTime());
        }
        pause(pruneDelayMillis);
        if (failing) throw new AuditStoreException("connection refused (test store down)", null);
        return pruneResult.getAsInt();
    }

    @Override public void close() { closed = true; }

    synchronized List<AuditRecord> records() { return List.copyOf(records); }

    synchronized int size() { return records.size(); }

    /** The sequence numbers of the stored records ({@link #record}'s target), in store order. */
    synchronized List<Integer> sequence() {
        return records.stream().map(r -> Integer.parseInt(((AdminRecord) r).target())).toList();
    }

    synchronized List<Long> writeTimes() { return List.copyOf(writeTimes); }

    /** A small record carrying sequence number {@code n}. */
    static AdminRecord record(int n) {
        return new AdminRecord(Instant.ofEpochSecond(1_700_000_000L, n), "test", AdminRecord.Action.QUEUE_HOLD,
                Integer.toString(n), "record " + n);
    }

    private static void pause(long millis) {
        if (millis <= 0) return;
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
