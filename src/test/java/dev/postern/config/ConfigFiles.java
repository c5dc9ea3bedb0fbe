package dev.postern.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes a config file in a test's directory and loads it, or collects the problem lines it gives. */
final class ConfigFiles {
    private final Path dir;

    ConfigFiles(Path dir) { this.dir = dir; }

    Path write(String toml) throws IOException {
        Path file = dir.resolve("postern.toml");
        Files.writeString(file, toml);
        return file;
    }

    Config load(String toml) throws IOException, ConfigException {
        return ConfigLoader.load(write(toml));
    }

    /** The problem lines of {@code toml}, each checked to start with the file and then shortened to postern.toml. */
    List<String> problems(String toml) throws IOException {
        Path file = write(toml);
        try {
            ConfigLoader.load(file);
        } catch (ConfigException e) {
            return e.problems().stream().map(p -> {
                if (!p.startsWith(file + ": ")) throw new AssertionError("not naming the file: " + p);
                return "postern.toml: " + p.substring(file.toString().length() + 2);
            }).toList();
        }
        throw new AssertionError("expected a ConfigException for:\n" + toml);
    }
}
