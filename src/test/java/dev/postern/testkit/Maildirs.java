package dev.postern.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What a gateway in a test delivered to its local Maildirs. */
public final class Maildirs {
    private Maildirs() {}

    /** The messages in a local recipient's Maildir (new/) under {@code data}, oldest name first. */
    public static List<String> mailbox(Path data, String rcpt) {
        int at = rcpt.indexOf('@');
        Path dir = data.resolve("mail").resolve(rcpt.substring(at + 1)).resolve(rcpt.substring(0, at)).resolve("new");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().map(p -> {
                try {
                    return Files.readString(p, StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
