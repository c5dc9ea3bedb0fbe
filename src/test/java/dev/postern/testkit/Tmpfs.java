package dev.postern.testkit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * A real, small file system for disk-full tests: a tmpfs of a given size mounted by the test on a directory of its own
 * (the tests run as root in CI), and a filler file grown or removed to set the space left. Skips the test (a JUnit
 * assumption, with the reason) where mounting is refused, e.g. in a container without CAP_SYS_ADMIN.
 */
public final class Tmpfs implements AutoCloseable {
    private final Path dir;
    private final Path filler;

    private Tmpfs(Path dir, Path filler) {
        this.dir = dir;
        this.filler = filler;
    }

    /** Mounts a tmpfs of {@code megabytes} MiB on {@code dir} (created); the filler lives in {@code dir/filler}. */
    public static Tmpfs mount(Path dir, int megabytes) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String out = run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m,mode=0700", "tmpfs", dir.toString());
        assumeTrue(out == null, () -> "ASSUMPTION: the disk-full tests need to mount a tmpfs (root, CAP_SYS_ADMIN);"
                + " mount said: " + out);
        return new Tmpfs(dir, dir.resolve("filler"));
    }

    public Path dir() { return dir; }

    /** Bytes an unprivileged writer could still write (statvfs f_bavail; a tmpfs has no root reserve). */
    public long free() throws IOException {
        return Files.getFileStore(dir).getUsableSpace();
    }

    /**
     * Grows (or shrinks) the filler so that about {@code bytes} are left free (to the page, 4 KiB); 0 fills the file
     * system to the last block (the write that no longer fits is how the filler knows it is full).
     */
    public void leave(long bytes) throws IOException {
        long target = Math.max(0, Files.exists(filler) ? Files.size(filler) + free() - bytes : free() - bytes);
        try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            if (ch.size() > target) {
                ch.truncate(target);
                return;
            }
            ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
            long at = ch.size();
            while (at < target) {
                zeros.clear();
                if (target - at < zeros.capacity()) zeros.limit((int) (target - at));
                try {
                    at += ch.write(zeros, at);
                } catch (IOException e) { // No space left on device: as full as it gets
                    if (bytes == 0) return;
                    throw e;
                }
            }
        }
    }

    /** Removes the filler: the space comes back. */
    public void empty() throws IOException {
        Files.deleteIfExists(filler);
    }

    /** Unmounts (lazily, so a file still open in a closing gateway does not keep the mount). */
    @Override public void close() throws IOException, InterruptedException {
        String out = run("umount", "-l", dir.toString());
        if (out != null) throw new IOException("umount " + dir + ": " + out);
    }

    /** Runs a command; null when it succeeded, else what it printed (or why it could not run). */
    private static String run(String... command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "timed out";
            }
            String text = new String(p.getInputStream().readAllBytes()).strip();
            return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + text;
        } catch (IOException e) {
            return e.getMessage();
        }
    }
}
