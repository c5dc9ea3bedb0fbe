package dev.postern.cli;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where a command finds its configuration when no {@code --config} is given: {@code $POSTERN_CONFIG}, else the
 * system-wide file when it exists, else the embedded default. The environment and the system file are values here so
 * that a test can run a command against its own (see {@link Main#run(ConfigDefaults, String...)}); a real run uses
 * {@link #system()}.
 */
record ConfigDefaults(Map<String, String> environment, Path systemFile) {
    /** The variable that names a config file for every command without {@code --config}. */
    static final String VARIABLE = "POSTERN_CONFIG";
    /** Where the Debian package puts the configuration (and Postfix its main.cf: /etc/postfix). */
    static final Path SYSTEM_FILE = Path.of("/etc/postern/postern.toml");

    /** The defaults a command run by Main sees (a scoped value, so in-JVM test runs never share one). */
    static final ScopedValue<ConfigDefaults> CURRENT = ScopedValue.newInstance();

    static ConfigDefaults system() {
        return new ConfigDefaults(System.getenv(), SYSTEM_FILE);
    }

    static ConfigDefaults current() {
        return CURRENT.orElse(system());
    }

    /** The file named by {@code $POSTERN_CONFIG}, or null when it is unset or empty. */
    Path fromEnvironment() {
        String value = environment.get(VARIABLE);
        return value == null || value.isBlank() ? null : Path.of(value);
    }
}
