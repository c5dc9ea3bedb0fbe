package dev.postern.queue;

import dev.postern.queue.SyscallTrace.Created;
import dev.postern.queue.SyscallTrace.DirMade;
import dev.postern.queue.SyscallTrace.DirSynced;
import dev.postern.queue.SyscallTrace.FileSynced;
import dev.postern.queue.SyscallTrace.Op;
import dev.postern.queue.SyscallTrace.Renamed;
import dev.postern.queue.SyscallTrace.Unlinked;
import dev.postern.queue.SyscallTrace.Written;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Crash consistency by replay, in the manner of ALICE and CrashMonkey: from the spool's file-system operations in a
 * {@link SyscallTrace}, builds the spool directory as a power cut could leave it at every crash point, runs Postern's
 * own recovery on it ({@link Spool#open}, {@link Spool#recover}, {@link Spool#list}, as the gateway does at start) and
 * checks what it would deliver.
 *
 * <p>Crash points: just before and just after every fsync, fdatasync and rename of the spool. At a crash point, what a
 * power cut keeps (a pessimistic model; ext4, XFS and btrfs each keep more):
 * <ul>
 * <li>a directory operation (create, rename, unlink, mkdir) is kept if its directory (a rename's target directory)
 *     was fsynced after it returned; any other one may or may not be kept, each independently of the others (so they
 *     may also appear reordered); a rename is atomic (old name or new);
 * <li>a file's data is what it held at its last fsync/fdatasync; bytes written after that may be lost from any point
 *     on: the replay takes none of them, half of them and all of them.
 * </ul>
 * For up to {@value #EXHAUSTIVE} unsynced directory operations every subset is tried; beyond that, every prefix, every
 * "all but one", every single one, and {@value #SAMPLED} seeded random subsets. Identical directories are checked once.
 *
 * <p>Checked in every state: each message acknowledged (its 250 began) before the crash point, unless its removal
 * had begun, is listed by recovery with its content and its envelope byte-equal to what was written and synced; every
 * message recovery lists (acknowledged or not) has complete content and a complete envelope version (nothing
 * half-written is delivered); incoming/ is empty after recovery.
 */
public final class CrashReplay {
    static final int EXHAUSTIVE = 6;
    static final int SAMPLED = 16;
    private static final int MAX_VIOLATIONS = 50;

    /** What was checked; {@code violations} names the crash point and the state of each failure. */
    public record Result(int crashPoints, int statesBuilt, int distinctStates, int acknowledgedChecks,
                         int maxUnsynced, List<String> violations) {}

    private enum Data { SYNCED, HALF, ALL }

    private final List<Op> ops;
    private final String spool;
    private final Path scratch;
    private final Map<String, Integer> acks;
    private final Map<String, byte[]> contents = new HashMap<>();       // id -> the synced content
    private final Map<String, List<byte[]>> envelopes = new HashMap<>(); // id -> every synced envelope version
    private final Set<String> seen = new HashSet<>();
    private final Set<Integer> rewritten = new HashSet<>(); // files not written by appending only
    private final List<String> violations = new ArrayList<>();
    private final Random random;
    private int built;
    private int checks;
    private int maxUnsynced;
    private int stateNo;

    private CrashReplay(List<Op> ops, String spool, Path scratch, long seed) {
        this.ops = ops;
        this.spool = spool;
        this.scratch = scratch;
        this.random = new Random(seed);
        this.acks = WriteAheadCheck.acks(ops);
        Map<Integer, Long> ends = new HashMap<>();
        for (Op op : ops) {
            if (op instanceof Written w && w.offset() != ends.getOrDefault(w.inode(), 0L)) rewritten.add(w.inode());
            if (op instanceof Written w) ends.merge(w.inode(), w.offset() + w.bytes().length, Math::max);
        }
        completeVersions();
    }

    /** A directory for the states: in /dev/shm where there is one (thousands of fsyncs cost nothing there). */
    public static Path scratch(Path fallback) throws IOException {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "postern-crash-")
                : Files.createDirectories(fallback);
    }

    /** Replays {@code ops} (the whole trace; only the spool's operations count) in states built under {@code scratch}. */
    public static Result run(List<Op> ops, String spool, Path scratch, long seed) throws IOException {
        var log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Spool.class);
        var level = log.getLevel();
        log.setLevel(ch.qos.logback.classic.Level.WARN); // one "spool recovered" line per state otherwise
        try {
            return new CrashReplay(ops, spool, scratch, seed).replay();
        } finally {
            log.setLevel(level);
        }
    }

    private Result replay() throws IOException {
        TreeSet<Integer> points = new TreeSet<>();
        for (Op op : ops) {
            if (isSpool(op) && (op instanceof FileSynced || op instanceof DirSynced || op instanceof Renamed)) {
                points.add(op.entry());
                points.add(op.exit() + 1);
            }
        }
        for (int line : points) {
            if (violations.size() >= MAX_VIOLATIONS) break; // enough to say what is wrong
            crashAt(line);
        }
        return new Result(points.size(), built, seen.size(), checks, maxUnsynced, List.copyOf(violations));
    }

    private void crashAt(int line) throws IOException {
        List<Op> happened = ops.stream().filter(o -> o.exit() < line && isSpool(o)).toList();
        List<Op> dirOps = new ArrayList<>();
        List<Op> optional = new ArrayList<>();
        Set<Op> forced = new HashSet<>();
        for (Op op : happened) {
            String dir = directoryOf(op);
            if (dir == null) continue;
            dirOps.add(op);
            boolean synced = happened.stream().anyMatch(o -> o instanceof DirSynced s && s.path().equals(dir)
                    && s.entry() > op.exit());
            if (synced) forced.add(op);
            else optional.add(op);
        }
        maxUnsynced = Math.max(maxUnsynced, optional.size());
        Map<Integer, byte[]> synced = new HashMap<>();
        Map<Integer, byte[]> written = new HashMap<>();
        fileData(happened, synced, written);

        List<Set<Op>> subsets = subsets(optional);
        for (int s = 0; s < subsets.size(); s++) {
            Set<Op> kept = new HashSet<>(forced);
            kept.addAll(subsets.get(s));
            boolean extreme = s < 2; // none of the unsynced operations, and all of them
            for (Map<Integer, Data> data : dataVariants(written, synced, extreme)) {
                check(line, dirOps, kept, data, synced, written);
            }
        }
    }

    /** The directory whose fsync makes {@code op} durable, or null for data operations. */
    private static String directoryOf(Op op) {
        return switch (op) {
            case Created c -> parent(c.path());
            case Renamed r -> parent(r.to());
            case Unlinked u -> parent(u.path());
            case DirMade d -> parent(d.path());
            default -> null;
        };
    }

    /** Subsets of the unsynced directory operations to keep: first none, then all, then the rest. */
    private List<Set<Op>> subsets(List<Op> optional) {
        int n = optional.size();
        List<Set<Op>> out = new ArrayList<>();
        out.add(Set.of());
        out.add(Set.copyOf(optional));
        if (n <= EXHAUSTIVE) {
            for (int mask = 1; mask < (1 << n) - 1; mask++) {
                Set<Op> s = new HashSet<>();
                for (int i = 0; i < n; i++) if ((mask & (1 << i)) != 0) s.add(optional.get(i));
                out.add(s);
            }
            return out;
        }
        for (int i = 1; i < n; i++) out.add(Set.copyOf(optional.subList(0, i)));
        for (int i = 0; i < n; i++) {
            out.add(Set.of(optional.get(i)));
            Set<Op> allButOne = new HashSet<>(optional);
            allButOne.remove(optional.get(i));
            out.add(allButOne);
        }
        for (int k = 0; k < SAMPLED; k++) {
            Set<Op> s = new HashSet<>();
            for (Op op : optional) if (random.nextBoolean()) s.add(op);
            out.add(s);
        }
        return out;
    }

    /** How much of each file's unsynced data survives: none, half or all for every file; more mixes at the extremes. */
    private static List<Map<Integer, Data>> dataVariants(Map<Integer, byte[]> written, Map<Integer, byte[]> synced,
                                                         boolean extreme) {
        List<Integer> unsynced = written.keySet().stream()
                .filter(i -> !Arrays.equals(written.get(i), synced.getOrDefault(i, new byte[0]))).sorted().toList();
        List<Map<Integer, Data>> out = new ArrayList<>();
        for (Data d : Data.values()) {
            Map<Integer, Data> m = new HashMap<>();
            for (int i : unsynced) m.put(i, d);
            out.add(m);
            if (unsynced.isEmpty()) return out;
        }
        if (extreme && unsynced.size() > 1) {
            for (int lost : unsynced) { // one file's unsynced data lost, the others' kept: reordered writes
                Map<Integer, Data> m = new HashMap<>();
                for (int i : unsynced) m.put(i, i == lost ? Data.SYNCED : Data.ALL);
                out.add(m);
            }
        }
        return out;
    }

    /** Each inode's bytes at its last sync before the crash point, and all its bytes written before it. */
    private static void fileData(List<Op> happened, Map<Integer, byte[]> synced, Map<Integer, byte[]> written) {
        Map<Integer, byte[]> now = new HashMap<>();
        for (Op op : happened) {
            switch (op) {
                case Created c -> now.put(c.inode(), new byte[0]);
                case Written w -> now.put(w.inode(), apply(now.getOrDefault(w.inode(), new byte[0]), w));
                case FileSynced s -> synced.put(s.inode(), now.getOrDefault(s.inode(), new byte[0]));
                default -> { }
            }
        }
        written.putAll(now);
    }

    private static byte[] apply(byte[] file, Written w) {
        byte[] out = Arrays.copyOf(file, (int) Math.max(file.length, w.offset() + w.bytes().length));
        System.arraycopy(w.bytes(), 0, out, (int) w.offset(), w.bytes().length);
        return out;
    }

    private static byte[] bytesOf(int inode, Data d, Map<Integer, byte[]> synced, Map<Integer, byte[]> written) {
        byte[] all = written.getOrDefault(inode, new byte[0]);
        byte[] durable = synced.getOrDefault(inode, new byte[0]);
        if (d == null || d == Data.ALL) return all;
        if (d == Data.SYNCED) return durable;
        return Arrays.copyOf(all, durable.length + (all.length - durable.length) / 2);
    }

    private void check(int line, List<Op> dirOps, Set<Op> kept, Map<Integer, Data> data, Map<Integer, byte[]> synced,
                       Map<Integer, byte[]> written) throws IOException {
        built++;
        Set<String> dirs = new TreeSet<>(List.of(spool));
        Map<String, Integer> files = new TreeMap<>();
        for (Op op : dirOps) {
            if (!kept.contains(op)) continue;
            switch (op) {
                case Created c -> files.put(c.path(), c.inode());
                case Renamed r -> {
                    files.remove(r.from(), r.inode());
                    files.put(r.to(), r.inode());
                }
                case Unlinked u -> files.remove(u.path(), u.inode());
                case DirMade d -> dirs.add(d.path());
                default -> { }
            }
        }
        files.keySet().removeIf(p -> !dirs.contains(parent(p)));
        // cheap first: most states built are ones already checked
        Map<String, byte[]> state = new TreeMap<>();
        files.forEach((p, inode) -> state.put(p, rewritten.contains(inode)
                ? bytesOf(inode, data.get(inode), synced, written) : null));
        if (!seen.add(key(dirs, files, state, data, synced, written))) return;
        files.forEach((p, inode) -> state.computeIfAbsent(p, k -> bytesOf(inode, data.get(inode), synced, written)));

        Path root = scratch.resolve("state-" + stateNo++);
        try {
            for (String d : dirs) Files.createDirectories(root.resolve(relative(d)));
            for (Map.Entry<String, byte[]> f : state.entrySet()) Files.write(root.resolve(relative(f.getKey())), f.getValue());
            recoverAndCheck(line, root, describe(dirs, state));
        } finally {
            deleteTree(root);
        }
    }

    private void recoverAndCheck(int line, Path root, String state) throws IOException {
        Set<String> acknowledged = new TreeSet<>();
        acks.forEach((id, at) -> {
            if (ops.get(at).entry() < line && !removalBegun(id, line)) acknowledged.add(id);
        });
        Map<String, Spool.Entry> listed = new LinkedHashMap<>();
        try (Spool s = Spool.open(root)) {
            s.recover();
            for (Spool.Entry e : s.list()) listed.put(e.envelope().id(), e);
            for (String id : acknowledged) {
                checks++;
                if (!listed.containsKey(id)) fail(line, state, id + " acknowledged but not recovered");
            }
            for (Spool.Entry e : listed.values()) {
                String id = e.envelope().id();
                byte[] content;
                try (InputStream in = s.openContent(id)) {
                    content = in.readAllBytes();
                }
                if (!Arrays.equals(content, contents.get(id))) {
                    fail(line, state, id + " recovered with content of " + content.length + " bytes, not the "
                            + (contents.containsKey(id) ? contents.get(id).length + " written" : "never synced one"));
                }
                byte[] env = Files.readAllBytes(s.envelopePath(id, e.state()));
                if (envelopes.getOrDefault(id, List.of()).stream().noneMatch(v -> Arrays.equals(v, env))) {
                    fail(line, state, id + " recovered with an envelope (" + env.length + " bytes) never written whole");
                }
            }
            try (Stream<Path> left = Files.list(root.resolve("incoming"))) {
                if (left.findAny().isPresent()) fail(line, state, "incoming/ not empty after recovery");
            }
        }
    }

    /**
     * The removal of {@code id} had begun before {@code line}: its content is unlinked later in the trace, and an
     * envelope of it was unlinked (outside incoming/) after its last envelope was put in place (not an update's unlink
     * of the old version).
     */
    private boolean removalBegun(String id, int line) {
        String env = "/" + id + Spool.ENVELOPE_SUFFIX;
        boolean removed = ops.stream().anyMatch(o -> o instanceof Unlinked u
                && u.path().equals(spool + "/messages/" + id + Spool.CONTENT_SUFFIX));
        if (!removed) return false;
        int placed = ops.stream().filter(o -> o instanceof Renamed r && r.to().endsWith(env))
                .mapToInt(Op::exit).max().orElse(-1);
        return ops.stream().anyMatch(o -> o instanceof Unlinked u && u.entry() < line && u.entry() > placed
                && u.path().endsWith(env) && !u.path().startsWith(spool + "/incoming/"));
    }

    /** The content and envelope versions as synced: what "intact" means. */
    private void completeVersions() {
        Map<Integer, String> contentOf = new HashMap<>();
        Map<Integer, String> envelopeOf = new HashMap<>();
        Map<Integer, byte[]> now = new HashMap<>();
        for (Op op : ops) {
            switch (op) {
                case Created c when c.path().startsWith(spool + "/incoming/") -> {
                    String name = c.path().substring(c.path().lastIndexOf('/') + 1);
                    String id = name.substring(0, name.indexOf('.'));
                    if (name.endsWith(Spool.CONTENT_SUFFIX)) contentOf.put(c.inode(), id);
                    else envelopeOf.put(c.inode(), id); // ID.env, or ID.VERSION.update
                    now.put(c.inode(), new byte[0]);
                }
                case Written w when now.containsKey(w.inode()) -> now.put(w.inode(), apply(now.get(w.inode()), w));
                case FileSynced s when now.containsKey(s.inode()) -> {
                    byte[] b = now.get(s.inode());
                    if (contentOf.containsKey(s.inode())) contents.put(contentOf.get(s.inode()), b);
                    else envelopes.computeIfAbsent(envelopeOf.get(s.inode()), k -> new ArrayList<>()).add(b);
                }
                default -> { }
            }
        }
    }

    private boolean isSpool(Op op) {
        return switch (op) {
            case Created c -> c.path().startsWith(spool + "/");
            case Written w -> w.path().startsWith(spool + "/");
            case FileSynced f -> f.path().startsWith(spool + "/");
            case DirSynced d -> d.path().startsWith(spool);
            case Renamed r -> r.to().startsWith(spool + "/") || r.from().startsWith(spool + "/");
            case Unlinked u -> u.path().startsWith(spool + "/");
            case DirMade d -> d.path().startsWith(spool + "/");
            default -> false;
        };
    }

    private String relative(String path) {
        return path.equals(spool) ? "." : path.substring(spool.length() + 1);
    }

    private static String parent(String path) {
        return path.substring(0, path.lastIndexOf('/'));
    }

    /**
     * Identifies a state without hashing its bytes: a file written only by appending holds, at any crash point, a
     * prefix of its final bytes, so its inode and length say what it holds; a file written elsewhere is hashed.
     */
    private String key(Set<String> dirs, Map<String, Integer> files, Map<String, byte[]> state,
                       Map<Integer, Data> data, Map<Integer, byte[]> synced, Map<Integer, byte[]> written) {
        StringBuilder b = new StringBuilder(String.join("|", dirs));
        files.forEach((p, inode) -> {
            b.append('|').append(p).append('=').append(inode).append(':')
                    .append(lengthOf(inode, data.get(inode), synced, written));
            if (rewritten.contains(inode)) b.append(':').append(Arrays.hashCode(state.get(p)));
        });
        return b.toString();
    }

    private static int lengthOf(int inode, Data d, Map<Integer, byte[]> synced, Map<Integer, byte[]> written) {
        int all = written.getOrDefault(inode, new byte[0]).length;
        int durable = synced.getOrDefault(inode, new byte[0]).length;
        if (d == null || d == Data.ALL) return all;
        return d == Data.SYNCED ? durable : durable + (all - durable) / 2;
    }

    private String describe(Set<String> dirs, Map<String, byte[]> state) {
        StringBuilder b = new StringBuilder();
        state.forEach((p, bytes) -> b.append(relative(p)).append('(').append(bytes.length).append(") "));
        b.append("dirs:");
        dirs.forEach(d -> b.append(' ').append(relative(d)));
        return b.toString();
    }

    private void fail(int line, String state, String what) {
        if (violations.size() < MAX_VIOLATIONS) violations.add("crash at trace line " + (line + 1) + ": " + what + "; state: " + state);
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
