package dev.postern.local;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.files.DurableFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Maildir delivery: a message counts as delivered only once file, entry and every new directory are durable. */
class MaildirDeliveryTest {
    @TempDir Path dir;

    private final List<String> events = new CopyOnWriteArrayList<>();
    private final DurableFiles observed = DurableFiles.observed(new DurableFiles.Observer() {
        @Override public void directoryCreated(Path d) { events.add("created " + d); }

        @Override public void fileSynced(Path f) { events.add("synced-file " + f); }

        @Override public void renamed(Path from, Path to) { events.add("renamed " + to); }

        @Override public void directorySynced(Path d) { events.add("synced-dir " + d); }
    });

    private int index(String event) {
        int i = events.indexOf(event);
        assertThat(i).as("%s in %s", event, events).isNotNegative();
        return i;
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test void aFirstDeliveryMakesEveryNewDirectoryDurable() throws IOException {
        Path root = dir.resolve("data/mail");
        Files.createDirectories(root.getParent());
        MaildirDelivery maildir = new MaildirDelivery(root, "gw.example", observed);
        Path delivered = maildir.deliver("Bob@Example.com", new ByteArrayInputStream("Subject: hi\r\n\r\nx\r\n"
                .getBytes(UTF_8)));

        Path box = root.resolve("example.com/bob");
        assertThat(delivered.getParent()).isEqualTo(box.resolve("new"));
        assertThat(Files.readString(delivered)).startsWith("Delivered-To: Bob@Example.com\r\nSubject: hi");
        int done = events.size();
        for (Path d : List.of(root, root.resolve("example.com"), box, box.resolve("tmp"), box.resolve("new"),
                box.resolve("cur"))) {
            int created = index("created " + d);
            int parentSynced = index("synced-dir " + d.getParent());
            assertThat(parentSynced).as("parent of %s fsynced after it was made", d).isGreaterThan(created)
                    .isLessThan(done);
            assertThat(mode(d)).as(d.toString()).isEqualTo("rwx------");
        }
        String tmpFile = box.resolve("tmp").resolve(delivered.getFileName()).toString();
        assertThat(index("synced-file " + tmpFile)).isLessThan(index("renamed " + delivered));
        assertThat(events.getLast()).isEqualTo("synced-dir " + box.resolve("new"));
        assertThat(mode(delivered)).isEqualTo("rw-------");
        assertThat(box.resolve("tmp")).isEmptyDirectory();
    }

    @Test void aLaterDeliveryCreatesNothingAndSyncsOnlyNew() throws IOException {
        Path root = dir.resolve("mail");
        MaildirDelivery maildir = new MaildirDelivery(root, "gw.example", observed);
        maildir.deliver("bob@example.com", new ByteArrayInputStream("one\r\n".getBytes(UTF_8)));
        events.clear();
        Path second = maildir.deliver("bob@example.com", new ByteArrayInputStream("two\r\n".getBytes(UTF_8)));
        assertThat(events).filteredOn(e -> e.startsWith("created ")).isEmpty();
        assertThat(events).filteredOn(e -> e.startsWith("synced-dir ")).containsExactly("synced-dir " + second.getParent());
    }
}
