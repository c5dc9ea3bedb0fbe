package dev.postern.testkit;


import dev.postern.audit.Audit;
import dev.postern.audit.AuditRecord;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * An {@link Audit} that keeps every record in memory, in arrival order, for tests to look at: a sink like the real
 * writer (thread-safe, never blocks), not a mock of anything on the network.
 */
public final class RecordingAudit implements Audit {
    private final List<AuditRecord> records = new CopyOnWriteArrayList<>();

    @Override public void record(AuditRecord record) {
        records.add(record);
    }

    /** Every record so far. */
    public List<AuditRecord> all() { return List.copyOf(records); }

    /** The records of one kind so far. */
    public <T extends AuditRecord> List<T> of(Class<T> kind) {
        return records.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    /** The records of one kind that satisfy {@code which}. */
    public <T extends AuditRecord> List<T> of(Class<T> kind, Predicate<T> which) {
        return of(kind).stream().filter(which).toList();
    }

    /** Waits (up to 15 s) for a record of {@code kind} that satisfies {@code which}, and returns the first one. */
    public <T extends AuditRecord> T await(Class<T> kind, Predicate<T> which) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> !of(kind, which).isEmpty());
        return of(kind, which).getFirst();
    }
}
