package dev.postern.config;

import java.util.ArrayList;
import java.util.List;

/** Collects every problem of one file, each as a complete line "FILE: KEY: message". */
final class Problems {
    private final String file;
    private final List<String> lines = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    Problems(String file) { this.file = file; }

    void add(String key, String message) { lines.add(file + ": " + key + ": " + message); }

    /** Something that works but should be fixed soon: reported as "FILE: KEY: warning: message", never fatal. */
    void warn(String key, String message) { warnings.add(file + ": " + key + ": warning: " + message); }

    List<String> warnings() { return List.copyOf(warnings); }

    boolean isEmpty() { return lines.isEmpty(); }

    List<String> lines() { return List.copyOf(lines); }
}
