package dev.postern.local;

import dev.postern.files.DurableFiles;
import dev.postern.names.Domains;
import dev.postern.recipients.LocalParts;
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
     * The Maildir of a recipient "local@domain": {@code ROOT/<domain>/<local>/}, each part made a safe, distinct
     * directory name by {@link #directoryName}. The domain is taken in its A-label form; a quoted local part is
     * unquoted first ({@code "john"@example.com} is {@code john@example.com}, RFC 5321 §2.4), then lower-cased.
     */
    public Path maildir(String recipient) {
        int at = recipient.lastIndexOf('@');
        if (at < 0) throw new IllegalArgumentException("not an address: " + recipient);
        String domain = recipient.substring(at + 1);
        String ascii = Domains.toAsciiOrNull(domain);
        String local = LocalParts.key(recipient.substring(0, at));
        return root.resolve(directoryName(ascii != null ? ascii : domain.toLowerCase(Locale.ROOT)))
                .resolve(directoryName(local));
    }

    /**
     * A directory name for one address part that is safe whatever the part holds, and distinct for distinct parts:
     * letters, digits, marks and {@code . - _ + = ~} stay; every other character (a '/', '\\', NUL, control or
     * space character, '%' itself) becomes %XX for each of its UTF-8 bytes, and so does a leading '.', so the result is
     * never "", ".", ".." or a hidden name and never leaves its parent directory. The empty string maps to "%", which
     * no other input can produce.
     */
    static String directoryName(String part) {
        if (part.isEmpty()) return "%";
        StringBuilder b = new StringBuilder(part.length());
        for (int i = 0; i < part.length(); ) {
            int cp = part.codePointAt(i);
            boolean keep = cp < 128 ? (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')
                    || SAFE_SYMBOLS.indexOf(cp) >= 0 && !(cp == '.' && i == 0)
                    : Character.isLetterOrDigit(cp) || isMark(cp);
            if (keep) {
                b.appendCodePoint(cp);
            } else {
                for (byte octet : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                    b.append('%').append(HEX[(octet >> 4) & 0xf]).append(HEX[octet & 0xf]);
                }
            }
            i += Character.charCount(cp);
        }
        return b.toString();
    }

    /** Kept as they are; other ASCII symbols are shell metacharacters in scripts that walk Maildirs, so encoded. */
    private static final String SAFE_SYMBOLS = ".-_+=~";
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private static boolean isMark(int cp) {
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK;
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
}
