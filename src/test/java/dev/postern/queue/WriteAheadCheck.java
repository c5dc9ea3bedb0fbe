package dev.postern.queue;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.postern.queue.SyscallTrace.Copied;
import dev.postern.queue.SyscallTrace.Created;
import dev.postern.queue.SyscallTrace.DirMade;
import dev.postern.queue.SyscallTrace.DirSynced;
import dev.postern.queue.SyscallTrace.FileSynced;
import dev.postern.queue.SyscallTrace.Op;
import dev.postern.queue.SyscallTrace.Renamed;
import dev.postern.queue.SyscallTrace.SocketWrite;
import dev.postern.queue.SyscallTrace.Unlinked;
import dev.postern.queue.SyscallTrace.Written;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks the spool's write-ahead order in a system-call trace ({@link SyscallTrace}): what a killed process cannot show,
 * because the page cache outlives it. For every "250 ... queued as ID" written to a client socket:
 * <ol>
 * <li>incoming/ID.eml: its last write returned before an fsync or fdatasync of it began, which returned before the 250;
 * <li>incoming/ID.env: the same, before its rename;
 * <li>the content renamed into messages/ after its sync, and messages/ fsynced after that rename and before the
 *     envelope's rename (no envelope may name content that is not durable);
 * <li>the envelope renamed into active/ after its sync, and active/ fsynced after that rename, before the 250.
 * </ol>
 * For every removal (the content's unlink): each envelope of the message was unlinked before and its directory fsynced
 * after that unlink and before the content's unlink; when {@code maildir} is given, the delivered copy (the Maildir file
 * whose bytes name the queue id) was synced, renamed into new/ and new/ fsynced, all before the first envelope unlink.
 * For every envelope update (a deferral, a hold): the new version synced, renamed, its directory fsynced, before the old
 * version's unlink, which is made durable too.
 * For every directory made under {@code data}: its parent fsynced after the mkdir and before the next 250 or removal.
 * "Before" means the first call returned before the second began (trace lines), so the order is the kernel's.
 */
public final class WriteAheadCheck {
    private static final Pattern QUEUED = Pattern.compile("250[ -]2\\.0\\.0 Ok: queued as ([0-9A-Za-z]+)");

    /** What was checked and what was wrong. */
    public record Result(List<String> violations, Map<String, Integer> acks, int fileSyncs, int dirSyncs,
                         int renames, int removals, int deliveriesChecked, int updates, int directoriesMade) {}

    private final List<Op> ops;
    private final String spool;
    private final List<String> violations = new ArrayList<>();

    private WriteAheadCheck(List<Op> ops, String spool) {
        this.ops = ops;
        this.spool = spool;
    }

    /**
     * @param spool   the spool directory (data/queue), absolute
     * @param data    a directory, absolute: every directory made below it must be fsynced into its parent
     * @param maildir the Maildir root (data/mail) when the messages were delivered locally, else null
     */
    public static Result check(List<Op> ops, String spool, String data, String maildir) {
        return new WriteAheadCheck(ops, spool).run(data, maildir);
    }

    /** The acknowledged queue ids and the index (in {@code ops}) of the socket write that carried each 250. */
    public static Map<String, Integer> acks(List<Op> ops) {
        Map<String, Integer> acks = new LinkedHashMap<>();
        for (int i = 0; i < ops.size(); i++) {
            if (ops.get(i) instanceof SocketWrite w) {
                Matcher m = QUEUED.matcher(new String(w.bytes(), ISO_8859_1));
                while (m.find()) acks.putIfAbsent(m.group(1), i);
            }
        }
        return acks;
    }

    private Result run(String data, String maildir) {
        Map<String, Integer> acks = acks(ops);
        acks.forEach((id, at) -> checkCommit(id, ops.get(at)));
        int removals = 0;
        int delivered = 0;
        for (Op op : ops) {
            if (op instanceof Unlinked u && u.path().equals(spool + "/messages/" + idOf(u.path(), ".eml") + ".eml")) {
                removals++;
                if (checkRemoval(idOf(u.path(), ".eml"), u, maildir)) delivered++;
            }
        }
        int updates = 0;
        for (Op op : ops) {
            if (op instanceof Renamed r && r.from().startsWith(spool + "/incoming/") && r.from().endsWith(".update")) {
                updates++;
                checkUpdate(r);
            }
        }
        int made = 0;
        for (Op op : ops) {
            if (op instanceof DirMade d && d.path().startsWith(data + "/")) {
                made++;
                checkMkdir(d);
            }
        }
        int fileSyncs = (int) ops.stream().filter(o -> o instanceof FileSynced f && f.path().startsWith(data + "/"))
                .count();
        int dirSyncs = (int) ops.stream().filter(o -> o instanceof DirSynced d && d.path().startsWith(data))
                .count();
        int renames = (int) ops.stream().filter(o -> o instanceof Renamed r && r.to().startsWith(data + "/")).count();
        return new Result(List.copyOf(violations), acks, fileSyncs, dirSyncs, renames, removals, delivered, updates,
                made);
    }

