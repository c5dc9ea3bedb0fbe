package dev.postern.queue;

import dev.postern.files.DurableFiles;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue on disk. Layout under the queue directory:
 * {@code incoming/} (content and envelope being written), {@code messages/ID.eml} (committed content),
 * {@code active/ID.env}, {@code deferred/ID.env}, {@code hold/ID.env} (envelope; the directory is the state).
 * A message exists once its envelope has been renamed into {@code active/} and the directory fsynced; that is the
 * moment DATA may be answered with 250. Concurrent commits share directory fsyncs (group commit), and so do removals
 * of delivered messages, which the delivering thread does not wait for (see {@link GroupCommitter}).
 * Envelopes recovery cannot read are moved, with their content, to {@code corrupt/} for an administrator.
 */
public final class Spool implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);

    static final String CONTENT_SUFFIX = ".eml";
    static final String ENVELOPE_SUFFIX = ".env";
    private static final int BODY_BUFFER = 64 * 1024;

    private final Path dir;
    private final Path incoming;
    private final Path messages;
    private final Path corrupt;
    private final Map<QueueState, Path> stateDirs = new EnumMap<>(QueueState.class);
    private final GroupCommitter committer;
    private final DurableFiles files;
    /** The spool's file system, looked up at the first {@link #usableSpace} (statvfs on each call after that). */
    private volatile FileStore store;
    private final ReentrantLock[] idLocks = new ReentrantLock[64]; // serialise update/delete per message
    private final Set<String> removing = ConcurrentHashMap.newKeySet(); // removal queued, envelopes maybe still there
    private volatile boolean closed;

    /** Writes an envelope file durably; a seam so that tests can fail a write halfway, as a full disk does. */
    interface EnvelopeWriter {
        void write(Path file, byte[] bytes) throws IOException;
    }

    /** Test hook: how envelopes are written. */
    volatile EnvelopeWriter envelopeWriter;
    /** Test hook: wraps the stream each received message's content goes to (a test makes it fail as ENOSPC would). */
    volatile UnaryOperator<OutputStream> contentStream = UnaryOperator.identity();

    private Spool(Path dir, DurableFiles files) {
        this.dir = dir;
        this.files = files;
        this.envelopeWriter = files::writeNew;
        this.incoming = dir.resolve("incoming");
        this.messages = dir.resolve("messages");
        this.corrupt = dir.resolve("corrupt");
        for (QueueState s : QueueState.values()) {
            stateDirs.put(s, dir.resolve(s.name().toLowerCase(Locale.ROOT)));
        }
        for (int i = 0; i < idLocks.length; i++) idLocks[i] = new ReentrantLock();
        this.committer = new GroupCommitter(files, messages, stateDirs.get(QueueState.ACTIVE),
                new GroupCommitter.Remover() {
                    @Override public Set<Path> unlinkEnvelopes(String id) throws IOException {
                        return Spool.this.unlinkEnvelopes(id);
                    }

                    @Override public void unlinkContent(String id) throws IOException {
                        files.delete(contentPath(id));
                    }
                });
    }

    /** Opens (creating if needed) the spool under {@code dir}. */
    public static Spool open(Path dir) throws IOException {
        return open(dir, DurableFiles.SYSTEM);
    }

    /** Opens the spool writing through {@code files} (tests observe the fsyncs with it). */
    static Spool open(Path dir, DurableFiles files) throws IOException {
        var spool = new Spool(dir.toAbsolutePath(), files);
        spool.createLayout();
        spool.committer.start();
        return spool;
    }

    private void createLayout() throws IOException {
        List<Path> all = new ArrayList<>(List.of(incoming, messages, corrupt));
        all.addAll(stateDirs.values());
        files.createDirectories(all.toArray(Path[]::new)); // 0700, each new one's parent fsynced
    }

    /**
     * Crash recovery, run once at start before anything else: deletes everything in incoming/, content with no
     * envelope, and older duplicate envelopes; returns the envelopes of all messages in every state.
     * An envelope that cannot be read, or whose content is missing, is moved to corrupt/ with its content and
     * logged. If an id has envelopes of equal version in two states, hold wins over deferred over active.
     */
    public List<Entry> recover() throws IOException {
        Set<Path> touched = new LinkedHashSet<>();
        int partial = deleteContents(incoming);
        if (partial > 0) touched.add(incoming);

        Map<String, Entry> winners = new HashMap<>();
        Set<String> corruptIds = new HashSet<>();
        int corruptCount = 0;
        for (QueueState state : QueueState.values()) {
            Path stateDir = stateDirs.get(state);
            for (Path file : listFiles(stateDir)) {
                String id = idOf(file, ENVELOPE_SUFFIX);
                Envelope env;
                try {
                    if (id == null) throw new EnvelopeCodec.CorruptEnvelopeException("not a queue envelope name");
                    env = EnvelopeCodec.decode(Files.readAllBytes(file));
                    if (!env.id().equals(id)) {
                        throw new EnvelopeCodec.CorruptEnvelopeException("contains id " + env.id());
                    }
                } catch (EnvelopeCodec.CorruptEnvelopeException e) {
                    log.warn("corrupt envelope {} moved to {}: {}", file, corrupt, e.getMessage());
                    moveToCorrupt(file, state);
                    touched.add(stateDir);
                    corruptCount++;
                    if (id != null) corruptIds.add(id);
                    continue;
                }
                Entry mine = new Entry(env, state);
                Entry other = winners.get(id);
                Entry loser = mine;
                if (other == null || newer(mine, other)) {
                    winners.put(id, mine);
                    loser = other;
                }
                if (loser != null) {
                    Path stale = envelopePath(loser.envelope().id(), loser.state());
                    log.info("recovery: removing superseded envelope {} (version {})", stale,
                            loser.envelope().version());
                    Files.deleteIfExists(stale);
                    touched.add(stale.getParent());
                }
            }
        }

        for (Entry e : List.copyOf(winners.values())) {
            String id = e.envelope().id();
            if (!Files.exists(contentPath(id))) {
                log.error("envelope {} has no content; moved to {}", envelopePath(id, e.state()), corrupt);
                moveToCorrupt(envelopePath(id, e.state()), e.state());
                touched.add(stateDirs.get(e.state()));
                winners.remove(id);
                corruptCount++;
            }
        }

        int orphans = 0;
        for (Path file : listFiles(messages)) {
            String id = idOf(file, CONTENT_SUFFIX);
            if (id == null || winners.containsKey(id)) continue;
            if (corruptIds.contains(id)) {
                moveToCorrupt(file, null); // keep the content next to its unreadable envelope
            } else {
                Files.deleteIfExists(file);
                orphans++;
            }
            touched.add(messages);
        }
        if (!touched.isEmpty()) touched.add(corrupt);
        for (Path d : touched) files.syncDirectory(d);
        log.info("spool recovered: {} message(s); removed {} incomplete file(s), {} orphaned content file(s), "
                + "{} corrupt envelope(s)", winners.size(), partial, orphans, corruptCount);
        return sorted(winners.values());
    }

    /** Higher version wins; on a tie the more conservative state (hold, then deferred) wins. */
    private static boolean newer(Entry a, Entry b) {
        if (a.envelope().version() != b.envelope().version()) {
            return a.envelope().version() > b.envelope().version();
        }
        return a.state().ordinal() > b.state().ordinal();
    }

    /** Starts receiving a new message with a fresh id. */
    public Incoming receive() throws IOException {
        if (closed) throw new IOException("spool is closed");
        return new IncomingMessage(QueueIds.next());
    }

    /** A message being received. Not thread-safe; one session owns it. */
    public interface Incoming extends Closeable {
        String id();

        /** Where the content goes (buffered, to a file in incoming/). */
        OutputStream body();

        /**
         * Makes the message durable: flushes and fsyncs the content, writes and fsyncs the envelope, renames both
         * into place and fsyncs the directories (shared with concurrent commits). Returns only when the message
         * would survive a crash. The envelope's id must be {@link #id()}.
         */
        void commit(Envelope envelope) throws IOException;

        /** Aborts (deletes the partial files) unless committed. */
        @Override void close();
    }

    private final class IncomingMessage implements Incoming {
        private final String id;
        private final Path contentFile;
        private final Path envelopeFile;
        private final FileChannel channel;
        private final OutputStream body;
        private boolean committed;
        private boolean finished; // committed, failed or closed: no second attempt

        IncomingMessage(String id) throws IOException {
            this.id = id;
            this.contentFile = incoming.resolve(id + CONTENT_SUFFIX);
            this.envelopeFile = incoming.resolve(id + ENVELOPE_SUFFIX);
            this.channel = files.createNew(contentFile);
            // close() from the session must not close the channel: commit still has to force it
            this.body = new BufferedOutputStream(contentStream.apply(Channels.newOutputStream(channel)), BODY_BUFFER) {
                @Override public void close() throws IOException { flush(); }
            };
        }

        @Override public String id() { return id; }

        @Override public OutputStream body() { return body; }

        @Override public void commit(Envelope envelope) throws IOException {
            if (finished) throw new IllegalStateException("message " + id + " already committed or aborted");
            if (!id.equals(envelope.id())) {
                throw new IllegalArgumentException("envelope id " + envelope.id() + " is not " + id);
            }
            finished = true;
            try {
                body.flush();
                // fdatasync is enough: the file is new, so its size and blocks are what must reach the disk with
                // the data, and fdatasync flushes them (see DurableFiles.syncData)
                files.syncData(channel, contentFile);
                channel.close();
                envelopeWriter.write(envelopeFile, EnvelopeCodec.encode(envelope));
                awaitUninterruptibly(committer.submit(id, contentFile, envelopeFile));
                committed = true;
            } finally {
                if (!committed) discard();
            }
        }

        @Override public void close() {
            if (committed) return;
            finished = true;
            discard();
        }

        /** Removes every trace of this message, wherever a failed commit left it. */
        private void discard() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the file is deleted next
            }
            for (Path p : List.of(contentFile, envelopeFile)) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    log.warn("could not delete {}: {}", p, e.toString()); // recovery removes it later
                }
            }
            // Published already (the failure came at the directory fsync): undone in a removal's order, the
            // envelope's unlink durable before the content goes, so a power cut can bring back the message whole or
            // leave an orphan, never an envelope without its content.
            Path published = envelopePath(id, QueueState.ACTIVE);
            try {
                if (files.delete(published)) files.syncDirectory(published.getParent());
                files.delete(contentPath(id));
            } catch (IOException e) {
                log.warn("could not withdraw {} (recovery sorts it out): {}", id, e.toString());
            }
        }
    }

    /** Waits for the committer even if interrupted: the outcome must be known before the caller answers. */
    private static void awaitUninterruptibly(CompletableFuture<Void> done) throws IOException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    done.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof IOException io) throw io;
                    throw new IOException("spool commit failed", e.getCause());
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** A queued message's envelope and state. */
    public record Entry(Envelope envelope, QueueState state) {}

    /** All messages, in id (= arrival) order. Unreadable envelopes are skipped (recovery moves them aside). */
    public List<Entry> list() throws IOException {
        Map<String, Entry> latest = new HashMap<>();
        for (QueueState state : QueueState.values()) {
            for (Path file : listFiles(stateDirs.get(state))) {
                String id = idOf(file, ENVELOPE_SUFFIX);
                if (id == null || removing.contains(id)) continue;
                readEntry(id, state).ifPresent(e -> latest.merge(id, e, (a, b) -> newer(a, b) ? a : b));
            }
        }
        return sorted(latest.values());
    }

    /**
     * How many messages each state holds, and the oldest one's id (ids are time-ordered), from the envelope files'
     * names alone: no envelope is read, so it costs one directory scan per state (metrics read it on every scrape).
     * An id found in two states (a state change under way) counts once, where recovery would put it for envelopes of
     * equal version: hold over deferred over active (the versions are not read).
     *
     * @param counts every state, 0 when empty
     * @param oldest the smallest id per state; a state without messages has none
     */
    public record Census(Map<QueueState, Integer> counts, Map<QueueState, String> oldest) {}

    public Census census() throws IOException {
        Map<String, QueueState> states = new HashMap<>();
        for (QueueState state : QueueState.values()) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(stateDirs.get(state), "*" + ENVELOPE_SUFFIX)) {
                for (Path p : ds) {
                    String id = idOf(p, ENVELOPE_SUFFIX);
                    if (id == null || removing.contains(id)) continue;
                    states.merge(id, state, (a, b) -> a.compareTo(b) > 0 ? a : b);
                }
            }
        }
        Map<QueueState, Integer> counts = new EnumMap<>(QueueState.class);
        Map<QueueState, String> oldest = new EnumMap<>(QueueState.class);
        for (QueueState s : QueueState.values()) counts.put(s, 0);
        states.forEach((id, s) -> {
            counts.merge(s, 1, Integer::sum);
            oldest.merge(s, id, (a, b) -> a.compareTo(b) <= 0 ? a : b);
        });
        return new Census(Map.copyOf(counts), Map.copyOf(oldest));
    }

    /** The message's envelope and state; empty if there is none or {@code id} is not a queue id. */
    public Optional<Entry> find(String id) throws IOException {
        if (!QueueIds.isValid(id) || removing.contains(id)) return Optional.empty();
        Entry best = null;
        for (QueueState state : QueueState.values()) {
            Optional<Entry> e = readEntry(id, state);
            if (e.isPresent() && (best == null || newer(e.get(), best))) best = e.get();
        }
        return Optional.ofNullable(best);
    }

    /** Reads one envelope file; empty if it vanished meanwhile or cannot be read. */
    private Optional<Entry> readEntry(String id, QueueState state) throws IOException {
        Path file = envelopePath(id, state);
        try {
            Envelope env = EnvelopeCodec.decode(Files.readAllBytes(file));
            if (!env.id().equals(id)) throw new EnvelopeCodec.CorruptEnvelopeException("contains id " + env.id());
            return Optional.of(new Entry(env, state));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // moved or deleted while we looked
        } catch (EnvelopeCodec.CorruptEnvelopeException e) {
            log.warn("skipping unreadable envelope {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }

    /** The committed content, as received (including the Received header the gateway added). */
    public InputStream openContent(String id) throws IOException {
        return Files.newInputStream(contentPath(requireId(id)));
    }

    /**
     * Writes a new version of the envelope (version + 1) into {@code state}, durably, removing the old one.
     * The new version is one above the highest of the given envelope and what is on disk, so a stale copy still
     * supersedes. Returns the envelope as written. Throws {@link NoSuchFileException} if the message is gone.
     */
    public Envelope update(Envelope envelope, QueueState state) throws IOException {
        String id = requireId(envelope.id());
        ReentrantLock lock = lockFor(id);
        lock.lock();
        try {
            if (removing.contains(id)) throw new NoSuchFileException(id, null, "message is being removed");
            long onDisk = Long.MIN_VALUE;
            List<QueueState> present = new ArrayList<>();
            for (QueueState s : QueueState.values()) {
                if (Files.exists(envelopePath(id, s))) {
                    present.add(s);
                    Optional<Entry> e = readEntry(id, s);
                    if (e.isPresent()) onDisk = Math.max(onDisk, e.get().envelope().version());
                }
            }
            if (present.isEmpty()) throw new NoSuchFileException(id, null, "no such message in the queue");
            long base = Math.max(envelope.version(), onDisk);
            Envelope next = envelope.withVersion(base == Long.MAX_VALUE ? base : base + 1);

            Path tmp = incoming.resolve(id + "." + next.version() + ".update");
            Path target = envelopePath(id, state);
            try {
                envelopeWriter.write(tmp, EnvelopeCodec.encode(next));
                files.rename(tmp, target);
            } catch (IOException e) {
                // A half-written temporary must not stay behind: recovery clears incoming/ only at the next start.
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException notDeleted) {
                    e.addSuppressed(notDeleted);
                }
                throw e;
            }
            files.syncDirectory(target.getParent()); // the new version is durable before the old one goes
            // The old version's unlink is made durable too, though the higher version would win in recovery: a later
            // removal fsyncs only the directory of the envelope it unlinks before it unlinks the content, and an old
            // version that came back after that would be an envelope without content.
            for (QueueState s : present) {
                if (s != state && files.delete(envelopePath(id, s))) files.syncDirectory(stateDirs.get(s));
            }
            return next;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes a message (content and envelope), durably: returns once its envelopes' removal would survive a crash.
     * Removing a message that is not there does nothing.
     */
    public void delete(String id) throws IOException {
        awaitUninterruptibly(remove(id));
    }

    /**
     * Queues the removal of a delivered message and returns at once; the future completes when the removal is
     * durable. From now on the spool no longer lists, finds or updates it. A crash before the removal is durable
     * brings the message back whole, and it is delivered again (RFC 5321 §6.1 allows the duplicate); never an
     * envelope without its content. After {@link #close} the removal is done at once.
     */
    public CompletableFuture<Void> remove(String id) {
        requireId(id);
        removing.add(id);
        try {
            CompletableFuture<Void> done = committer.remove(id);
            // A batch that failed before the unlink (an Error in the committer) leaves the envelopes on disk: the
            // spool shows the message again rather than hiding it until a restart.
            done.whenComplete((ok, e) -> {
                if (e != null) removing.remove(id);
            });
            return done;
        } catch (IOException closedSpool) {
            try {
                for (Path d : unlinkEnvelopes(id)) files.syncDirectory(d);
                files.delete(contentPath(id));
                return CompletableFuture.completedFuture(null);
            } catch (IOException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
    }

    /** Unlinks every envelope of {@code id} (content stays); returns the directories to fsync. */
    private Set<Path> unlinkEnvelopes(String id) throws IOException {
        ReentrantLock lock = lockFor(id);
        lock.lock();
        try {
            Set<Path> dirs = new LinkedHashSet<>();
            for (QueueState s : QueueState.values()) {
                if (files.delete(envelopePath(id, s))) dirs.add(stateDirs.get(s));
            }
            return dirs;
        } finally {
            removing.remove(id); // no envelope left to list or update (a failed unlink leaves it listed)
            lock.unlock();
        }
    }

    /** Usable bytes left on the spool's filesystem (the inbound side answers 452 4.3.1 when low). */
    public long usableSpace() throws IOException {
        FileStore fs = store;
        // Files.getFileStore reads the mount table on every call (a quarter of MAIL's CPU): look it up once.
        if (fs == null) store = fs = Files.getFileStore(dir);
        return fs.getUsableSpace();
    }

    /** Publishes commits already handed over, then refuses new ones. Reading and updating keep working. */
    @Override public void close() {
        closed = true;
        committer.stop();
    }

    /** Directory-fsync batches of the group committer so far (for tests: fewer than jobs when shared). */
    long commitBatches() { return committer.batches(); }

    GroupCommitter committer() { return committer; }

    Path directory(QueueState state) { return stateDirs.get(state); }

    Path envelopePath(String id, QueueState state) { return stateDirs.get(state).resolve(id + ENVELOPE_SUFFIX); }

    Path contentPath(String id) { return messages.resolve(id + CONTENT_SUFFIX); }

    private ReentrantLock lockFor(String id) { return idLocks[Math.floorMod(id.hashCode(), idLocks.length)]; }

    private static String requireId(String id) {
        if (!QueueIds.isValid(id)) throw new IllegalArgumentException("not a queue id: " + id);
        return id;
    }

    /** The id in a file name like ID.env, or null for anything else. */
    private static String idOf(Path file, String suffix) {
        String name = file.getFileName().toString();
        if (!name.endsWith(suffix)) return null;
        String id = name.substring(0, name.length() - suffix.length());
        return QueueIds.isValid(id) ? id : null;
    }

    private static List<Path> listFiles(Path d) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
            for (Path p : ds) {
                if (Files.isRegularFile(p)) out.add(p);
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** Deletes everything below {@code d}, keeping {@code d}; returns how many entries were removed. */
    private static int deleteContents(Path d) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
            for (Path p : ds) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) deleteContents(p);
                Files.deleteIfExists(p);
                n++;
            }
        }
        return n;
    }

    /** Moves a file to corrupt/, prefixed with its state, never overwriting an earlier one. */
    private void moveToCorrupt(Path file, QueueState state) throws IOException {
        String base = (state == null ? "" : state.name().toLowerCase(Locale.ROOT) + "-") + file.getFileName();
        Path target = corrupt.resolve(base);
        for (int i = 1; Files.exists(target); i++) {
            target = corrupt.resolve(base + "." + Instant.now().toEpochMilli() + "-" + i);
        }
        files.rename(file, target);
    }

    private static List<Entry> sorted(Collection<Entry> entries) {
        return entries.stream().sorted(Comparator.comparing(e -> e.envelope().id())).toList();
    }
}
