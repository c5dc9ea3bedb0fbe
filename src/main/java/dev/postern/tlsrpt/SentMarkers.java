package dev.postern.tlsrpt;

import dev.postern.audit.RecordCodec;
import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

/**
 * What was sent of each report, durably, in {@code data/tlsrpt/sent/DAY/}: {@code DOMAIN.json.gz} (the report as
 * made, so a retry sends the same bytes) and {@code DOMAIN.json} (the {@link Marker}: each target's state), both
 * written through {@link DurableFiles} (temporary file, fsync, rename, fsync of the directory) before anything leaves.
 * A report with a marker is never made again; a day whose scheduled run finished has {@code .done}.
 *
 * <p>A target's state is written before each step that sends ({@link State#SUBMITTING} before the mail goes to the
 * queue, {@link State#POSTING} before the POST) and after it. A marker found in one of those two states was
 * interrupted by a stop between the two writes: whether the report left is not known, so it is never sent again
 * ({@link State#UNKNOWN}). At most once, never twice: a report is information, a lost one is replaced by the next
 * day's, a duplicate would be counted twice by the domain.
 */
final class SentMarkers {
    /** Where one target of a report stands. */
    enum State {
        /** Not tried yet. */
        PENDING,
        /** Being handed to the queue (written before {@code submit}). */
        SUBMITTING,
        /** In the queue, durably: the queue delivers it (final for a mailto target). */
        QUEUED,
        /** Being POSTed (written before the request). */
        POSTING,
        /** The https endpoint answered 2xx. */
        SENT,
        /** The last try failed; another after {@code next}. */
        RETRY,
        /** Given up (retries for a day without success, or refused for good). */
        FAILED,
        /** A stop came between the write before a send and the one after: not sent again. */
        UNKNOWN;

        boolean settled() {
            return this == QUEUED || this == SENT || this == FAILED || this == UNKNOWN;
        }
    }

    /** One rua target of a report. */
    record Target(String uri, State state, String detail, int attempts, Instant next) {
        Target with(State s, String d, int a, Instant n) {
            return new Target(uri, s, d, a, n);
        }
    }

    /** A report's marker ({@code day} ISO, "2026-12-02"); {@code recorded}: its TlsRptRecord was handed to the audit. */
    record Marker(String reportId, String domain, String day, Instant created, List<Target> targets,
                  boolean recorded) {
        Marker {
            targets = List.copyOf(targets);
        }

        boolean settled() {
            return targets.stream().allMatch(t -> t.state().settled());
        }

        Marker with(int i, Target t) {
            List<Target> ts = new ArrayList<>(targets);
            ts.set(i, t);
            return new Marker(reportId, domain, day, created, ts, recorded);
        }

        Marker asRecorded() {
            return new Marker(reportId, domain, day, created, targets, true);
        }
    }

    private final Path root;
    private final DurableFiles files = DurableFiles.SYSTEM;

    /** @param root {@code data/tlsrpt/sent} */
    SentMarkers(Path root) {
        this.root = root;
    }

    private Path dir(LocalDate day) {
        return root.resolve(day.toString());
    }

    /** The marker of {@code domain}'s report of {@code day}, or null when none was made. */
    Marker load(LocalDate day, String domain) throws IOException {
        try {
            return RecordCodec.mapper().readValue(Files.readAllBytes(dir(day).resolve(domain + ".json")),
                    Marker.class);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Every marker of {@code day}. */
    List<Marker> all(LocalDate day) throws IOException {
        List<Marker> out = new ArrayList<>();
        if (!Files.isDirectory(dir(day))) return out;
        try (var s = Files.list(dir(day))) {
            for (Path p : s.sorted().toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(".json")) out.add(load(day, name.substring(0, name.length() - 5)));
            }
        }
        return out;
    }

    /** The report's bytes as made. */
    byte[] report(LocalDate day, String domain) throws IOException {
        return Files.readAllBytes(dir(day).resolve(domain + ".json.gz"));
    }

    /** Writes the report's bytes, then its first marker: from here on, the report is never made again. */
    void create(Marker m, byte[] gzip) throws IOException {
        files.createDirectories(dir(LocalDate.parse(m.day())));
        files.write(dir(LocalDate.parse(m.day())).resolve(m.domain() + ".json.gz"), gzip);
        save(m);
    }

    void save(Marker m) throws IOException {
        files.write(dir(LocalDate.parse(m.day())).resolve(m.domain() + ".json"), RecordCodec.mapper().writeValueAsBytes(m));
    }

    boolean done(LocalDate day) {
        return Files.exists(dir(day).resolve(".done"));
    }

    void markDone(LocalDate day) throws IOException {
        files.createDirectories(dir(day));
        files.write(dir(day).resolve(".done"), new byte[0]);
    }
}