    private void checkCommit(String id, Op ack) {
        String content = spool + "/incoming/" + id + ".eml";
        String envelope = spool + "/incoming/" + id + ".env";
        Optional<FileSynced> contentSync = syncedFile(id, content, ack.entry(), "content");
        Optional<FileSynced> envelopeSync = syncedFile(id, envelope, ack.entry(), "envelope");
        Optional<Renamed> contentRename = last(Renamed.class, r -> r.from().equals(content)
                && r.to().equals(spool + "/messages/" + id + ".eml") && r.exit() < ack.entry());
        Optional<Renamed> envelopeRename = last(Renamed.class, r -> r.from().equals(envelope)
                && r.to().equals(spool + "/active/" + id + ".env") && r.exit() < ack.entry());
        if (contentRename.isEmpty()) {
            fail(id, "content not renamed into messages/ before the 250");
        } else {
            contentSync.filter(s -> s.exit() < contentRename.get().entry())
                    .orElseGet(() -> fail(id, "content renamed into messages/ before its fsync returned"));
        }
        if (envelopeRename.isEmpty()) {
            fail(id, "envelope not renamed into active/ before the 250");
            return;
        }
        Renamed er = envelopeRename.get();
        envelopeSync.filter(s -> s.exit() < er.entry())
                .orElseGet(() -> fail(id, "envelope renamed into active/ before its fsync returned"));
        contentRename.ifPresent(cr -> dirSynced(spool + "/messages", cr.exit(), er.entry())
                .orElseGet(() -> fail(id, "no fsync of messages/ between the content's rename and the envelope's")));
        dirSynced(spool + "/active", er.exit(), ack.entry())
                .orElseGet(() -> fail(id, "no fsync of active/ between the envelope's rename and the 250"));
    }

    /** The sync of the file last created at {@code path} that began after its last write and returned by {@code by}. */
    private Optional<FileSynced> syncedFile(String id, String path, int by, String what) {
        Optional<Created> created = last(Created.class, c -> c.path().equals(path) && c.exit() < by);
        if (created.isEmpty()) {
            fail(id, what + " file " + path + " never created");
            return Optional.empty();
        }
        int inode = created.get().inode();
        int lastWrite = ops.stream().filter(o -> o instanceof Written w && w.inode() == inode && w.entry() < by)
                .mapToInt(Op::exit).max().orElse(created.get().exit());
        Optional<FileSynced> sync = first(FileSynced.class, s -> s.inode() == inode && s.entry() > lastWrite
                && s.exit() < by);
        if (sync.isEmpty()) fail(id, what + ": no fsync/fdatasync after its last write and before the 250");
        return sync;
    }

    /**
     * A new version of an envelope (Spool.update): synced before its rename into the state directory, that directory
     * fsynced after the rename and before the old version's unlink, and that unlink made durable too (a later removal
     * fsyncs only the directory of the envelope it unlinks: an old version must not come back without its content).
     */
    private void checkUpdate(Renamed r) {
        String name = r.from().substring(r.from().lastIndexOf('/') + 1);
        String id = name.substring(0, name.indexOf('.'));
        String dir = r.to().substring(0, r.to().lastIndexOf('/'));
        int lastWrite = ops.stream().filter(o -> o instanceof Written w && w.inode() == r.inode() && w.exit() < r.entry())
                .mapToInt(Op::exit).max().orElse(-1);
        first(FileSynced.class, s -> s.inode() == r.inode() && s.entry() > lastWrite && s.exit() < r.entry())
                .orElseGet(() -> fail(id, "envelope update renamed into " + dir + " before its fsync returned"));
        Optional<Unlinked> old = first(Unlinked.class, u -> u.entry() > r.exit() && u.path().endsWith("/" + id + ".env")
                && !u.path().equals(r.to()) && !u.path().startsWith(spool + "/incoming/"));
        if (old.isEmpty()) return; // updated in place (same state): the rename replaced it
        dirSynced(dir, r.exit(), old.get().entry())
                .orElseGet(() -> fail(id, "old envelope unlinked before the new version in " + dir + " was durable"));
        String oldDir = old.get().path().substring(0, old.get().path().lastIndexOf('/'));
        dirSynced(oldDir, old.get().exit(), Integer.MAX_VALUE)
                .orElseGet(() -> fail(id, "the old envelope's unlink never made durable (fsync of " + oldDir + ")"));
    }

