package dev.postern.testkit;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a process still holds open, read from {@code /proc}: TCP sockets to or from one port, and files under one
 * directory. Test classes run in parallel in one JVM, so a process-wide descriptor count says nothing; counting only
 * the sockets that touch a test's own server port (or the files under its own directory) does.
 */
public final class Leaks {
    private Leaks() {}

    /** TCP sockets of this JVM whose local or remote port is {@code port}, in any state but LISTEN. */
    public static int socketsOnPort(int port) {
        return socketsOnPort(ProcessHandle.current().pid(), port);
    }

    /** TCP sockets of process {@code pid} whose local or remote port is {@code port}, in any state but LISTEN. */
    public static int socketsOnPort(long pid, int port) {
        Set<String> inodes = socketInodes(pid);
        int n = 0;
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines;
            try {
                lines = Files.readAllLines(Path.of(table));
            } catch (IOException e) {
                continue; // no IPv6 in this kernel
            }
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 10 || f[3].equals("0A")) continue; // 0A = LISTEN
                if (!inodes.contains(f[9])) continue;
                if (port(f[1]) == port || port(f[2]) == port) n++;
            }
        }
        return n;
    }

    /** Open file descriptors of this JVM that name a file under {@code dir}. */
    public static int filesUnder(Path dir) {
        return filesUnder(ProcessHandle.current().pid(), dir);
    }

    /** Open file descriptors of process {@code pid} that name a file under {@code dir}. */
    public static int filesUnder(long pid, Path dir) {
        String prefix = dir.toAbsolutePath().normalize() + "/";
        int n = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().startsWith(prefix)) n++;
                } catch (IOException e) {
                    // closed while we looked
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/" + pid + "/fd", e);
        }
        return n;
    }

    /** Live threads of this JVM whose name starts with {@code prefix} (virtual threads are not listed). */
    public static int threadsNamed(String prefix) {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

    private static Set<String> socketInodes(long pid) {
        Set<String> inodes = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) inodes.add(target.substring(8, target.length() - 1));
                } catch (IOException e) {
                    // closed while we looked
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/" + pid + "/fd", e);
        }
        return inodes;
    }

    private static int port(String hexAddress) {
        return Integer.parseInt(hexAddress.substring(hexAddress.lastIndexOf(':') + 1).toUpperCase(Locale.ROOT), 16);
    }
}
