package dev.postern.files;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableFilesTest {
    @TempDir Path dir;

    /** Every step, in order: "created X", "synced-file X", "renamed X Y", "synced-dir X". */
    static final class Recorder implements DurableFiles.Observer {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override public void directoryCreated(Path d) { events.add("created " + d); }

        @Override public void fileSynced(Path f) { events.add("synced-file " + f); }

        @Override public void renamed(Path from, Path to) { events.add("renamed " + from + " " + to); }

        @Override public void directorySynced(Path d) { events.add("synced-dir " + d); }

        int indexOf(String event) {
            int i = events.indexOf(event);
            assertThat(i).as("%s in %s", event, events).isNotNegative();
            return i;
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    private List<Path> leftovers() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
        }
    }

    @Test void writeCreatesMissingDirectoriesDurablyAndPrivately() throws IOException {
        Recorder r = new Recorder();
        Path target = dir.resolve("a/b/c/file");
        DurableFiles.observed(r).write(target, "hello".getBytes(UTF_8));

        assertThat(Files.readString(target)).isEqualTo("hello");
        assertThat(mode(target)).isEqualTo("rw-------");
        for (Path d : List.of(dir.resolve("a"), dir.resolve("a/b"), dir.resolve("a/b/c"))) {
            assertThat(mode(d)).as(d.toString()).isEqualTo("rwx------");
            // a new directory exists after a crash only once its parent is fsynced
            assertThat(r.indexOf("synced-dir " + d.getParent())).as(d.toString())
                    .isGreaterThan(r.indexOf("created " + d));
        }
        String temp = r.events.stream().filter(e -> e.startsWith("synced-file ")).findFirst().orElseThrow()
                .substring("synced-file ".length());
        assertThat(Path.of(temp).getParent()).isEqualTo(target.getParent()); // same directory: rename is atomic
        int renamed = r.indexOf("renamed " + temp + " " + target);
        assertThat(renamed).isGreaterThan(r.indexOf("synced-file " + temp));
        assertThat(r.events.getLast()).isEqualTo("synced-dir " + target.getParent());
        assertThat(leftovers()).isEmpty();
    }

    @Test void existingDirectoriesAreNeitherRecreatedNorChanged() throws IOException {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-x---"));
        Recorder r = new Recorder();
        List<Path> created = DurableFiles.observed(r).createDirectories(shared.resolve("x"), shared.resolve("y"));
        assertThat(created).containsExactly(shared.resolve("x"), shared.resolve("y"));
        assertThat(mode(shared)).isEqualTo("rwxr-x---");
        assertThat(r.events).containsExactly("created " + shared.resolve("x"), "created " + shared.resolve("y"),
                "synced-dir " + shared); // one fsync for both entries
        assertThat(DurableFiles.observed(r).createDirectories(shared.resolve("x"))).isEmpty();
    }

    @Test void aFileInTheWayOfADirectoryFails() throws IOException {
        Files.writeString(dir.resolve("f"), "x");
        assertThatThrownBy(() -> DurableFiles.SYSTEM.createDirectories(dir.resolve("f/sub")))
                .isInstanceOf(IOException.class);
    }

    @Test void existingTargetIsReplacedAndTheOldModeDoesNotSurvive() throws IOException {
        Path target = dir.resolve("users");
        Files.writeString(target, "old");
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        DurableFiles.SYSTEM.write(target, "new".getBytes(UTF_8));
        assertThat(Files.readString(target)).isEqualTo("new");
        assertThat(mode(target)).isEqualTo("rw-------");
        assertThat(leftovers()).isEmpty();
    }

    @Test void publicModeOnRequest() throws IOException {
        Path target = dir.resolve("cert.pem");
        DurableFiles.SYSTEM.write(target, "cert".getBytes(UTF_8), DurableFiles.PUBLIC_FILE);
        assertThat(mode(target)).isEqualTo("rw-r--r--");
    }

    @Test void readersSeeTheOldOrTheNewContentNeverAPart() throws Exception {
        Path target = dir.resolve("overrides");
        byte[] a = new byte[256 * 1024];
        byte[] b = new byte[128 * 1024];
        Arrays.fill(a, (byte) 'a');
        Arrays.fill(b, (byte) 'b');
        DurableFiles.SYSTEM.write(target, a);
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger reads = new AtomicInteger();
        List<String> torn = new CopyOnWriteArrayList<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                try {
                    byte[] seen = Files.readAllBytes(target);
                    reads.incrementAndGet();
                    if (!Arrays.equals(seen, a) && !Arrays.equals(seen, b)) torn.add(seen.length + " bytes");
                } catch (NoSuchFileException e) {
                    torn.add("missing");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        });
        for (int i = 0; i < 100; i++) DurableFiles.SYSTEM.write(target, i % 2 == 0 ? b : a);
        done.set(true);
        reader.join();
        assertThat(torn).isEmpty();
        assertThat(reads.get()).isPositive();
        assertThat(leftovers()).isEmpty();
    }

    @Test void aFailedFsyncLeavesTheTargetAsItWasAndNoTemporaryFile() throws IOException {
        Path target = dir.resolve("overrides");
        Files.writeString(target, "old");
        DurableFiles failing = DurableFiles.observed(new DurableFiles.Observer() {
            @Override public void fileSynced(Path file) { throw new UncheckedIOException(new IOException("EIO")); }
        });
        assertThatThrownBy(() -> failing.write(target, "new".getBytes(UTF_8))).hasMessageContaining("EIO");
        assertThat(Files.readString(target)).isEqualTo("old");
        assertThat(leftovers()).isEmpty();
    }

    @Test void aFailedRenameLeavesNoTemporaryFile() throws IOException {
        Path target = Files.createDirectories(dir.resolve("busy"));
        Files.writeString(target.resolve("inside"), "x"); // rename(2) cannot replace a non-empty directory
        assertThatThrownBy(() -> DurableFiles.SYSTEM.write(target, "new".getBytes(UTF_8)))
                .isInstanceOf(FileSystemException.class);
        assertThat(Files.readString(target.resolve("inside"))).isEqualTo("x");
        assertThat(leftovers()).isEmpty();
    }

    @Test void writeNewReplacesALeftoverAndSyncsTheFileOnly() throws IOException {
        Path file = dir.resolve("ID.env");
        Files.writeString(file, "left by a failed attempt");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
        Recorder r = new Recorder();
        DurableFiles.observed(r).writeNew(file, "envelope".getBytes(UTF_8));
        assertThat(Files.readString(file)).isEqualTo("envelope");
        assertThat(mode(file)).isEqualTo("rw-------");
        assertThat(r.events).containsExactly("synced-file " + file); // the group committer syncs the directory
    }

    @Test void createNewRefusesAnExistingFileOrLink() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim"), "x");
        Path link = Files.createSymbolicLink(dir.resolve("link"), victim);
        assertThatThrownBy(() -> DurableFiles.SYSTEM.createNew(link).close()).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> DurableFiles.SYSTEM.createNew(victim).close()).isInstanceOf(IOException.class);
        assertThat(Files.readString(victim)).isEqualTo("x");
    }

    @Test void appendCreatesAPrivateLogAndSyncsItsDirectoryOnce() throws IOException {
        Path log = dir.resolve("policy/overrides.log");
        Recorder r = new Recorder();
        DurableFiles files = DurableFiles.observed(r);
        files.append(log, "one\n".getBytes(UTF_8));
        assertThat(r.events).containsExactly("created " + log.getParent(), "synced-dir " + dir,
                "synced-file " + log, "synced-dir " + log.getParent());
        r.events.clear();
        files.append(log, "two\n".getBytes(UTF_8));
        assertThat(r.events).containsExactly("synced-file " + log);
        assertThat(Files.readString(log)).isEqualTo("one\ntwo\n");
        assertThat(mode(log)).isEqualTo("rw-------");
        assertThat(mode(log.getParent())).isEqualTo("rwx------");
    }
}
