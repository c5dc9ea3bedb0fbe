package dev.postern.recipients;

import dev.postern.files.WatchedFile;
import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import dev.postern.smtp.AddressException;
import dev.postern.smtp.Mailbox;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * The recipients of one or more domains: a UTF-8 text file with one entry per line, blank lines and lines starting with
 * {@code #} ignored. An entry is an address {@code john@example.com} (that domain only), a local part {@code john}
 * (every domain that uses the file), or {@code @example.com}, which accepts every local part of that domain (a
 * catch-all, written down as a choice). Local parts compare case-insensitively and unquoted; domains in A-label form.
 */
public final class RecipientList {

    private final Set<String> addresses;   // "key@ascii-domain"
    private final Set<String> localParts;  // keys, for any domain
    private final Set<String> catchAll;    // ascii domains

    private RecipientList(Set<String> addresses, Set<String> localParts, Set<String> catchAll) {
        this.addresses = Set.copyOf(addresses);
        this.localParts = Set.copyOf(localParts);
        this.catchAll = Set.copyOf(catchAll);
    }

    /** Whether {@code localPart} (as written in RCPT) exists in {@code asciiDomain} (A-label form). */
    public boolean contains(String localPart, String asciiDomain) {
        String key = LocalParts.key(localPart);
        return catchAll.contains(asciiDomain) || localParts.contains(key) || addresses.contains(key + "@" + asciiDomain);
    }

    /** How many entries the file had. */
    public int size() { return addresses.size() + localParts.size() + catchAll.size(); }

    /**
     * Reads a list. Throws IOException when the file cannot be read or has a bad line; the message is one line naming
     * the file and line ("recipients:3: expected ...").
     */
    public static RecipientList load(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8); // malformed UTF-8 throws, never replaced
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": expected UTF-8 text");
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": file not found");
        }
        Set<String> addresses = new HashSet<>(), localParts = new HashSet<>(), catchAll = new HashSet<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String where = file + ":" + (i + 1) + ": ";
            try {
                if (line.startsWith("@")) {
                    catchAll.add(Domains.toAscii(line.substring(1)));
                } else if (line.indexOf('@') >= 0 && !line.startsWith("\"") || line.matches("\".*\"@.*")) {
                    Mailbox m = Mailbox.parse(line);
                    addresses.add(LocalParts.key(m.localPart()) + "@" + Domains.toAscii(m.domain()));
                } else {
                    // A local part alone: checked as the local part of an address.
                    localParts.add(LocalParts.key(Mailbox.parse(line + "@localhost").localPart()));
                }
            } catch (AddressException | InvalidDomainException e) {
                throw new IOException(where + "expected an address like john@example.com, a local part like john or "
                        + "a catch-all like @example.com, got \"" + line + "\" (" + e.getMessage() + ")");
            }
        }
        return new RecipientList(addresses, localParts, catchAll);
    }

    /**
     * A list that follows changes on disk, like the users file: {@link #current()} re-reads the file when its
     * modification time, size or identity changed. A file that has become unreadable, malformed or missing is logged
     * and the last good version kept, so a half-edited file does not turn every recipient away. Thread-safe.
     */
    public static final class Watcher {
        private final WatchedFile<RecipientList> watched;

        /** Reads the file now; a missing or bad file is an error here (at start), unlike at later changes. */
        public Watcher(Path file) throws IOException {
            this.watched = new WatchedFile<>(file, "recipients file", RecipientList::load,
                    list -> list.size() + " entries");
        }

        public Path file() { return watched.file(); }

        /** The list as it is on disk now, or the last good version of it. */
        public RecipientList current() { return watched.current(); }
    }
}
