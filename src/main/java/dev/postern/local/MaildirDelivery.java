package dev.postern.local;

import dev.postern.files.DurableFiles;
import dev.postern.names.Domains;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delivers to {@code ROOT/<domain>/<localpart>/{tmp,new,cur}} the Maildir way: write to tmp, fsync, rename into new,
 * fsync the directory. A message is reported delivered only once it would survive a crash, directories included: a
 * Maildir created for the message is fsynced into its parent before (so the spool copy is never the only one left).
 * Files are 0600 and directories 0700 whatever the umask.
 */
public final class MaildirDelivery {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Path root;
    private final String hostname;
    private final DurableFiles files;

    public MaildirDelivery(Path root, String hostname) {
        this(root, hostname, DurableFiles.SYSTEM);
    }

    /** Writing through {@code files} (tests observe the fsyncs). */
    public MaildirDelivery(Path root, String hostname, DurableFiles files) {
        this.root = root;
        this.files = files;
        this.hostname = hostname.replace('/', '_').replace(':', '_');
    }

    /**
     * The Maildir of a recipient "local@domain": the domain in its lookup form (A-labels, as every lookup uses), local
     * parts lower-cased; both made safe as a file name.
     */
    public Path maildir(String recipient) {
        int at = recipient.lastIndexOf('@');
        String local = safe(recipient.substring(0, at));
        String written = recipient.substring(at + 1);
        String key = Domains.toAsciiOrNull(written);
        String domain = safe(key != null ? key : written);
        return root.resolve(domain).resolve(local);
    }

    /**
     * Writes {@code content} (prefixed by {@code deliveredTo} as a Delivered-To header) into the recipient's Maildir.
     *
     * @return the path of the delivered file
     */
    public Path deliver(String recipient, InputStream content) throws IOException {
        Path dir = maildir(recipient);
        Path tmp = dir.resolve("tmp");
        Path fresh = dir.resolve("new");
        files.createDirectories(tmp, fresh, dir.resolve("cur"));
        String name = System.currentTimeMillis() / 1000 + ".P" + ProcessHandle.current().pid() + "Q"
                + SEQUENCE.incrementAndGet() + "." + hostname;
        Path file = tmp.resolve(name);
        Path target = fresh.resolve(name);
        try (FileChannel ch = files.createNew(file)) {
            OutputStream out = Channels.newOutputStream(ch);
            out.write(("Delivered-To: " + recipient + "\r\n").getBytes(StandardCharsets.UTF_8));
            content.transferTo(out);
            files.sync(ch, file);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        try {
            files.rename(file, target);
        } catch (IOException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        files.syncDirectory(fresh);
        return target;
    }

    private static String safe(String s) {
        String lower = s.toLowerCase(Locale.ROOT);
        StringBuilder b = new StringBuilder(lower.length());
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            b.append(c == '/' || c == '\\' || c == '\0' || c < 0x20 ? '_' : c);
        }
        if (b.isEmpty() || b.charAt(0) == '.') b.insert(0, '_'); // never "", ".", ".." or a hidden name
        return b.toString();
    }
}
