package dev.postern.outbound;

import dev.postern.config.Config;
import dev.postern.config.DomainKeys;
import dev.postern.files.DurableFiles;
import dev.postern.names.Domains;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Timed relaxations of one domain's outbound TLS policy, kept in {@code data/policy/overrides} so that the CLI can
 * set them and a running gateway sees them at its next delivery to that domain, without a restart. Each change is
 * also appended to {@code data/policy/overrides.log}, which is never rewritten: who, when, what, until when, why.
 *
 * <p>An override's key matches destination domains exactly as the static policy table's keys do ({@link DomainKeys}):
 * "example.com" only that domain, ".example.com" every subdomain of it; the most specific active key wins.
 *
 * <p>File format: one override per line, tab-separated: domain, level, until (ISO instant), set-at, set-by, reason
 * (tabs and newlines in the reason are replaced by spaces).
 */
public final class PolicyOverrides {

    /** One override. */
    public record Override(String domain, Config.TlsLevel level, Instant until, Instant setAt, String setBy,
                           String reason) {
        public boolean activeAt(Instant now) { return now.isBefore(until); }
    }

    private final Path file;
    private final Path log;
    private volatile List<Override> cached = List.of();
    private volatile FileTime cachedTime;

    public PolicyOverrides(Path dataDir) {
        Path dir = dataDir.resolve("policy");
        this.file = dir.resolve("overrides");
        this.log = dir.resolve("overrides.log");
    }

    /**
     * The active override that applies to a destination domain: the most specific active key matching it, the way
     * static policy keys match. Re-reads the file only when it changed.
     */
    public Optional<Override> active(String domain, Instant now) {
        Map<String, Override> byKey = new HashMap<>();
        for (Override o : all()) if (o.activeAt(now)) byKey.putIfAbsent(o.domain(), o);
        return DomainKeys.lookup(byKey, domain).map(Map.Entry::getValue);
    }

    /** Every override on file, expired ones included (they are dropped at the next change). */
    public List<Override> all() {
        try {
            FileTime t = Files.getLastModifiedTime(file);
            if (!t.equals(cachedTime)) {
                cached = parse(Files.readAllLines(file, StandardCharsets.UTF_8));
                cachedTime = t;
            }
        } catch (NoSuchFileException e) {
            cached = List.of();
            cachedTime = null;
        } catch (IOException e) {
            // keep the last good copy: a read error must not silently drop an administrator's override
        }
        return cached;
    }

    /** Sets (replaces) the override of a domain; records it in the log. */
    public synchronized void set(Override o) throws IOException {
        List<Override> next = new ArrayList<>();
        Instant now = Instant.now();
        for (Override old : all()) if (!old.domain().equals(o.domain()) && old.activeAt(now)) next.add(old);
        next.add(o);
        write(next);
        audit("set\t" + line(o));
    }

    /** Removes the override of a domain (in lookup form); returns false when there was none. */
    public synchronized boolean remove(String d, String by) throws IOException {
        List<Override> current = all();
        List<Override> next = current.stream().filter(o -> !o.domain().equals(d)).toList();
        if (next.size() == current.size()) return false;
        write(next);
        audit("removed\t" + d + "\t\t\t" + Instant.now() + "\t" + clean(by) + "\tended early");
        return true;
    }

    private void write(List<Override> overrides) throws IOException {
        StringBuilder b = new StringBuilder("# domain\tlevel\tuntil\tset-at\tset-by\treason (managed by postern policy)\n");
        for (Override o : overrides) b.append(line(o)).append('\n');
        DurableFiles.SYSTEM.write(file, b.toString().getBytes(StandardCharsets.UTF_8));
        cachedTime = null; // force a re-read: mtime granularity may hide a quick second change
    }

    private void audit(String entry) throws IOException {
        DurableFiles.SYSTEM.append(log, (Instant.now() + "\t" + entry + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static String line(Override o) {
        return String.join("\t", o.domain(), o.level().word(), o.until().toString(), o.setAt().toString(), clean(o.setBy()),
                clean(o.reason()));
    }

    private static String clean(String s) {
        return s.replaceAll("[\\t\\r\\n]+", " ");
    }

    private static List<Override> parse(List<String> lines) {
        List<Override> out = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.split("\t", 6);
            if (f.length < 6) continue;
            try {
                // The lookup form, as the CLI writes it: the file may have been edited by hand.
                String dot = f[0].startsWith(".") ? "." : "";
                String domain = Domains.toAsciiOrNull(f[0].substring(dot.length()));
                if (domain == null) continue;
                out.add(new Override(dot + domain, Config.TlsLevel.valueOf(f[1].toUpperCase(Locale.ROOT)), Instant.parse(f[2]),
                        Instant.parse(f[3]), f[4], f[5]));
            } catch (RuntimeException e) {
                // a damaged line is skipped; the rest still apply
            }
        }
        return List.copyOf(out);
    }
}
