package dev.postern.config;

import java.util.ArrayList;
import java.util.List;

/** Collects every problem of one file, each as a complete line "FILE: KEY: message". */
final class Problems {
    private final String file;
    private final List<String> lines = new ArrayList<>();

    Problems(String file) { this.file = file; }

    void add(String key, String message) { lines.add(file + ": " + key + ": " + message); }

    boolean isEmpty() { return lines.isEmpty(); }

    List<String> lines() { return List.copyOf(lines); }
}
