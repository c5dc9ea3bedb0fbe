package dev.postern.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import com.fasterxml.jackson.dataformat.toml.TomlReadFeature;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** Reads a TOML config file into a validated {@link Config}, or provides the embedded default. */
public final class ConfigLoader {
    // Dates become typed values rather than strings, so `hostname = 2024-01-01` is reported as the wrong type.
    private static final TomlMapper TOML = TomlMapper.builder().enable(TomlReadFeature.PARSE_JAVA_TIME).build();

    private ConfigLoader() {}

    /**
     * Loads and validates {@code file}. All problems are collected, not just the first: the exception carries one line
     * per problem, each "FILE: KEY: expected ..., got ..." (e.g.
     * {@code postern.toml: listeners[1].address: expected host:port, got "25"}). Unknown keys are errors too (typos
     * must not silently fall back to defaults). Relative paths are resolved against the file's directory. A TOML
     * syntax error is one line "FILE:LINE:COLUMN: invalid TOML: ...".
     */
    public static Config load(Path file) throws ConfigException {
        return load(file, TlsCheck.NONE, warning -> {});
    }

    /**
     * As {@link #load(Path)}, with certificate and key files checked by {@code check} (what they hold, a key against
     * its certificate); lines that do not fail the file (a certificate outside its validity) go to {@code warnings},
     * each "FILE: KEY: warning: ...". {@code postern config check} and {@code postern serve} load this way.
     */
    public static Config load(Path file, TlsCheck check, java.util.function.Consumer<String> warnings)
            throws ConfigException {
        String label = file.toString();
        String text = read(file, label);
        JsonNode root;
        try {
            root = TOML.readTree(text);
        } catch (JacksonException e) {
            throw new ConfigException(List.of(label + where(text, e) + ": invalid TOML: " + e.getOriginalMessage()));
        } catch (RuntimeException e) {
            // the TOML parser lets some errors of the text through unwrapped: a date such as 2024-41-01 is a
            // DateTimeParseException (found by ConfigLoaderFuzzTest); still one line, never a stack trace
            throw new ConfigException(List.of(label + ": invalid TOML: " + e.getMessage()));
        }
        Path absolute = file.toAbsolutePath().normalize();
        Problems problems = new Problems(label);
        Config config = new Validator(absolute.getParent(), problems, check).validate(root, absolute);
        if (config == null) throw new ConfigException(problems.lines());
        problems.warnings().forEach(warnings);
        return config;
    }

    /**
     * The embedded default: what an empty config file gives, with {@code data_dir} set to {@code dataDir}. Listeners
     * are loopback only: 127.0.0.1:2525 (mx), 127.0.0.1:2587 (submission), 127.0.0.1:2465 (submissions).
     */
    public static Config defaults(Path dataDir) {
        Path cwd = Path.of("").toAbsolutePath();
        ObjectNode root = JsonNodeFactory.instance.objectNode().put("data_dir", dataDir.toAbsolutePath().toString());
        Problems problems = new Problems("(embedded default)");
        Config config = new Validator(cwd, problems).validate(root, null);
        if (config == null) throw new IllegalArgumentException(String.join("\n", problems.lines()));
        return config;
    }

    /** ":LINE:COLUMN" of a syntax error, both 1-based. */
    private static String where(String text, JacksonException e) {
        JsonLocation at = e.getLocation();
        if (at == null || at.getLineNr() < 1) return "";
        int line = at.getLineNr(), column = at.getColumnNr();
        if ("Duplicate key".equals(e.getOriginalMessage())) {
            // Jackson notices a duplicate only at the token after it; point at the key-value that came before.
            String[] lines = text.split("\\r?\\n", -1);
            for (int l = Math.min(line, lines.length); l >= 1; l--) {
                String content = l == line ? lines[l - 1].substring(0, Math.min(column - 1, lines[l - 1].length()))
                        : lines[l - 1];
                String code = content.strip();
                if (!code.isEmpty() && !code.startsWith("#")) {
                    return ":" + l + ":" + (content.indexOf(code.charAt(0)) + 1);
                }
            }
        }
        return ":" + line + ":" + column;
    }

    private static String read(Path file, String label) throws ConfigException {
        try {
            if (Files.isDirectory(file)) throw problem(label, "expected a config file, got a directory");
            return Files.readString(file); // strict UTF-8, as TOML requires
        } catch (NoSuchFileException e) {
            throw problem(label, "file not found");
        } catch (AccessDeniedException e) {
            throw problem(label, "permission denied");
        } catch (CharacterCodingException e) {
            throw problem(label, "expected UTF-8 text (TOML files are UTF-8), got other bytes");
        } catch (IOException e) {
            throw problem(label, "cannot read: " + e.getMessage());
        }
    }

    private static ConfigException problem(String label, String message) {
        return new ConfigException(List.of(label + ": " + message));
    }
}
