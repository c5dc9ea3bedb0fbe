package dev.postern.metrics;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format 0.0.4 (what Prometheus itself accepts): every line is a
 * HELP, a TYPE, another comment, or a sample {@code name{label="value",...} value [timestamp]}; label values use only
 * the escapes \\, \" and \n; each family's TYPE comes once and before its samples; no series twice. Any other line is
 * an IllegalArgumentException naming it.
 */
final class PromText {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");
    private static final List<String> SUFFIXES = List.of("_total", "_bucket", "_count", "_sum", "_created", "_max");

    /** One sample. */
    record Sample(String name, Map<String, String> labels, double value) {}

    final Map<String, String> types = new LinkedHashMap<>();
    final List<Sample> samples = new ArrayList<>();

    static PromText parse(String text) {
        PromText p = new PromText();
        if (!text.isEmpty() && !text.endsWith("\n")) throw new IllegalArgumentException("no final newline");
        Set<String> series = new HashSet<>();
        int n = 0;
        for (String line : text.split("\n", -1)) {
            n++;
            if (line.isEmpty()) continue;
            try {
                p.line(line, series);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("line " + n + ": " + e.getMessage() + ": " + line, e);
            }
        }
        return p;
    }

    private void line(String line, Set<String> series) {
        if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
            String[] parts = line.split(" ", 4);
            if (parts.length < 3 || !NAME.matcher(parts[2]).matches()) throw new IllegalArgumentException("bad name");
            if (parts[1].equals("TYPE")) {
                if (parts.length != 4 || !TYPES.contains(parts[3])) throw new IllegalArgumentException("bad type");
                if (types.put(parts[2], parts[3]) != null) throw new IllegalArgumentException("TYPE twice");
            } else if (parts.length == 4) {
                checkEscapes(parts[3], false);
            }
            return;
        }
        if (line.startsWith("#")) return;
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') i++;
        String name = line.substring(0, i);
        if (!NAME.matcher(name).matches()) throw new IllegalArgumentException("bad metric name");
        Map<String, String> labels = new TreeMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String label = line.substring(i, eq);
                if (!LABEL.matcher(label).matches()) throw new IllegalArgumentException("bad label name " + label);
                if (line.charAt(eq + 1) != '"') throw new IllegalArgumentException("label value not quoted");
                StringBuilder v = new StringBuilder();
                int j = eq + 2;
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char e = line.charAt(++j);
                        v.append(switch (e) {
                            case '\\' -> '\\';
                            case '"' -> '"';
                            case 'n' -> '\n';
                            default -> throw new IllegalArgumentException("bad escape \\" + e);
                        });
                    } else {
                        v.append(c);
                    }
                }
                if (labels.put(label, v.toString()) != null) throw new IllegalArgumentException("label twice");
                i = j + 1;
                if (line.charAt(i) == ',') i++;
                else if (line.charAt(i) != '}') throw new IllegalArgumentException("expected , or }");
            }
            i++;
        }
        if (line.charAt(i) != ' ') throw new IllegalArgumentException("no space before the value");
        String[] rest = line.substring(i + 1).split(" ");
        if (rest.length > 2) throw new IllegalArgumentException("too many fields");
        double value = value(rest[0]);
        if (rest.length == 2) Long.parseLong(rest[1]);
        if (!types.containsKey(family(name))) throw new IllegalArgumentException("sample before its TYPE");
        if (!series.add(name + labels)) throw new IllegalArgumentException("series twice");
        samples.add(new Sample(name, labels, value));
    }

    private static double value(String s) {
        return switch (s) {
            case "NaN" -> Double.NaN;
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(s);
        };
    }

    private static void checkEscapes(String help, boolean quotes) {
        for (int i = 0; i < help.length(); i++) {
            if (help.charAt(i) == '\\') {
                char e = help.charAt(++i);
                if (e != '\\' && e != 'n' && !(quotes && e == '"')) throw new IllegalArgumentException("bad escape");
            }
        }
    }

    /** The family a sample belongs to: its name, or its name without a histogram's or counter's suffix. */
    String family(String name) {
        if (types.containsKey(name)) return name;
        for (String s : SUFFIXES) {
            if (name.endsWith(s) && types.containsKey(name.substring(0, name.length() - s.length()))) {
                return name.substring(0, name.length() - s.length());
            }
        }
        return name;
    }

    /** Every sample name and family name. */
    Set<String> names() {
        Set<String> out = new HashSet<>(types.keySet());
        for (Sample s : samples) out.add(s.name);
        return out;
    }

    /** The samples of {@code name} whose labels include {@code labels} (name, value pairs). */
    List<Sample> find(String name, String... labels) {
        List<Sample> out = new ArrayList<>();
        outer:
        for (Sample s : samples) {
            if (!s.name.equals(name)) continue;
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(s.labels.get(labels[i]))) continue outer;
            }
            out.add(s);
        }
        return out;
    }

    /** The one sample of {@code name} with exactly these labels (beside none other), or 0 when there is none. */
    double value(String name, String... labels) {
        Map<String, String> want = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) want.put(labels[i], labels[i + 1]);
        for (Sample s : samples) {
            if (s.name.equals(name) && s.labels.equals(want)) return s.value;
        }
        return 0;
    }

    /** Whether a sample of {@code name} with exactly these labels exists. */
    boolean has(String name, String... labels) {
        Map<String, String> want = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) want.put(labels[i], labels[i + 1]);
        return samples.stream().anyMatch(s -> s.name.equals(name) && s.labels.equals(want));
    }
}
