package dev.postern.queue;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that publishes received messages. Sessions hand over their fsynced files; the committer takes
 * everything queued, renames all contents into messages/, fsyncs it once, renames all envelopes into active/ (the
 * commit point), fsyncs that once, and only then completes the sessions' futures. Content is durable in messages/
 * before any envelope that names it appears in active/, so no crash can leave an envelope without content.
 */
final class GroupCommitter {
    private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

    /** The fsynced files of one message in incoming/, to be published. */
    record Job(String id, Path content, Path envelope, CompletableFuture<Void> done) {}

    private static final Job STOP = new Job("", null, null, null);

    private final DurableFiles files;
    private final Path incoming;
    private final Path messages;
    private final Path active;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final AtomicLong batches = new AtomicLong();
    private final Object submitLock = new Object();
    private final Thread thread;
    private boolean stopped; // guarded by submitLock
    volatile Runnable beforeBatch = () -> {}; // test hook: lets a test pile up jobs deterministically

    GroupCommitter(DurableFiles files, Path incoming, Path messages, Path active) {
        this.files = files;
        this.incoming = incoming;
        this.messages = messages;
        this.active = active;
        this.thread = Thread.ofPlatform().daemon().name("postern-spool-committer").unstarted(this::run);
    }

    void start() { thread.start(); }

    /** Queues a message for publication; the future completes once it is durable, or fails with an IOException. */
    CompletableFuture<Void> submit(String id, Path content, Path envelope) throws IOException {
        var job = new Job(id, content, envelope, new CompletableFuture<>());
        synchronized (submitLock) {
            if (stopped) throw new IOException("spool is closed");
            queue.add(job);
        }
        return job.done();
    }

    /** Jobs waiting for the committer (for tests). */
    int queued() { return queue.size(); }

    /** Batches that fsynced directories so far; fewer than commits when commits were shared. */
    long batches() { return batches.get(); }

    /** Publishes what was submitted before, then stops the thread. */
    void stop() {
        synchronized (submitLock) {
            if (stopped) return;
            stopped = true;
            queue.add(STOP);
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void run() {
        List<Job> batch = new ArrayList<>();
        while (true) {
            Job first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                continue; // only stop() ends the committer, so no submitted job is ever left waiting
            }
            batch.clear();
            batch.add(first);
            boolean stop = false;
            try {
                if (first != STOP) beforeBatch.run();
                queue.drainTo(batch);
                stop = batch.remove(STOP); // STOP is always queued last
                if (!batch.isEmpty()) publish(batch);
            } catch (Throwable t) { // never leave a session waiting forever
                log.error("spool commit batch failed unexpectedly", t);
                var failure = new IOException("spool commit failed: " + t, t);
                batch.stream().filter(j -> j != STOP).forEach(j -> j.done().completeExceptionally(failure));
                stop |= batch.contains(STOP);
            }
            if (stop) return;
        }
    }

    private void publish(List<Job> batch) {
        List<Job> live = new ArrayList<>(batch.size());
        for (Job j : batch) {
            try {
                files.rename(j.content(), messages.resolve(j.id() + Spool.CONTENT_SUFFIX));
                live.add(j);
            } catch (IOException e) {
                j.done().completeExceptionally(e);
            }
        }
        if (!sync(messages, live)) return;
        List<Job> committed = new ArrayList<>(live.size());
        for (Job j : live) {
            try {
                files.rename(j.envelope(), active.resolve(j.id() + Spool.ENVELOPE_SUFFIX));
                committed.add(j);
            } catch (IOException e) {
                j.done().completeExceptionally(e);
            }
        }
        if (!sync(active, committed)) return;
        batches.incrementAndGet();
        try {
            files.syncDirectory(incoming); // only tidiness: recovery empties incoming/ anyway
        } catch (IOException e) {
            log.warn("fsync of {} failed: {}", incoming, e.toString());
        }
        committed.forEach(j -> j.done().complete(null));
    }

    /** fsyncs {@code dir} if any job touched it; on failure fails those jobs and returns false. */
    private boolean sync(Path dir, List<Job> jobs) {
        if (jobs.isEmpty()) return false;
        try {
            files.syncDirectory(dir);
            return true;
        } catch (IOException e) {
            log.error("fsync of {} failed, {} message(s) not accepted", dir, jobs.size(), e);
            var failure = new IOException("fsync of " + dir + " failed: " + e.getMessage(), e);
            jobs.forEach(j -> j.done().completeExceptionally(failure));
            return false;
        }
    }
}
