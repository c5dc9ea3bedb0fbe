package dev.postern.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Function;

/** Validates {@code [audit]}: where the audit store is and how the writer in front of it is bounded. */
final class AuditValidator {
    static final Duration MIN_RETENTION = Duration.ofDays(1);
    static final Duration MAX_RETENTION = Duration.ofDays(3650);
    private static final String URL = "a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:";
    private static final String GATEWAY_NAME = "a name of 1 to 253 printable ASCII characters without spaces,"
            + " like mx1.example.com";

    private final Function<String, Path> readableFile;

    AuditValidator(Function<String, Path> readableFile) {
        this.readableFile = readableFile;
    }

    Config.Audit audit(Table t) {
        Config.Audit d = Config.Audit.DEFAULT;
        String url = t.string("url", d.url(), URL, AuditValidator::url);
        String user = t.string("user", d.user(), "a database user name", AuditValidator::user);
        Path passwordFile = t.string("password_file", d.passwordFile(), "a file path", this::passwordFile);
        String gatewayName = t.string("gateway_name", d.gatewayName(), GATEWAY_NAME, AuditValidator::gatewayName);
        Duration retention = t.duration("retention", d.retention(), MIN_RETENTION, MAX_RETENTION);
        int queueSize = t.integer("queue_size", d.queueSize(), 100, 10_000_000);
        long spillMax = t.size("spill_max", d.spillMax(), 1L << 20, 1L << 40);
        // user and password only mean something to PostgreSQL; a bad url was reported already
        boolean urlReported = t.has("url") && url == null;
        boolean postgres = url != null && url.startsWith("jdbc:postgresql:");
        for (String key : new String[] {"user", "password_file"}) {
            if (t.has(key) && !postgres && !urlReported) {
                t.problem(key, "expected " + key + " only with a jdbc:postgresql: url (SQLite has no users), got "
                        + Table.render(t.raw(key)) + " with " + (url == null ? "the default SQLite store" : url));
            }
        }
        t.finish();
        return new Config.Audit(url, user, passwordFile, gatewayName, retention, queueSize, spillMax);
    }

    /**
     * The store reads the first line as the password when it connects, beside the start-up: an empty or binary file
     * would only show as a refused login in the log, with the records waiting in the spill.
     */
    private Path passwordFile(String text) {
        Path p = readableFile.apply(text);
        String first;
        try {
            first = java.nio.file.Files.readString(p).lines().findFirst().orElse("");
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(Syntax.invalid("a text file whose first line is the password", text)
                    .getMessage() + " (" + (e instanceof java.nio.charset.CharacterCodingException
                    ? "not UTF-8 text" : e.getMessage()) + ")");
        }
        if (first.isEmpty()) {
            throw new IllegalArgumentException(Syntax.invalid("a text file whose first line is the password", text)
                    .getMessage() + " (its first line is empty)");
        }
        return p;
    }

    /**
     * A password in the URL would sit in a config file that is often world-readable, and problem lines echo values:
     * it belongs in {@code password_file}. Checked first, so this message never repeats the URL.
     */
    private static String url(String s) {
        if (s.toLowerCase(Locale.ROOT).contains("password=")) {
            throw new IllegalArgumentException("expected " + URL + " without a password (put it in password_file),"
                    + " got a URL with password=");
        }
        if (!s.startsWith("jdbc:sqlite:") && !s.startsWith("jdbc:postgresql:")
                || s.length() <= "jdbc:sqlite:".length() || !printable(s, false)) {
            throw Syntax.invalid(URL, s);
        }
        return s;
    }

    private static String user(String s) {
        if (s.isEmpty() || s.length() > 255 || !printable(s, true)) throw Syntax.invalid("a database user name", s);
        return s;
    }

    private static String gatewayName(String s) {
        if (s.isEmpty() || s.length() > 253 || !printable(s, false)) throw Syntax.invalid(GATEWAY_NAME, s);
        return s;
    }

    /** Printable ASCII (spaces only when {@code spaces}). */
    private static boolean printable(String s, boolean spaces) {
        return s.chars().allMatch(c -> c > 0x20 && c < 0x7f || spaces && c == ' ');
    }
}