    private boolean checkRemoval(String id, Unlinked content, String maildir) {
        List<Unlinked> envelopes = ops.stream().filter(o -> o instanceof Unlinked u && u.exit() < content.entry()
                        && u.path().startsWith(spool + "/") && u.path().endsWith("/" + id + ".env")
                        && !u.path().startsWith(spool + "/incoming/"))
                .map(Unlinked.class::cast).toList();
        if (envelopes.isEmpty()) {
            fail(id, "content unlinked with no envelope unlinked before it");
            return false;
        }
        for (Unlinked u : envelopes) {
            String dir = u.path().substring(0, u.path().lastIndexOf('/'));
            dirSynced(dir, u.exit(), content.entry()).orElseGet(() -> fail(id,
                    "content unlinked before the unlink of " + u.path() + " was made durable (fsync of " + dir + ")"));
        }
        if (maildir == null) return false;
        int firstUnlink = envelopes.getFirst().entry();
        // the copy: a file in a Maildir's tmp/ that the spool content went into, by write(2) (the queue id is in
        // the Received header) or copied in the kernel (transferTo)
        byte[] needle = id.getBytes(ISO_8859_1);
        String spooled = spool + "/messages/" + id + Spool.CONTENT_SUFFIX;
        Optional<Op> copy = first(Op.class, o -> o.exit() < firstUnlink && switch (o) {
            case Written w -> inMaildirTmp(w.path(), maildir) && indexOf(w.bytes(), needle) >= 0;
            case Copied c -> inMaildirTmp(c.path(), maildir) && c.from().equals(spooled);
            default -> false;
        });
        if (copy.isEmpty()) {
            fail(id, "removed with no Maildir copy written before");
            return false;
        }
        int inode = copy.get() instanceof Written w ? w.inode() : ((Copied) copy.get()).inode();
        int lastWrite = ops.stream().filter(o -> o.exit() < firstUnlink && (o instanceof Written w && w.inode() == inode
                || o instanceof Copied c && c.inode() == inode)).mapToInt(Op::exit).max().orElseThrow();
        Optional<FileSynced> synced = first(FileSynced.class, s -> s.inode() == inode && s.entry() > lastWrite
                && s.exit() < firstUnlink);
        Optional<Renamed> moved = first(Renamed.class, r -> r.inode() == inode && r.to().substring(maildir.length()).contains("/new/")
                && r.exit() < firstUnlink);
        if (synced.isEmpty() || moved.isEmpty() || synced.get().exit() > moved.get().entry()) {
            fail(id, "Maildir copy not fsynced and renamed into new/ before the envelope's unlink");
            return false;
        }
        String newDir = moved.get().to().substring(0, moved.get().to().lastIndexOf('/'));
        dirSynced(newDir, moved.get().exit(), firstUnlink)
                .orElseGet(() -> fail(id, "Maildir new/ not fsynced after the copy's rename, before the removal"));
        return true;
    }

    private void checkMkdir(DirMade d) {
        String parent = d.path().substring(0, d.path().lastIndexOf('/'));
        // before the directory is first used: a file created, renamed or synced in it (directories made inside it
        // come before their parents' fsyncs, all of them made first)
        String below = d.path() + "/";
        int used = ops.stream().filter(o -> o.entry() > d.exit() && switch (o) {
                    case Created c -> c.path().startsWith(below);
                    case Renamed r -> r.to().startsWith(below);
                    case FileSynced f -> f.path().startsWith(below);
                    case DirSynced s -> s.path().startsWith(below);
                    default -> false;
                }).mapToInt(Op::entry).min().orElse(Integer.MAX_VALUE);
        dirSynced(parent, d.exit(), used).orElseGet(() -> fail(d.path(),
                "directory made but its parent not fsynced before it was used"));
    }

    private static boolean inMaildirTmp(String path, String maildir) {
        return path.startsWith(maildir + "/") && path.substring(maildir.length()).contains("/tmp/");
    }

    /** An fsync of {@code dir} that began after {@code after} and returned before {@code before}. */
    private Optional<DirSynced> dirSynced(String dir, int after, int before) {
        return first(DirSynced.class, s -> s.path().equals(dir) && s.entry() > after && s.exit() < before);
    }

    private <T extends Op> Optional<T> first(Class<T> type, Predicate<T> p) {
        return ops.stream().filter(type::isInstance).map(type::cast).filter(p).findFirst();
    }

    private <T extends Op> Optional<T> last(Class<T> type, Predicate<T> p) {
        return ops.stream().filter(type::isInstance).map(type::cast).filter(p).reduce((a, b) -> b);
    }

    private <T> T fail(String subject, String what) {
        violations.add(subject + ": " + what);
        return null;
    }

    private static String idOf(String path, String suffix) {
        String name = path.substring(path.lastIndexOf('/') + 1);
        return name.endsWith(suffix) ? name.substring(0, name.length() - suffix.length()) : "";
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }
}
