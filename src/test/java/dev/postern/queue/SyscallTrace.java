package dev.postern.queue;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The file-system and socket operations of a process, read from {@code strace -f -tt -yy -s N -xx} output: what the
 * kernel was asked, in the order it answered. Each operation has the trace line where its call began ({@link Op#entry})
 * and where it returned ({@link Op#exit}); a call split by strace into "unfinished" and "resumed" lines is joined.
 * Failed calls (a negative return) are left out. Paths come from {@code -y}: every path is absolute.
 *
 * <p>Files are told from directories by how they came to be: a path created by {@code openat(O_CREAT)} in the trace is
 * a file; an fsync of anything else is a directory fsync (Postern opens directories read-only to fsync them).
 */
public final class SyscallTrace {
    /** One operation, in return order. */
    public sealed interface Op permits Created, Written, Copied, FileSynced, DirSynced, Renamed, Unlinked, DirMade,
            SocketWrite {
        int entry();

        int exit();
    }

    /** A new file at {@code path}; {@code inode} numbers the file for the rest of the trace. */
    public record Created(int entry, int exit, String path, int inode) implements Op {}

    /** {@code bytes} written at {@code offset} of file {@code inode} (write(2) appends where the last write ended). */
    public record Written(int entry, int exit, String path, int inode, long offset, byte[] bytes) implements Op {}

    /**
     * {@code count} bytes copied in the kernel (copy_file_range(2), sendfile(2): Java's transferTo) from file
     * {@code from} into file {@code inode}; the bytes are not in the trace.
     */
    public record Copied(int entry, int exit, String from, String path, int inode, long count) implements Op {}

    /** fsync(2) ({@code dataOnly} false) or fdatasync(2) of file {@code inode}. */
    public record FileSynced(int entry, int exit, String path, int inode, boolean dataOnly) implements Op {}

    /** fsync(2) of a directory. */
    public record DirSynced(int entry, int exit, String path) implements Op {}

    public record Renamed(int entry, int exit, String from, String to, int inode) implements Op {}

    public record Unlinked(int entry, int exit, String path, int inode) implements Op {}

    public record DirMade(int entry, int exit, String path) implements Op {}

    /** Bytes written to a TCP socket ({@code socket} is strace's "TCP:[local->peer]"). */
    public record SocketWrite(int entry, int exit, String socket, byte[] bytes) implements Op {}

    private static final Pattern LINE = Pattern.compile("^(\\d+)\\s+(?:\\d\\d:\\d\\d:\\d\\d\\.\\d+\\s+)?(.*)$");
    private static final Pattern CALL = Pattern.compile("^([a-z0-9_]+)\\((.*)$");
    private static final Pattern RESUMED = Pattern.compile("^<\\.\\.\\. ([a-z0-9_]+) resumed>(.*)$");
    private static final String UNFINISHED = " <unfinished ...>";
    /** An fd argument with its -y annotation; a socket's ("TCP:[a->b]") holds a '>' of its own. */
    private static final Pattern FD = Pattern.compile("(\\d+)<((?:TCP|TCPv6|UDP|UDPv6|UNIX|NETLINK):\\[[^\\]]*\\]|[^>]*)>");
    private static final Pattern STRING = Pattern.compile("\"((?:\\\\x[0-9a-f]{2})*)\"(\\.\\.\\.)?");
    private static final Pattern RESULT = Pattern.compile("^(-?\\d+)(?:<([^>]*)>)?");

    private final List<Op> ops = new ArrayList<>();
    private final Map<String, Integer> names = new HashMap<>(); // path -> inode, as the process sees it now
    private final Map<Integer, Long> ends = new HashMap<>();    // inode -> where write(2) appends
    private final Set<String> dirs = new HashSet<>();
    private int inodes;

    private SyscallTrace() {}

    /** Parses a whole trace. Throws if a string was cut by strace's -s limit (the bytes would be wrong). */
    public static List<Op> parse(List<String> lines) {
        SyscallTrace t = new SyscallTrace();
        Map<String, String[]> pending = new HashMap<>(); // pid -> {name, text so far, entry line}
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = LINE.matcher(lines.get(i));
            if (!m.matches()) continue;
            String pid = m.group(1);
            String rest = m.group(2);
            if (rest.startsWith("---") || rest.startsWith("+++")) continue;
            Matcher resumed = RESUMED.matcher(rest);
            if (resumed.matches()) {
                String[] p = pending.remove(pid);
                if (p != null && p[0].equals(resumed.group(1))) {
                    t.call(p[0], p[1] + resumed.group(2), Integer.parseInt(p[2]), i);
                }
                continue;
            }
            Matcher call = CALL.matcher(rest);
            if (!call.matches()) continue;
            String args = call.group(2);
            if (args.endsWith(UNFINISHED)) {
                pending.put(pid, new String[] {call.group(1), args.substring(0, args.length() - UNFINISHED.length()),
                        Integer.toString(i)});
            } else {
                t.call(call.group(1), args, i, i);
            }
        }
        return List.copyOf(t.ops);
    }

    private void call(String name, String text, int entry, int exit) {
        int close = text.lastIndexOf(") = ");
        if (close < 0) return; // "= ?": the process died in the call
        String args = text.substring(0, close);
        Matcher r = RESULT.matcher(text.substring(close + 4));
        if (!r.find() || Long.parseLong(r.group(1)) < 0) return;
        String retPath = r.group(2) == null ? null : unhex(r.group(2));
        switch (name) {
            case "openat", "open", "creat" -> {
                if (retPath == null) return;
                boolean create = name.equals("creat") || args.contains("O_CREAT");
                if (create && !names.containsKey(retPath)) {
                    int inode = ++inodes;
                    names.put(retPath, inode);
                    ends.put(inode, 0L);
                    ops.add(new Created(entry, exit, retPath, inode));
                }
            }
            case "write", "pwrite64", "writev", "sendto", "sendmsg" -> written(name, args, entry, exit,
                    Long.parseLong(r.group(1)));
            case "copy_file_range", "sendfile", "sendfile64" -> {
                Matcher fd = FD.matcher(args);
                List<String> paths = new ArrayList<>();
                while (fd.find()) paths.add(unhex(fd.group(2)));
                if (paths.size() < 2) return;
                // copy_file_range(in, off, out, ...); sendfile(out, in, ...)
                String from = name.equals("copy_file_range") ? paths.get(0) : paths.get(1);
                String to = name.equals("copy_file_range") ? paths.get(1) : paths.get(0);
                Integer inode = names.get(to);
                long count = Long.parseLong(r.group(1));
                if (inode != null && count > 0) ops.add(new Copied(entry, exit, from, to, inode, count));
            }
            case "fsync", "fdatasync" -> {
                Matcher fd = FD.matcher(args);
                if (!fd.lookingAt()) return;
                String path = unhex(fd.group(2));
                Integer inode = names.get(path);
                if (inode != null) ops.add(new FileSynced(entry, exit, path, inode, name.equals("fdatasync")));
                else ops.add(new DirSynced(entry, exit, path));
            }
            case "rename", "renameat", "renameat2" -> {
                List<String> s = strings(args);
                if (s.size() < 2) return;
                String from = s.get(0);
                String to = s.get(1);
                Integer inode = names.remove(from);
                if (inode == null) return; // not a file of ours (a directory, or made before the trace)
                names.put(to, inode);
                ops.add(new Renamed(entry, exit, from, to, inode));
            }
            case "unlink", "unlinkat" -> {
                List<String> s = strings(args);
                if (s.isEmpty()) return;
                Integer inode = names.remove(s.getFirst());
                if (inode != null) ops.add(new Unlinked(entry, exit, s.getFirst(), inode));
                else dirs.remove(s.getFirst());
            }
            case "mkdir", "mkdirat" -> {
                List<String> s = strings(args);
                if (s.isEmpty()) return;
                dirs.add(s.getFirst());
                ops.add(new DirMade(entry, exit, s.getFirst()));
            }
            default -> { }
        }
    }

    private void written(String name, String args, int entry, int exit, long count) {
        Matcher fd = FD.matcher(args);
        if (!fd.lookingAt()) return;
        String target = fd.group(2);
        byte[] bytes = concat(strings(args.substring(fd.end())));
        if (bytes.length != count) {
            // a short write: only the first count bytes went out
            bytes = java.util.Arrays.copyOf(bytes, (int) Math.min(bytes.length, count));
        }
        if (target.startsWith("TCP")) {
            ops.add(new SocketWrite(entry, exit, target, bytes));
            return;
        }
        String path = unhex(target);
        Integer inode = names.get(path);
        if (inode == null) return; // not a file created in the trace (a log, the terminal)
        long offset;
        if (name.equals("pwrite64")) {
            String[] parts = args.split(", ");
            offset = Long.parseLong(parts[parts.length - 1].strip());
        } else {
            offset = ends.get(inode);
        }
        ends.merge(inode, offset + bytes.length, Math::max);
        ops.add(new Written(entry, exit, path, inode, offset, bytes));
    }

    /** The strings among a call's arguments, decoded. */
    private static List<String> strings(String args) {
        List<String> out = new ArrayList<>();
        Matcher m = STRING.matcher(args);
        while (m.find()) {
            if (m.group(2) != null) {
                throw new IllegalStateException("strace cut a string (raise -s): " + args.substring(0, Math.min(args.length(), 80)));
            }
            out.add(unhex(m.group(1)));
        }
        return out;
    }

    private static byte[] concat(List<String> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String s : parts) out.writeBytes(s.getBytes(ISO_8859_1));
        return out.toByteArray();
    }

    /** Decodes -xx output ("\x2f\x74..."); other text is kept as it is. Bytes map to chars one to one. */
    static String unhex(String s) {
        if (s.indexOf("\\x") < 0) return s;
        StringBuilder b = new StringBuilder(s.length() / 4);
        for (int i = 0; i < s.length(); ) {
            if (s.startsWith("\\x", i) && i + 4 <= s.length()) {
                b.append((char) Integer.parseInt(s, i + 2, i + 4, 16));
                i += 4;
            } else {
                b.append(s.charAt(i++));
            }
        }
        return b.toString();
    }
}
