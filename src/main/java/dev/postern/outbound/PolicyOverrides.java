package dev.postern.outbound;

import dev.postern.audit.AdminLog;
import dev.postern.audit.AdminRecord;
import dev.postern.audit.Audit;
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
 * also appended to the administrators' log {@code data/admin.log} ({@link AdminLog}), which is never rewritten: who,
 * when, what, until when, why. (Versions before it appended to {@code data/policy/overrides.log}; that file is left as
 * it is and still read to tell who cleared an override.)
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
    private final Path legacyLog;
    private final AdminLog adminLog;
    private volatile List<Override> cached = List.of();
    private volatile FileTime cachedTime;
    private final Audit audit;
    /** The overrides in force when last looked at, by key (guarded by {@link #noticed}): what the audit was told. */
    private final Map<String, Override> noticed = new HashMap<>();

    public PolicyOverrides(Path dataDir) {
        this(dataDir, Audit.NONE);
    }

    /**
     * Overrides that tell {@code audit} of each one set, cleared or ended, as this gateway notices it on re-reading
     * the file (the CLI changes it from another process). Those in force now are the starting point, not news.
     */
    public PolicyOverrides(Path dataDir, Audit audit) {
        Path dir = dataDir.resolve("policy");
        this.file = dir.resolve("overrides");
        this.legacyLog = dir.resolve("overrides.log");
        this.adminLog = AdminLog.in(dataDir);
        this.audit = audit;
        Instant now = Instant.now();
        for (Override o : all()) if (o.activeAt(now)) noticed.put(o.domain(), o);
        started = true;
    }

    /** The starting point is taken: changes from now on are news. */
    private volatile boolean started;

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
                notice(cached);
            }
        } catch (NoSuchFileException e) {
            if (!cached.isEmpty()) notice(List.of());
            cached = List.of();
            cachedTime = null;
        } catch (IOException e) {
            // keep the last good copy: a read error must not silently drop an administrator's override
        }
        return cached;
    }

    /** Re-reads the file if it changed, and tells the audit of overrides whose time ran out since last looked at. */
    public void refresh(Instant now) {
        all();
        synchronized (noticed) {
            for (var it = noticed.values().iterator(); it.hasNext(); ) {
                Override o = it.next();
                if (o.activeAt(now)) continue;
                it.remove();
                record(AdminRecord.Action.POLICY_OVERRIDE_EXPIRED, o.setBy(), o, now);
            }
        }
    }

    /** Compares what the file says now with what the audit was told: new or changed, cleared, ended. */
    private void notice(List<Override> current) {
        if (audit == Audit.NONE || !started) return;
        Instant now = Instant.now();
        synchronized (noticed) {
            Map<String, Override> active = new HashMap<>();
            for (Override o : current) if (o.activeAt(now)) active.put(o.domain(), o);
            for (Override o : active.values()) {
                if (!o.equals(noticed.get(o.domain()))) record(AdminRecord.Action.POLICY_OVERRIDE_SET, o.setBy(), o, now);
            }
            for (Override o : noticed.values()) {
                if (active.containsKey(o.domain())) continue;
                if (o.activeAt(now)) {
                    record(AdminRecord.Action.POLICY_OVERRIDE_CLEARED, remover(o), o, now);
                } else {
                    record(AdminRecord.Action.POLICY_OVERRIDE_EXPIRED, o.setBy(), o, now);
                }
            }
            noticed.clear();
            noticed.putAll(active);
        }
    }

    private void record(AdminRecord.Action action, String actor, Override o, Instant now) {
        try {
            audit.record(new AdminRecord(now, actor, action, o.domain(), detail(o)));
        } catch (RuntimeException e) {
            // the sink must not throw; an override's change must never fail because of the audit
        }
    }

    private static String detail(Override o) {
        return "level " + o.level().word() + " until " + o.until() + ": " + o.reason();
    }

    /**
     * Who removed an override: the file keeps only those in force, the admin log says who ended one early (newest
     * last); logs of older versions said it in overrides.log ("removed" lines). Else the override's setter is named.
     */
    private String remover(Override o) {
        Optional<AdminLog.Entry> cleared = adminLog.last(AdminRecord.Action.POLICY_OVERRIDE_CLEARED, o.domain());
        if (cleared.isPresent()) return cleared.get().by();
        try {
            String[] lines = DurableFiles.tail(legacyLog, 64 * 1024).split("\n");
            for (int i = lines.length - 1; i >= 0; i--) {
                String[] f = lines[i].split("\t");
                if (f.length >= 7 && f[1].equals("removed") && f[2].equals(o.domain())) return f[6];
            }
        } catch (IOException | RuntimeException e) {
            // no log to read: say who set it
        }
        return o.setBy() + " (set by; who removed it is not recorded)";
    }

    /** Sets (replaces) the override of a domain; records it in the log. */
    public synchronized void set(Override o) throws IOException {
        set(o, null);
    }

    /** As {@link #set(Override)}; {@code peer}: who asked over a channel that vouches for it (admin log "peer"). */
    public synchronized void set(Override o, String peer) throws IOException {
        List<Override> next = new ArrayList<>();
        Instant now = Instant.now();
        for (Override old : all()) if (!old.domain().equals(o.domain()) && old.activeAt(now)) next.add(old);
        next.add(o);
        write(next);
        adminLog.append(new AdminLog.Entry(o.setAt(), o.setBy(), peer, AdminRecord.Action.POLICY_OVERRIDE_SET,
                o.domain(), detail(o)));
    }

    /** Removes the override of a domain (in lookup form); returns false when there was none. */
    public synchronized boolean remove(String d, String by) throws IOException {
        return remove(d, by, null, null);
    }

    /**
     * As {@link #remove(String, String)}, with the {@code peer} that asked (null: none) and why it ends early (null:
     * not given), both in the admin log.
     */
    public synchronized boolean remove(String d, String by, String peer, String reason) throws IOException {
        List<Override> current = all();
        List<Override> next = current.stream().filter(o -> !o.domain().equals(d)).toList();
        if (next.size() == current.size()) return false;
        Override removed = current.stream().filter(o -> o.domain().equals(d)).findFirst().orElseThrow();
        write(next);
        adminLog.append(new AdminLog.Entry(Instant.now(), clean(by), peer, AdminRecord.Action.POLICY_OVERRIDE_CLEARED,
                d, "ended early" + (reason == null ? "" : " (" + clean(reason) + ")") + "; was " + detail(removed)));
        return true;
    }

    private void write(List<Override> overrides) throws IOException {
        StringBuilder b = new StringBuilder("# domain\tlevel\tuntil\tset-at\tset-by\treason (managed by postern policy)\n");
        for (Override o : overrides) b.append(line(o)).append('\n');
        DurableFiles.SYSTEM.write(file, b.toString().getBytes(StandardCharsets.UTF_8));
        cachedTime = null; // force a re-read: mtime granularity may hide a quick second change
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
                Config.TlsLevel level = Config.TlsLevel.parse(f[1]);
                if (level == null) continue;
                out.add(new Override(dot + domain, level, Instant.parse(f[2]),
                        Instant.parse(f[3]), f[4], f[5]));
            } catch (RuntimeException e) {
                // a damaged line is skipped; the rest still apply
            }
        }
        return List.copyOf(out);
    }
}
