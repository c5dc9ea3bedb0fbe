package dev.postern.config;

import java.nio.file.Path;

/** Reads a TOML config file into a validated {@link Config}, or provides the embedded default. */
public final class ConfigLoader {
    private ConfigLoader() {}

    /**
     * Loads and validates {@code file}. All problems are collected, not just the first: the exception carries one line
     * per problem, each "FILE: KEY: expected ..., got ..." (e.g.
     * {@code postern.toml: listeners[1].address: expected host:port, got "25"}). Unknown keys are errors too (typos
     * must not silently fall back to defaults). Relative paths are resolved against the file's directory.
     */
    public static Config load(Path file) throws ConfigException {
        throw new UnsupportedOperationException("TODO");
    }

    /** The embedded default: loopback listeners on 2525 (mx), 2587 (submission), 2465 (submissions). */
    public static Config defaults(Path dataDir) {
        throw new UnsupportedOperationException("TODO");
    }
}
