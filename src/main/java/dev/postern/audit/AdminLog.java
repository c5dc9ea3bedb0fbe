package dev.postern.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.postern.files.DurableFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The administrators' log, {@code data/admin.log}: one JSON object per line for every action an operator took (policy
 * overrides set and cleared, queue deletions, holds, releases and flushes), naming who. Lines are only ever appended
 * ({@code O_APPEND}, fsynced before the command answers, through {@link DurableFiles#append}); the file is never
 * rewritten, so it can be shipped or checksummed as it grows. The CLI appends to it when it acts on a stopped gateway,
 * the gateway when a command reaches it through its control socket; each batch is one {@code write(2)}, so lines of
 * two processes do not interleave. The same actions also go to the audit store as {@link AdminRecord}s.
 *
 * <p>A line: {@code {"at":"2026-12-03T04:20:00Z","by":"alice","peer":"root","action":"QUEUE_DELETE",
 * "target":"ID","detail":"deleted ID"}}. {@code by} is the operator ({@code --by}, else the login user behind sudo,
 * else the user); {@code peer} is present when the action came through the control socket: the socket peer's
 * operating-system user, which the kernel vouches for ({@code by} is what the command said).
 */
public final class AdminLog {
    /** Where the log lives in a data directory. */
    public static final String FILE = "admin.log";
    /** How much of the log's end {@link #last} reads: plenty for any recent action. */
    private static final int TAIL = 256 * 1024;

    /** One action. {@code peer} is null when the action was not taken through the control socket. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Entry(Instant at, String by, String peer, AdminRecord.Action action, String target, String detail) {
        /** The same action as an audit record: the operator is {@code by}. */
        public AdminRecord record() {
            return new AdminRecord(at, by, action, target, detail);
        }
    }

    private final Path file;

    private AdminLog(Path file) {
        this.file = file;
    }

    /** The log of the data directory {@code dataDir}. */
    public static AdminLog in(Path dataDir) {
        return new AdminLog(dataDir.resolve(FILE));
    }

    public Path file() {
        return file;
    }

    /** Appends the entries as one write and fsyncs; does nothing for none. */
    public void append(List<Entry> entries) throws IOException {
        if (entries.isEmpty()) return;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Entry e : entries) {
            try {
                b.write(RecordCodec.JSON.writeValueAsBytes(e));
            } catch (JsonProcessingException ex) {
                throw new IllegalStateException("cannot encode an admin log entry: " + ex.getMessage(), ex);
            }
            b.write('\n');
        }
        DurableFiles.SYSTEM.append(file, b.toByteArray());
    }

    public void append(Entry entry) throws IOException {
        append(List.of(entry));
    }

    /** Every entry, oldest first; lines that are not entries (a torn last line, a hand edit) are skipped. */
    public List<Entry> read() throws IOException {
        try {
            return parse(new String(Files.readAllBytes(file), StandardCharsets.UTF_8)); // bad bytes: replaced, not fatal
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }

    /** The newest entry of {@code action} on {@code target} among the log's last 256 KiB. */
    public Optional<Entry> last(AdminRecord.Action action, String target) {
        try {
            List<Entry> entries = parse(DurableFiles.tail(file, TAIL));
            for (int i = entries.size() - 1; i >= 0; i--) {
                Entry e = entries.get(i);
                if (e.action() == action && target.equals(e.target())) return Optional.of(e);
            }
        } catch (IOException e) {
            // no log, or unreadable: nobody is named
        }
        return Optional.empty();
    }

    private static List<Entry> parse(String text) {
        List<Entry> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) continue;
            try {
                Entry e = RecordCodec.JSON.readValue(line, Entry.class);
                if (e.action() != null) out.add(e);
            } catch (IOException | RuntimeException ex) {
                // not an entry: skipped, the rest still reads
            }
        }
        return out;
    }
}
