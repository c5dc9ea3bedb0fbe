package dev.postern.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.POJONode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * One TOML table being validated. Every key asked for becomes "known"; {@link #finish()} reports the rest as unknown,
 * so a typo never silently falls back to a default. Mistyped or invalid values are reported and the fallback returned,
 * so that validation carries on and collects every problem.
 */
final class Table {
    private final JsonNode node; // an object node, or null when the table is absent or was not a table
    private final String path;
    private final Problems problems;
    private final Set<String> known = new LinkedHashSet<>();

    Table(JsonNode node, String path, Problems problems) {
        this.node = node != null && node.isObject() ? node : null;
        this.path = path;
        this.problems = problems;
    }

    String path() { return path; }

    /** The full key path of {@code name} in this table, as messages show it. */
    String key(String name) {
        String segment = Syntax.keySegment(name);
        return path.isEmpty() ? segment : path + "." + segment;
    }

    JsonNode raw(String name) {
        known.add(name);
        return node == null ? null : node.get(name);
    }

    boolean has(String name) { return raw(name) != null; }

    void problem(String name, String message) { problems.add(key(name), message); }

    void wrong(String name, String expected, JsonNode got) {
        problem(name, "expected " + expected + ", got " + render(got));
    }

    /** A string value run through {@code parse}, whose IllegalArgumentException message becomes the problem. */
    <T> T string(String name, T fallback, String expected, Function<String, T> parse) {
        JsonNode v = raw(name);
        if (v == null) return fallback;
        if (!v.isTextual()) {
            wrong(name, expected, v);
            return fallback;
        }
        try {
            return parse.apply(v.textValue());
        } catch (IllegalArgumentException e) {
            problem(name, e.getMessage());
            return fallback;
        }
    }

    /** As {@link #string}, but absence is a problem too. */
    <T> T required(String name, String expected, Function<String, T> parse) {
        if (!has(name)) {
            problem(name, "expected " + expected + ", got nothing");
            return null;
        }
        return string(name, null, expected, parse);
    }

    boolean bool(String name, boolean fallback) {
        JsonNode v = raw(name);
        if (v == null) return fallback;
        if (!v.isBoolean()) {
            wrong(name, "true or false", v);
            return fallback;
        }
        return v.booleanValue();
    }

    int integer(String name, int fallback, int min, int max) {
        JsonNode v = raw(name);
        if (v == null) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            wrong(name, "an integer from " + min + " to " + max, v);
            return fallback;
        }
        return v.intValue();
    }

    Duration duration(String name, Duration fallback) {
        return duration(name, fallback, Syntax.MIN_DURATION, Syntax.MAX_DURATION);
    }

    /** A duration within [min, max] (for the few keys whose range is not the usual 1ms to 365d). */
    Duration duration(String name, Duration fallback, Duration min, Duration max) {
        if (!has(name)) return fallback;
        Duration d = string(name, null, Durations.EXPECTED, Durations::parse);
        if (d == null) return fallback;
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            wrong(name, "a duration from " + Durations.format(min) + " to " + Durations.format(max), raw(name));
            return fallback;
        }
        return d;
    }

    /** Integer bytes or a string like "50MB", within [min, max]. */
    long size(String name, long fallback, long min, long max) {
        JsonNode v = raw(name);
        if (v == null) return fallback;
        String expected = "a size like " + Syntax.formatSize(fallback) + " or " + fallback;
        long size;
        if (v.isIntegralNumber()) {
            size = v.canConvertToLong() ? v.longValue() : -1;
        } else if (v.isTextual()) {
            try {
                size = Syntax.size(v.textValue(), expected);
            } catch (IllegalArgumentException e) {
                problem(name, e.getMessage());
                return fallback;
            }
        } else {
            wrong(name, expected, v);
            return fallback;
        }
        if (size < min || size > max) {
            wrong(name, "a size from " + Syntax.formatSize(min) + " to " + Syntax.formatSize(max), v);
            return fallback;
        }
        return size;
    }

    /** A sub-table; an absent one is empty, a mistyped one is reported and treated as empty. */
    Table table(String name) {
        JsonNode v = raw(name);
        if (v != null && !v.isObject()) wrong(name, "a table [" + key(name) + "]", v);
        return new Table(v, key(name), problems);
    }

    /** An array of strings, each run through {@code parse}; problems name the element, e.g. "local_domains[2]". */
    <T> List<T> list(String name, List<T> fallback, String expectedArray, String expected,
                     Function<String, T> parse) {
        JsonNode v = raw(name);
        if (v == null) return fallback;
        if (!v.isArray()) {
            wrong(name, expectedArray, v);
            return fallback;
        }
        List<T> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String at = key(name) + "[" + i + "]";
            if (!e.isTextual()) {
                problems.add(at, "expected " + expected + ", got " + render(e));
                continue;
            }
            try {
                out.add(parse.apply(e.textValue()));
            } catch (IllegalArgumentException ex) {
                problems.add(at, ex.getMessage());
            }
        }
        return out;
    }

    /** Every key present in the table, in file order (for free-form tables like [routes]). */
    Iterable<String> names() {
        if (node == null) return List.of();
        return node::fieldNames;
    }

    /** Reports every key present that nobody asked for, with the closest known key when it looks like a typo. */
    void finish() {
        for (String name : names()) {
            if (known.contains(name)) continue;
            String hint = Suggestions.closest(name, known)
                    .map(k -> " (did you mean " + Syntax.quote(k) + "?)")
                    .orElseGet(() -> known.isEmpty() ? "" : " (known keys: " + String.join(", ", known) + ")");
            problems.add(key(name), "unknown key" + hint);
        }
    }

    /** A value as the administrator wrote it: strings quoted, tables and arrays summarised. */
    static String render(JsonNode v) {
        if (v == null || v.isMissingNode() || v.isNull()) return "nothing";
        if (v.isTextual()) return Syntax.quote(v.textValue());
        if (v.isObject()) return "a table";
        if (v.isArray()) {
            return StreamSupport.stream(v.spliterator(), false).map(Table::render)
                    .collect(Collectors.joining(", ", "[", "]"));
        }
        // Dates and times (TOML has them) arrive as POJO nodes; their toString() is the ISO form.
        if (v instanceof POJONode p) return String.valueOf(p.getPojo());
        return v.asText();
    }
}
