package dev.postern.queue;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that publishes received messages and removes delivered ones, a batch at a time. Sessions hand over
 * their fsynced files; the committer takes everything queued, renames all contents into messages/, fsyncs it once,
 * renames all envelopes into active/ (the commit point) and unlinks the envelopes of the messages to remove, fsyncs
 * each touched state directory once, and only then completes the sessions' futures. Content is durable in messages/
 * before any envelope that names it appears in active/, so no crash can leave an envelope without content.
 *
 * <p>A removal unlinks the message's envelopes first and its content only after the state directories are fsynced,
 * without fsyncing messages/: if the crash comes before the unlink of the envelope is durable, the envelope and its
 * content are both still there (the message is delivered again, a duplicate RFC 5321 §6.1 accepts); if it comes
 * after, the content is an orphan that recovery deletes. incoming/ is never fsynced: recovery empties it anyway.
 */
final class GroupCommitter {
    private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

    /** Work for the committer. */
    sealed interface Job permits Publish, Removal, Stop {
        CompletableFuture<Void> done();
    }

    /** The fsynced files of one message in incoming/, to be published. */
    record Publish(String id, Path content, Path envelope, CompletableFuture<Void> done) implements Job {}

    /** A message to remove (delivered, or deleted by an administrator). */
    record Removal(String id, CompletableFuture<Void> done) implements Job {}

    private record Stop(CompletableFuture<Void> done) implements Job {}

    private static final Job STOP = new Stop(new CompletableFuture<>());

    /** How the spool removes one message's files; the spool owns the per-message locks and the layout. */
    interface Remover {
        /** Unlinks every envelope of {@code id}; returns the state directories it unlinked from. */
        Set<Path> unlinkEnvelopes(String id) throws IOException;

        /** Unlinks the content of {@code id} (its envelopes' removal is durable). */
        void unlinkContent(String id) throws IOException;
    }

    private final DurableFiles files;
    private final Path messages;
    private final Path active;
    private final Remover remover;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final AtomicLong batches = new AtomicLong();
    private final Object submitLock = new Object();
    private final Thread thread;
    private boolean stopped; // guarded by submitLock
    volatile Runnable beforeBatch = () -> {}; // test hook: lets a test pile up jobs deterministically
    volatile Runnable beforeContentUnlink = () -> {}; // test hook: a "crash" after the envelopes' unlink is durable

    GroupCommitter(DurableFiles files, Path messages, Path active, Remover remover) {
        this.files = files;
        this.messages = messages;
        this.active = active;
        this.remover = remover;
        this.thread = Thread.ofPlatform().daemon().name("postern-spool-committer").unstarted(this::run);
    }

    void start() { thread.start(); }

    /** Queues a message for publication; the future completes once it is durable, or fails with an IOException. */
    CompletableFuture<Void> submit(String id, Path content, Path envelope) throws IOException {
        return enqueue(new Publish(id, content, envelope, new CompletableFuture<>()));
    }

    /**
     * Queues a message's removal; the future completes once its envelopes' removal is durable (its content is gone
     * too, unless unlinking it failed: recovery removes it then), or fails with an IOException.
     */
    CompletableFuture<Void> remove(String id) throws IOException {
        return enqueue(new Removal(id, new CompletableFuture<>()));
    }

    private CompletableFuture<Void> enqueue(Job job) throws IOException {
        synchronized (submitLock) {
            if (stopped) throw new IOException("spool is closed");
            queue.add(job);
        }
        return job.done();
    }

    /** Jobs waiting for the committer (for tests). */
    int queued() { return queue.size(); }

    /** Batches that fsynced directories so far; fewer than jobs when jobs were shared. */
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
                if (!batch.isEmpty()) commit(batch);
            } catch (Throwable t) { // never leave a session waiting forever
                log.error("spool commit batch failed unexpectedly", t);
                var failure = new IOException("spool commit failed: " + t, t);
                batch.stream().filter(j -> j != STOP).forEach(j -> j.done().completeExceptionally(failure));
                stop |= batch.contains(STOP);
            }
            if (stop) return;
        }
    }

    private void commit(List<Job> batch) {
        List<Publish> publish = new ArrayList<>();
        List<Removal> removals = new ArrayList<>();
        for (Job j : batch) {
            switch (j) {
                case Publish p -> publish.add(p);
                case Removal r -> removals.add(r);
                case Stop ignored -> { }
            }
        }
        List<Publish> live = renameEach(publish, Publish::content,
                j -> messages.resolve(j.id() + Spool.CONTENT_SUFFIX));
        List<Publish> committed = sync(Set.of(messages), live)
                ? renameEach(live, Publish::envelope, j -> active.resolve(j.id() + Spool.ENVELOPE_SUFFIX))
                : List.of();
        Set<Path> touched = new LinkedHashSet<>();
        if (!committed.isEmpty()) touched.add(active);
        List<Removal> unlinked = new ArrayList<>(removals.size());
        for (Removal r : removals) {
            try {
                touched.addAll(remover.unlinkEnvelopes(r.id()));
                unlinked.add(r);
            } catch (IOException e) {
                r.done().completeExceptionally(e);
            }
        }
        List<Job> waiting = new ArrayList<>(committed);
        waiting.addAll(unlinked);
        if (waiting.isEmpty()) return;
        if (!sync(touched, waiting)) return;
        batches.incrementAndGet();
        committed.forEach(j -> j.done().complete(null));
        if (!unlinked.isEmpty()) beforeContentUnlink.run();
        for (Removal r : unlinked) { // only now: an envelope that came back after a crash still finds its content
            try {
                remover.unlinkContent(r.id());
            } catch (IOException e) {
                log.warn("could not remove the content of {} (recovery will): {}", r.id(), e.toString());
            }
            r.done().complete(null);
        }
    }

    /** Renames each job's file; returns the jobs that succeeded, having failed the others. */
    private List<Publish> renameEach(List<Publish> jobs, Function<Publish, Path> from, Function<Publish, Path> to) {
        List<Publish> done = new ArrayList<>(jobs.size());
        for (Publish j : jobs) {
            try {
                files.rename(from.apply(j), to.apply(j));
                done.add(j);
            } catch (IOException e) {
                j.done().completeExceptionally(e);
            }
        }
        return done;
    }

    /** fsyncs each directory; on failure fails the waiting jobs and returns false. */
    private boolean sync(Set<Path> dirs, List<? extends Job> jobs) {
        if (jobs.isEmpty()) return false;
        for (Path dir : dirs) {
            try {
                files.syncDirectory(dir);
            } catch (IOException e) {
                log.error("fsync of {} failed, {} job(s) failed", dir, jobs.size(), e);
                var failure = new IOException("fsync of " + dir + " failed: " + e.getMessage(), e);
                jobs.forEach(j -> j.done().completeExceptionally(failure));
                return false;
            }
        }
        return true;
    }
}
