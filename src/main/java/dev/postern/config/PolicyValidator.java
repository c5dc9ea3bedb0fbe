package dev.postern.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.config.Config.OutboundTls;
import dev.postern.config.Config.PolicyMode;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import java.nio.file.Path;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * Validates {@code [outbound_tls.default]} and {@code [outbound_tls."partner.example"]} tables into
 * {@link OutboundTls}.
 */
final class PolicyValidator {
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final String LEVELS = "none, may, encrypt, fingerprint, verify, secure, dane or dane-only";

    static final String MEMORY_MODES = "refuse, flag or off";

    private final Function<String, Path> path;
    private final Material material;
    private final Problems problems;
    /** {@code memory = "..."} of the domain tables: the downgrade memory per destination domain. */
    private final Map<String, Config.MemoryMode> memory = new LinkedHashMap<>();

    PolicyValidator(Function<String, Path> path, Material material, Problems problems) {
        this.path = path;
        this.material = material;
        this.problems = problems;
    }

    /**
     * The level of the default policy when the file names none: {@code dane}, which is {@code may} for every MX
     * host without DNSSEC-secure TLSA records and costs nothing for them (no TLSA lookup below an insecure MX).
     */
    static final TlsLevel DEFAULT_LEVEL = TlsLevel.DANE;

    OutboundTls outboundTls(Table t) {
        TlsPolicy defaults = TlsPolicy.of(DEFAULT_LEVEL);
        Map<String, TlsPolicy> domains = new LinkedHashMap<>();
        for (String name : t.names()) {
            JsonNode v = t.raw(name);
            if (!v.isObject()) {
                t.problem(name, "expected a table like [outbound_tls.\"partner.example\"] with level = \"verify\", got "
                        + Table.render(v) + (name.equals("default") ? "" : " (quote domain keys)"));
                continue;
            }
            Table p = t.table(name);
            if (name.equals("default")) {
                if (p.has("memory")) {
                    p.problem("memory", "expected memory only in a domain's table ([peer_memory] outbound sets it "
                            + "for every domain), got " + Table.render(p.raw("memory")));
                }
                defaults = policy(p, false);
                continue;
            }
            String domain;
            try {
                domain = Syntax.domainKey(name,
                        "\"default\" or a domain like example.com or .example.com (its subdomains)");
            } catch (IllegalArgumentException e) {
                t.problem(name, e.getMessage());
                continue;
            }
            Config.MemoryMode mode = p.string("memory", null, MEMORY_MODES, PolicyValidator::memoryMode);
            TlsPolicy policy = policy(p, true);
            if (policy != null && mode != null) memory.putIfAbsent(domain, mode);
            if (policy != null && domains.putIfAbsent(domain, policy) != null) {
                t.problem(name, "expected each domain once (" + Validator.SPELLING + "), got "
                        + Syntax.quote(name) + " again");
            }
        }
        return new OutboundTls(defaults == null ? TlsPolicy.of(DEFAULT_LEVEL) : defaults, domains);
    }

