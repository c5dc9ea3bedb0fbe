package dev.postern.peers;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.postern.audit.RecordCodec;
import dev.postern.files.DurableFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The highest TLS level seen per domain and direction, in memory, persisted to {@code data/peers/levels.json}
 * through {@link DurableFiles} (atomic, fsynced). A rise is written at once (rises are rare); a session that only
 * moves "last seen" marks the file dirty and the flusher writes it within the flush interval, so delivery never waits
 * for an fsync per message. At most {@code maxDomains} domains are kept: past that, the domain seen longest ago goes,
 * plain-only ones (which protect nothing) first. Thread-safe. Domains are in lookup form ({@code Domains.toAscii});
 * this class does not normalise again.
 */
public final class PeerLevels implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(PeerLevels.class);
    private static final int VERSION = 1;

    /** The file, relative to the data directory. */
    public static Path file(Path dataDir) {
        return dataDir.resolve("peers").resolve("levels.json");
    }

    private final Path file;
    private final int maxDomains;
    private final Map<String, DomainLevels> domains = new HashMap<>();
    /** Held while a snapshot is taken and written, so a later snapshot is never overwritten by an earlier one. */
    private final ReentrantLock writing = new ReentrantLock();
    private boolean dirty;
    /** Counted down by {@link #close}; the flusher waits on it (an interrupt would close a file mid-write). */
    private final java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);

    private PeerLevels(Path file, int maxDomains) {
        this.file = file;
        this.maxDomains = maxDomains;
    }

    /**
     * The levels of {@code dataDir}, loaded from its file (none yet: empty), and a flusher writing "last seen" changes
     * every {@code flushInterval}.
     *
     * @throws IOException the file exists but cannot be read as a levels file (the message names it and why)
     */
    public static PeerLevels open(Path dataDir, int maxDomains, Duration flushInterval) throws IOException {
        PeerLevels p = new PeerLevels(file(dataDir), maxDomains);
        for (DomainLevels d : read(dataDir)) p.domains.put(d.domain(), d);
        Thread.ofVirtual().name("peer-levels-flush").start(() -> p.flushEvery(flushInterval));
        return p;
    }

    /**
     * The levels in {@code dataDir}'s file, as a command reads them while a gateway may run (the file is replaced
     * atomically, so a reader sees one whole version); empty when there is no file.
     */
    public static List<DomainLevels> read(Path dataDir) throws IOException {
        Path f = file(dataDir);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return List.of();
        }
        try {
            FileForm form = RecordCodec.mapper().readValue(bytes, FileForm.class);
            if (form.version() != VERSION || form.domains() == null) {
                throw new IOException("expected version " + VERSION + " with domains, got version " + form.version());
            }
            List<DomainLevels> out = new ArrayList<>();
            for (FileEntry e : form.domains()) out.add(e.levels());
            return out;
        } catch (IOException | RuntimeException e) {
            throw new IOException(f + ": not a peer levels file: " + oneLine(e), e);
        }
    }

    /** The level remembered for a domain in one direction. */
    public synchronized Optional<Seen> get(String domain, Direction direction) {
        DomainLevels d = domains.get(domain);
        return Optional.ofNullable(d == null ? null : d.get(direction));
    }

    /** Both directions of a domain, if it was ever seen. */
    public synchronized Optional<DomainLevels> get(String domain) {
        return Optional.ofNullable(domains.get(domain));
    }

    /**
     * Notes a session with {@code domain} that achieved {@code achieved}: a rise is remembered and written before
     * this returns; otherwise only "last seen" moves (written by the flusher). Returns whether the level rose.
     */
    public boolean observe(String domain, Direction direction, Level achieved, Instant at) {
        boolean rose;
        Seen before;
        synchronized (this) {
            DomainLevels d = domains.get(domain);
            before = d == null ? null : d.get(direction);
            Seen after = before == null ? Seen.first(achieved, at) : before.after(achieved, at);
            // a first sighting at plain rises from nothing, but protects nothing: no write needed at once
            rose = before == null ? achieved != Level.PLAIN : after.level() != before.level();
            domains.put(domain, (d == null ? new DomainLevels(domain, null, null) : d).with(direction, after));
            if (d == null) evict();
            dirty = true;
        }
        if (rose) {
            log.atInfo().addKeyValue("domain", domain).addKeyValue("direction", direction.word())
                    .addKeyValue("level", achieved.word())
                    .addKeyValue("was", before == null ? "never seen" : before.level().word()).log("peer level");
            flushQuietly();
        }
        return rose;
    }

    /**
     * Forgets what was seen of {@code domain} in one direction (null: both), written at once. Returns what was
     * forgotten (empty: nothing was remembered).
     */
    public Optional<DomainLevels> forget(String domain, Direction directionOrNull) throws IOException {
        DomainLevels before;
        synchronized (this) {
            before = domains.get(domain);
            if (before == null || directionOrNull != null && before.get(directionOrNull) == null) {
                return Optional.empty();
            }
            DomainLevels after = directionOrNull == null ? null : before.with(directionOrNull, null);
            if (after == null || after.in() == null && after.out() == null) domains.remove(domain);
            else domains.put(domain, after);
            dirty = true;
        }
        flush();
        return Optional.of(before);
    }

    /** Every domain remembered, by name. */
    public synchronized List<DomainLevels> all() {
        return domains.values().stream().sorted(Comparator.comparing(DomainLevels::domain)).toList();
    }

    /** Writes the levels when anything changed since the last write. */
    public void flush() throws IOException {
        writing.lock();
        try {
            FileForm form;
            synchronized (this) {
                if (!dirty) return;
                dirty = false;
                form = new FileForm(VERSION, domains.values().stream()
                        .sorted(Comparator.comparing(DomainLevels::domain)).map(FileEntry::of).toList());
            }
            try {
                DurableFiles.SYSTEM.createDirectories(file.getParent());
                DurableFiles.SYSTEM.write(file, RecordCodec.mapper().writerWithDefaultPrettyPrinter()
                        .writeValueAsBytes(form));
            } catch (IOException e) {
                synchronized (this) {
                    dirty = true; // tried again at the next flush
                }
                throw e;
            }
        } finally {
            writing.unlock();
        }
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (IOException e) {
            log.error("peer levels: cannot write {}: {}; kept in memory, tried again later", file, e.getMessage());
        }
    }

    private void flushEvery(Duration interval) {
        try {
            while (!stop.await(interval.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) flushQuietly();
        } catch (InterruptedException e) {
            // stopped
        }
    }

    /** Past the cap: the domain seen longest ago goes, those that never rose above plain first. */
    private void evict() {
        while (domains.size() > maxDomains) {
            DomainLevels victim = null;
            for (DomainLevels d : domains.values()) {
                if (victim == null || d.plainOnly() && !victim.plainOnly()
                        || d.plainOnly() == victim.plainOnly() && d.lastSeen().isBefore(victim.lastSeen())) {
                    victim = d;
                }
            }
            domains.remove(victim.domain());
        }
    }

    /** Writes what is pending and stops the flusher. */
    @Override public void close() {
        stop.countDown();
        flushQuietly();
    }

    private static String oneLine(Exception e) {
        String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }

    /** The file: a version and one entry per domain. */
    record FileForm(int version, List<FileEntry> domains) {}

    record FileEntry(String domain, FileSeen in, FileSeen out) {
        static FileEntry of(DomainLevels d) {
            return new FileEntry(d.domain(), FileSeen.of(d.in()), FileSeen.of(d.out()));
        }

        DomainLevels levels() {
            if (domain == null || domain.isBlank()) throw new IllegalArgumentException("an entry without a domain");
            return new DomainLevels(domain, in == null ? null : in.seen(domain), out == null ? null : out.seen(domain));
        }
    }

    record FileSeen(String level, Instant since, Instant firstSeen, Instant lastSeen) {
        static FileSeen of(Seen s) {
            return s == null ? null : new FileSeen(s.level().word(), s.since(), s.firstSeen(), s.lastSeen());
        }

        Seen seen(String domain) {
            Level l = level == null ? null : Level.parse(level);
            if (l == null || since == null || firstSeen == null || lastSeen == null) {
                throw new IllegalArgumentException(domain + ": expected level (plain, encrypted, verified or dane), "
                        + "since, firstSeen and lastSeen, got level " + level);
            }
            return new Seen(l, since, firstSeen, lastSeen);
        }
    }
}
