package dev.postern.audit;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a record the store refuses for good (a value it cannot hold, a constraint it breaks) from blocking every
 * record behind it: the writer treats any failed write as "the store is down" and tries the same batch again, in
 * order, for ever. A refused batch is split in halves and each written again (writes are idempotent, so a half that
 * was written before is harmless), down to the single records the store refuses; those go to {@code rejected.jsonl}
 * beside the spill (one JSON line each, fsynced, mode 0600), are counted and logged, and the writer goes on.
 * A store that is down is not refused: its failure passes through and the writer spills as before.
 */
final class Quarantine implements AuditStore {
    private static final Logger log = LoggerFactory.getLogger(Quarantine.class);
    static final String FILE = "rejected.jsonl";

    private final AuditStore store;
    private final Path file;
    private final DurableFiles files;
    private final AtomicLong rejected = new AtomicLong();

    Quarantine(AuditStore store, Path file, DurableFiles files) {
        this.store = store;
        this.file = file;
        this.files = files;
    }

    @Override public void write(List<AuditRecord> batch) throws AuditStoreException {
        try {
            store.write(batch);
        } catch (AuditStoreException e) {
            if (!e.refused()) throw e;
            if (batch.size() == 1) {
                reject(batch.getFirst(), e);
                return;
            }
            int half = batch.size() / 2;
            write(batch.subList(0, half));
            write(batch.subList(half, batch.size()));
        }
    }

    /** Keeps the record where an administrator can look at it; a record that cannot even be kept is logged. */
    private void reject(AuditRecord r, AuditStoreException why) throws AuditStoreException {
        rejected.incrementAndGet();
        String what = r.getClass().getSimpleName() + " of " + r.at();
        try {
            files.append(file, RecordCodec.encode(r));
            log.error("audit: the store refused a {} ({}); kept in {}", what, why.getMessage(), file);
        } catch (IOException | RuntimeException e) {
            // the disk fails too: say so, and let the writer treat it as a failure (it spills and tries again)
            throw new AuditStoreException("audit: cannot keep a refused " + what + " in " + file + ": "
                    + e.getMessage(), e);
        }
    }

    /** Records the store refused and that went to {@link #FILE}. */
    long rejected() { return rejected.get(); }

    @Override public int prune(Instant cutoff, int limit) throws AuditStoreException {
        return store.prune(cutoff, limit);
    }

    @Override public void close() {
        store.close();
    }
}
