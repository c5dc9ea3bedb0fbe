package dev.postern.alerts;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.postern.audit.RecordCodec;
import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The alerts that are firing, by key, in {@code data/alerts/state.json} (written durably, 0600, after each change):
 * what a restart reads so that it neither fires an alert again nor forgets one, and what {@code postern alerts} reads
 * offline.
 */
public final class AlertState {
    private AlertState() {}

    /** The state file under a data directory. */
    public static Path file(Path dataDir) {
        return dataDir.resolve("alerts").resolve("state.json");
    }

    /** The state kept: the firing alerts by key. */
    record Saved(Map<String, Firing> firing) {
        Saved {
            firing = firing == null ? Map.of() : firing;
        }
    }

    /** The firing alerts kept under {@code dataDir}, in the order they fired; empty when there is no file. */
    static Map<String, Firing> read(Path dataDir) throws IOException {
        Path f = file(dataDir);
        try {
            Saved s = RecordCodec.mapper().readValue(Files.readAllBytes(f), new TypeReference<Saved>() { });
            Map<String, Firing> out = new LinkedHashMap<>();
            s.firing().forEach((k, v) -> {
                if (k != null && v != null && v.record() != null) out.put(k, v);
            });
            return out;
        } catch (NoSuchFileException e) {
            return new LinkedHashMap<>();
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(f + ": not an alert state file (" + e.getOriginalMessage() + ")", e);
        }
    }

    /** The firing alerts' FIRING records, as {@code postern alerts} shows them. */
    public static java.util.List<dev.postern.audit.AlertRecord> active(Path dataDir) throws IOException {
        return read(dataDir).values().stream().map(Firing::record).toList();
    }

    static void write(Path dataDir, Map<String, Firing> firing) throws IOException {
        Path f = file(dataDir);
        DurableFiles.SYSTEM.write(f, RecordCodec.mapper().writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(new Saved(firing)));
    }
}
