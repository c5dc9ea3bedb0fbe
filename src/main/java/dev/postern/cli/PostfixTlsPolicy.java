package dev.postern.cli;

import static dev.postern.trace.TraceText.printable;

import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Converts the source of a Postfix {@code smtp_tls_policy_maps} table (the text before postmap: {@code key level
 * [name=value ...]}, {@code #} comment lines, continuation lines starting with whitespace) into Postern's
 * {@code [outbound_tls."domain"]} tables, and says what it could not convert and why. Postfix's words are read as
 * Postfix 3.x documents them (TLS_README, postconf(5)); nothing is guessed silently: whatever has no equivalent is a
 * {@link Unmapped} entry.
 */
final class PostfixTlsPolicy {
    private PostfixTlsPolicy() {}

    /** Something of line {@code line} (a logical line's first physical line) not converted, and why. */
    public record Unmapped(int line, String what, String why) {
        /** "line 12: [mx.example]:587 encrypt: why". */
        public String describe() { return "line " + line + ": " + printable(what) + ": " + why; }
    }

    /** The TOML text (tables, with the unconverted items as comments at the end) and the unconverted items. */
    public record Result(String toml, List<Unmapped> unmapped, int tables) {}

    private static final Set<String> LEVELS = Set.of("none", "may", "encrypt", "dane", "dane-only", "fingerprint",
            "verify", "secure");
    private static final List<String> PROTOCOLS = List.of("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");
    /**
     * OpenSSL cipher words whose suites Postern never offers anyway (only ECDHE with AES-GCM or ChaCha20-Poly1305,
     * and the TLS 1.3 suites): excluding them changes nothing.
     */
    private static final Set<String> ALREADY_EXCLUDED = Set.of("anull", "enull", "null", "export", "exp", "low",
            "medium", "des", "3des", "rc4", "rc2", "md5", "seed", "idea", "psk", "srp", "krsa", "adss", "dss",
            "camellia", "aria", "kdhe", "kedh", "edh", "dhe", "adh", "aecdh", "sha1", "sha", "ecdsa+sha1", "aes-cbc",
            "kecdhe+sha1", "cbc");

    /**
     * Converts {@code lines} of the file {@code source} (named in the header only).
     */
    public static Result convert(List<String> lines, String source) {
        List<Unmapped> unmapped = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        out.append("# [outbound_tls] tables converted from ").append(printable(source))
                .append(" (a Postfix smtp_tls_policy_maps source)\n")
                .append("# by postern import postfix-tls-policy. Postern keys policies by recipient domain; \".d\" ")
                .append("covers the subdomains of d.\n")
                .append("# Fingerprints: the digest is read from each one's length (smtp_tls_fingerprint_digest: md5 ")
                .append("before Postfix 3.6,\n# sha256 since); Postern pins SHA-256 of the certificate or of its ")
                .append("public key only.\n");
        Set<String> seen = new HashSet<>();
        int tables = 0;
        for (Logical l : logicalLines(lines, unmapped)) {
            String table = table(l, seen, unmapped);
            if (table != null) {
                out.append('\n').append("# line ").append(l.number()).append(": ").append(printable(l.text()))
                        .append('\n').append(table);
                tables++;
            }
        }
        if (!unmapped.isEmpty()) {
            out.append("\n# Not converted (").append(unmapped.size()).append("):\n");
            for (Unmapped u : unmapped) out.append("# ").append(u.describe()).append('\n');
        }
        return new Result(out.toString(), List.copyOf(unmapped), tables);
    }

    private record Logical(int number, String text) {}

    /** Comment and blank lines skipped; a line starting with whitespace continues the one before (Postfix maps). */
    private static List<Logical> logicalLines(List<String> lines, List<Unmapped> unmapped) {
        List<Logical> out = new ArrayList<>();
        StringBuilder current = null;
        int start = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String stripped = String.join(" ", line.strip().split("\\s+")); // one space between words
            if (stripped.isEmpty() || stripped.startsWith("#")) continue;
            if (Character.isWhitespace(line.charAt(0))) {
                if (current == null) {
                    unmapped.add(new Unmapped(i + 1, stripped, "a continuation line with no entry before it"));
                } else {
                    current.append(' ').append(stripped);
                }
                continue;
            }
            if (current != null) out.add(new Logical(start, current.toString()));
            current = new StringBuilder(stripped);
            start = i + 1;
        }
        if (current != null) out.add(new Logical(start, current.toString()));
        return out;
    }

    /** One entry as a table, or null when it cannot be one (then in {@code unmapped}). */
    private static String table(Logical l, Set<String> seen, List<Unmapped> unmapped) {
        String[] words = l.text().split("\\s+");
        String key = words[0];
        int n = l.number();
        if (key.startsWith("[") || key.indexOf(':') >= 0) {
            unmapped.add(new Unmapped(n, l.text(), "a next-hop key (a route, not a recipient domain): Postern "
                    + "keys policies by recipient domain; add [outbound_tls.\"DOMAIN\"] for each domain routed there"));
            return null;
        }
        boolean parent = key.startsWith(".");
        String domain;
        try {
            domain = Domains.toAscii(parent ? key.substring(1) : key);
            if (domain.indexOf('.') < 0) {
                throw new InvalidDomainException("a single label");
            }
        } catch (InvalidDomainException e) {
            unmapped.add(new Unmapped(n, l.text(), "the key is not a domain (" + e.getMessage() + ")"));
            return null;
        }
        String name = (parent ? "." : "") + domain;
        if (words.length < 2) {
            unmapped.add(new Unmapped(n, l.text(), "no security level"));
            return null;
        }
        String level = words[1].toLowerCase(Locale.ROOT);
        if (!LEVELS.contains(level)) {
            unmapped.add(new Unmapped(n, l.text(), "unknown security level \"" + printable(words[1])
                    + "\" (expected none, may, encrypt, dane, dane-only, fingerprint, verify or secure)"));
            return null;
        }
        if (!seen.add(name)) {
            unmapped.add(new Unmapped(n, l.text(), "the key " + name + " again; the first entry is kept"));
            return null;
        }
        List<String> matches = new ArrayList<>();
        String protocols = null;
        String ciphers = null;
        String exclude = null;
        String tafile = null;
        for (int i = 2; i < words.length; i++) {
            String w = words[i];
            int eq = w.indexOf('=');
            String attr = eq < 0 ? w : w.substring(0, eq).toLowerCase(Locale.ROOT);
            String value = eq < 0 ? null : w.substring(eq + 1);
            if (value == null) {
                unmapped.add(new Unmapped(n, w, "expected an attribute like name=value"));
                continue;
            }
            switch (attr) {
                case "match" -> matches.add(value);
                case "protocols" -> protocols = value;
                case "ciphers" -> ciphers = value;
                case "exclude" -> exclude = value;
                case "tafile" -> tafile = value;
                default -> unmapped.add(new Unmapped(n, w, "no Postern equivalent of the attribute " + attr));
            }
        }
        StringBuilder t = new StringBuilder("[outbound_tls.\"").append(name).append("\"]\n");
        t.append("level = \"").append(level).append("\"\n");
        List<String> notes = new ArrayList<>();
        switch (level) {
            case "fingerprint" -> {
                List<String> pins = pins(n, matches, unmapped);
                if (pins.isEmpty()) {
                    unmapped.add(new Unmapped(n, l.text(), "no SHA-256 fingerprint left: level fingerprint needs at "
                            + "least one (postern cert show FILE prints it); the entry is not converted"));
                    return null;
                }
                t.append("fingerprints = ").append(array(pins)).append('\n');
            }
            case "verify", "secure" -> {
                List<String> patterns = patterns(n, level, parent, domain, matches, unmapped, notes);
                if (!patterns.isEmpty()) t.append("match = ").append(array(patterns)).append('\n');
            }
            default -> {
                for (String m : matches) {
                    unmapped.add(new Unmapped(n, "match=" + m, "Postfix uses match= only with fingerprint, verify "
                            + "and secure, not " + level));
                }
            }
        }
        if (protocols != null) {
            String min = minProtocol(n, protocols, unmapped, notes);
            if (min != null) t.append("min_protocol = \"").append(min).append("\"\n");
        }
        boolean aes256 = false;
        if (ciphers != null) cipherGrade(n, ciphers, unmapped, notes);
        if (exclude != null) aes256 = exclude(n, exclude, unmapped, notes);
        if (aes256) t.append("min_cipher_bits = 256\n");
        if (tafile != null) {
            String ca = trustAnchors(n, level, tafile, unmapped);
            if (ca != null) {
                t.append("ca_file = ").append(string(ca)).append('\n');
                notes.add("ca_file replaces the system trust store for this destination, as Postfix's tafile does");
            }
        }
        for (String note : notes) t.append("# ").append(note).append('\n');
        return t.toString();
    }

    /** {@code match=} of level fingerprint: fingerprints separated by "|"; only SHA-256 ones map. */
    private static List<String> pins(int n, List<String> matches, List<Unmapped> unmapped) {
        Set<String> pins = new LinkedHashSet<>();
        for (String m : matches) {
            for (String f : m.split("[|,]")) {
                if (f.isEmpty()) continue;
                String hex = f.toLowerCase(Locale.ROOT).replace(":", "");
                if (!hex.matches("[0-9a-f]+")) {
                    unmapped.add(new Unmapped(n, f, "not a fingerprint (expected hex digits, colons allowed)"));
                } else if (hex.length() == 64) {
                    pins.add(hex);
                } else if (hex.length() == 40 || hex.length() == 32) {
                    unmapped.add(new Unmapped(n, f, (hex.length() == 40 ? "a SHA-1" : "an MD5") + " fingerprint: "
                            + "Postern pins SHA-256 only; pin the certificate's SHA-256 (postern cert show FILE, or "
                            + "openssl x509 -noout -fingerprint -sha256)"));
                } else {
                    unmapped.add(new Unmapped(n, f, "a fingerprint of " + hex.length() + " hex digits (expected 64, "
                            + "SHA-256)"));
                }
            }
        }
        return List.copyOf(pins);
    }

    /**
     * {@code match=} of verify and secure: names separated by ":". Postfix's defaults (verify: hostname; secure:
     * nexthop:dot-nexthop) are Postern's defaults too, so they are left out.
     */
    private static List<String> patterns(int n, String level, boolean parent, String domain, List<String> matches,
                                         List<Unmapped> unmapped, List<String> notes) {
        List<String> items = new ArrayList<>();
        for (String m : matches) for (String p : m.split(":")) if (!p.isEmpty()) items.add(p.toLowerCase(Locale.ROOT));
        if (items.isEmpty()) return List.of();
        if (level.equals("verify") && items.equals(List.of("hostname"))) return List.of();
        if (level.equals("secure") && Set.copyOf(items).equals(Set.of("nexthop", "dot-nexthop"))
                && items.size() == 2) {
            return List.of();
        }
        Set<String> out = new LinkedHashSet<>();
        for (String p : items) {
            switch (p) {
                case "hostname" -> unmapped.add(new Unmapped(n, "match=...hostname...", "Postern's match list "
                        + "cannot name \"the MX host name\" beside other patterns (only the verify default does): "
                        + "list the MX host names themselves"));
                case "nexthop", "dot-nexthop" -> {
                    if (parent) {
                        unmapped.add(new Unmapped(n, "match=..." + p + "...", p + " under a \".domain\" key is each "
                                + "subdomain in turn, which a fixed match list cannot say"));
                    } else {
                        out.add(p.equals("nexthop") ? domain : "." + domain);
                    }
                }
                default -> {
                    String dot = p.startsWith(".") ? "." : "";
                    try {
                        String d = Domains.toAscii(p.substring(dot.length()));
                        out.add(dot + d);
                        if (!dot.isEmpty()) {
                            notes.add("match \"." + d + "\" matches " + d + " itself as well as its subdomains");
                        }
                    } catch (InvalidDomainException e) {
                        unmapped.add(new Unmapped(n, "match=" + p, "not a name pattern (" + e.getMessage() + ")"));
                    }
                }
            }
        }
        return List.copyOf(out);
    }

    /**
     * {@code protocols=}: exclusions ("!TLSv1"), bounds (">=TLSv1.2", "<=TLSv1.3", Postfix 3.6) or inclusions;
     * Postern knows only a minimum of TLSv1.2 or TLSv1.3. Returns "TLSv1.3" when that is the minimum, else null.
     */
    private static String minProtocol(int n, String value, List<Unmapped> unmapped, List<String> notes) {
        Set<String> allowed = new LinkedHashSet<>(PROTOCOLS);
        Set<String> included = new LinkedHashSet<>();
        for (String w : value.split("[:,\\s]+")) {
            if (w.isEmpty()) continue;
            String op = w.startsWith("!") ? "!" : w.startsWith(">=") ? ">=" : w.startsWith("<=") ? "<=" : "";
            int at = index(w.substring(op.length()));
            if (at < 0) {
                unmapped.add(new Unmapped(n, "protocols=" + value, "unknown protocol \"" + w + "\""));
                return null;
            }
            switch (op) {
                case "!" -> allowed.remove(PROTOCOLS.get(at));
                case ">=" -> allowed.removeAll(PROTOCOLS.subList(0, at));
                case "<=" -> allowed.removeAll(PROTOCOLS.subList(at + 1, PROTOCOLS.size()));
                default -> included.add(PROTOCOLS.get(at));
            }
        }
        if (!included.isEmpty()) allowed.retainAll(included);
        boolean tls12 = allowed.contains("TLSv1.2");
        boolean tls13 = allowed.contains("TLSv1.3");
        if (!tls12 && !tls13) {
            unmapped.add(new Unmapped(n, "protocols=" + value, "allows neither TLSv1.2 nor TLSv1.3, the only "
                    + "protocols Postern uses"));
            return null;
        }
        if (!tls13) {
            unmapped.add(new Unmapped(n, "protocols=" + value, "excludes TLSv1.3: Postern sets a minimum protocol "
                    + "only, so TLSv1.3 stays allowed"));
            return null;
        }
        if (allowed.stream().anyMatch(p -> index(p) < index("TLSv1.2"))) {
            notes.add("protocols=" + value + ": Postern never uses a protocol below TLSv1.2");
        }
        return tls12 ? null : "TLSv1.3";
    }

    private static int index(String protocol) {
        for (int i = 0; i < PROTOCOLS.size(); i++) if (PROTOCOLS.get(i).equalsIgnoreCase(protocol)) return i;
        return -1;
    }

    /** {@code ciphers=}: an OpenSSL grade. Postern's suites are all within "high". */
    private static void cipherGrade(int n, String grade, List<Unmapped> unmapped, List<String> notes) {
        switch (grade.toLowerCase(Locale.ROOT)) {
            case "high" -> notes.add("ciphers=high: Postern's suites (ECDHE with AES-GCM or ChaCha20-Poly1305, "
                    + "TLS 1.3) are all within it");
            case "medium", "low", "export" -> unmapped.add(new Unmapped(n, "ciphers=" + grade, "Postern offers no "
                    + "suite below its default AEAD, forward-secret set at enforced levels (under may a failed "
                    + "handshake is retried with the JDK's broader set): a partner that needs a weaker suite fails"));
            case "null" -> unmapped.add(new Unmapped(n, "ciphers=" + grade, "Postern never uses unencrypted suites"));
            default -> unmapped.add(new Unmapped(n, "ciphers=" + grade, "unknown grade (expected high, medium, low, "
                    + "export or null)"));
        }
    }

    /**
     * {@code exclude=}: OpenSSL cipher words. Words for suites Postern never offers change nothing; AES128 maps to
     * {@code min_cipher_bits = 256} (returns true). Anything else is not converted.
     */
    private static boolean exclude(int n, String value, List<Unmapped> unmapped, List<String> notes) {
        boolean aes256 = false;
        List<String> nothing = new ArrayList<>();
        for (String w : value.split("[:,\\s]+")) {
            if (w.isEmpty()) continue;
            String lower = w.toLowerCase(Locale.ROOT);
            if (lower.equals("aes128") || lower.equals("aesgcm128") || lower.equals("aes-128")) {
                aes256 = true;
            } else if (ALREADY_EXCLUDED.contains(lower)) {
                nothing.add(w);
            } else {
                unmapped.add(new Unmapped(n, "exclude=" + w, "no Postern setting excludes exactly these suites "
                        + "(ciphers lists the suites to allow by name)"));
            }
        }
        if (!nothing.isEmpty()) {
            notes.add("exclude=" + String.join(":", nothing) + ": Postern never offers these suites anyway");
        }
        return aes256;
    }

    /** {@code tafile=}: a PEM file of trust anchors; Postern's ca_file takes certificates, not bare public keys. */
    private static String trustAnchors(int n, String level, String file, List<Unmapped> unmapped) {
        if (!level.equals("verify") && !level.equals("secure")) {
            unmapped.add(new Unmapped(n, "tafile=" + file, "Postfix uses tafile only with verify and secure"));
            return null;
        }
        Path p = Path.of(file);
        if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
            unmapped.add(new Unmapped(n, "tafile=" + file, "not a readable file on this machine (copy it here, "
                    + "then set ca_file)"));
            return null;
        }
        try {
            if (Files.readString(p, java.nio.charset.StandardCharsets.ISO_8859_1).contains("PUBLIC KEY-----")) {
                unmapped.add(new Unmapped(n, "tafile=" + file, "holds a bare public key as trust anchor, which "
                        + "ca_file does not take (certificates only)"));
                return null;
            }
        } catch (java.io.IOException e) {
            unmapped.add(new Unmapped(n, "tafile=" + file, "cannot be read: " + e.getMessage()));
            return null;
        }
        return file;
    }

    private static String array(List<String> values) {
        List<String> quoted = new ArrayList<>();
        for (String v : values) quoted.add(string(v));
        return "[" + String.join(", ", quoted) + "]";
    }

    /** A TOML basic string. */
    static String string(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c == 0x7f) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