    private TlsPolicy policy(Table t, boolean levelRequired) {
        TlsLevel level = levelRequired ? t.required("level", LEVELS, PolicyValidator::level)
                : t.string("level", DEFAULT_LEVEL, LEVELS, PolicyValidator::level);
        PolicyMode mode = t.string("mode", PolicyMode.ENFORCE, "enforce or testing", PolicyValidator::mode);
        String minProtocol = t.string("min_protocol", "TLSv1.2", "TLSv1.2 or TLSv1.3", PolicyValidator::protocol);
        Set<String> supported = supportedSuites();
        List<String> ciphers = t.list("ciphers", List.of(), "an array of cipher suite names",
                "a cipher suite name like TLS_AES_256_GCM_SHA384", s -> suite(s, supported));
        int minCipherBits = t.integer("min_cipher_bits", 0, 0, 256);
        int minKeyBits = t.integer("min_key_bits", TlsPolicy.LEVEL_KEY_FLOOR, 0, 16384);
        List<String> match = t.list("match", List.of(), "an array of name patterns",
                "a name pattern like mx.example.com, *.example.com or .example.com, or an IP address",
                PolicyValidator::pattern);
        Path caFile = t.string("ca_file", null, "a file path", material::caFile);
        List<String> fingerprints = t.list("fingerprints", List.of(), "an array of SHA-256 fingerprints",
                "a SHA-256 fingerprint of 64 hex digits (colons allowed)", PolicyValidator::fingerprint);
        Path clientCertificate = t.string("client_certificate", null, "a file path", material::certificate);
        Path clientKey = t.string("client_key", null, "a file path", material::key);
        material.pair(t, "client_certificate", clientCertificate, "client_key", clientKey, problems);
        if (t.has("client_certificate") != t.has("client_key")) {
            t.problem(t.has("client_certificate") ? "client_key" : "client_certificate",
                    "expected both client_certificate and client_key or neither, got nothing");
        }
        if (level == TlsLevel.FINGERPRINT && fingerprints.isEmpty() && !t.has("fingerprints")) {
            t.problem("fingerprints", "expected at least one fingerprint for level \"fingerprint\", got nothing");
        }
        if (level != null && level != TlsLevel.FINGERPRINT && !fingerprints.isEmpty()) {
            t.problem("fingerprints", "expected fingerprints only with level \"fingerprint\", got level \""
                    + level.word() + "\"");
        }
        t.finish();
        if (level == null) return null;
        return new TlsPolicy(level, mode, minProtocol, ciphers, minCipherBits, minKeyBits, match, caFile,
                fingerprints, clientCertificate, clientKey);
    }

    /** The per-domain downgrade memory modes found by {@link #outboundTls}. */
    Map<String, Config.MemoryMode> memory() {
        return memory;
    }

    static Config.MemoryMode memoryMode(String s) {
        for (Config.MemoryMode m : Config.MemoryMode.values()) if (m.word().equals(s)) return m;
        throw Syntax.invalid(MEMORY_MODES, s);
    }

    static TlsLevel level(String s) {
        TlsLevel level = TlsLevel.parse(s);
        if (level == null) throw Syntax.invalid(LEVELS, s);
        return level;
    }

    private static PolicyMode mode(String s) {
        return switch (s) {
            case "enforce" -> PolicyMode.ENFORCE;
            case "testing" -> PolicyMode.TESTING;
            default -> throw Syntax.invalid("enforce or testing", s);
        };
    }

    static String protocol(String s) {
        if (s.equals("TLSv1.2") || s.equals("TLSv1.3")) return s;
        throw Syntax.invalid("TLSv1.2 or TLSv1.3 (older protocols are never used)", s);
    }

    static String suite(String s, Set<String> supported) {
        if (supported.contains(s)) return s;
        throw Syntax.invalid("a cipher suite this JDK supports, like TLS_AES_256_GCM_SHA384", s);
    }

    /**
     * A certificate name pattern, its name in lookup form (certificates carry A-labels); or an IP address, with or
     * without brackets, in its usual text form (tls.NameMatcher matches it against IP address SANs only).
     */
    static String pattern(String s) {
        String bare = s.length() > 2 && s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
        java.net.InetAddress ip = Syntax.ipLiteral(bare);
        if (ip != null) return Syntax.formatIp(ip.getAddress());
        String prefix = s.startsWith("*.") ? "*." : s.startsWith(".") ? "." : "";
        try {
            return prefix + Syntax.domain(s.substring(prefix.length()));
        } catch (IllegalArgumentException e) {
            throw Syntax.invalid("a name pattern like mx.example.com, *.example.com or .example.com, or an IP address",
                    s);
        }
    }

    /** Normalised to 64 lower-case hex digits; "sha256:" prefixes and colons are accepted. */
    static String fingerprint(String s) {
        String hex = s.toLowerCase(Locale.ROOT).replaceFirst("^sha256:", "").replace(":", "");
        if (HEX64.matcher(hex).matches()) return hex;
        throw Syntax.invalid("a SHA-256 fingerprint of 64 hex digits (colons allowed)", s);
    }

    static Set<String> supportedSuites() {
        try {
            return Set.of(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
        } catch (NoSuchAlgorithmException e) {
            return Set.of();
        }
    }
}
