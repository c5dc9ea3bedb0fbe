package dev.postern.mtasts;

import dev.postern.names.Domains;
import dev.postern.tls.NameMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An MTA-STS policy as fetched (RFC 8461 §3.2).
 *
 * @param mx         the MX patterns, lookup form: "mx.example.com" or "*.example.com" (exactly one left-most label)
 * @param maxAge     seconds the policy may be cached, 0 to 31557600
 * @param text       the body as served, for the cache and for a person
 */
public record Policy(Mode mode, List<String> mx, long maxAge, String text) {
    public Policy {
        mx = List.copyOf(mx);
    }

    /** RFC 8461 §3.2 caps max_age at one year. */
    public static final long MAX_AGE_LIMIT = 31_557_600;

    public enum Mode {
        /** Deliver only to matching MX hosts over verified TLS. */
        ENFORCE,
        /** Deliver as before; record what enforce would refuse. */
        TESTING,
        /** The domain withdrew its policy. */
        NONE;

        public String word() { return name().toLowerCase(Locale.ROOT); }
    }

    /** A policy that cannot be used; the message names the line or field. */
    public static final class InvalidPolicyException extends Exception {
        InvalidPolicyException(String message) { super(message); }
    }

    /**
     * Parses a policy body: "key: value" lines ended by CRLF or LF; unknown keys are ignored (RFC 8461 §3.2);
     * {@code version}, {@code mode} and {@code max_age} once each; at least one {@code mx} unless the mode is none.
     */
    public static Policy parse(String text) throws InvalidPolicyException {
        String version = null, mode = null, maxAge = null;
        List<String> mx = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty()) continue; // the end of the last line; blank lines carry nothing
            // RFC 8461 §3.2: values are printable; a bare CR or another control would reach logs, the audit and the
            // reasons shown (found by mtasts/PolicyFuzzTest: "mx: *.example.\rnet" echoed the CR)
            if (line.chars().anyMatch(c -> c != '\t' && Character.isISOControl(c))) {
                throw new InvalidPolicyException("line " + (i + 1) + " holds a control character");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) throw new InvalidPolicyException("line " + (i + 1) + " is not \"key: value\"");
            String key = line.substring(0, colon);
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "version" -> version = once(key, version, value);
                case "mode" -> mode = once(key, mode, value);
                case "max_age" -> maxAge = once(key, maxAge, value);
                case "mx" -> mx.add(pattern(value));
                default -> { } // extensions
            }
        }
        if (!"STSv1".equals(version)) {
            throw new InvalidPolicyException(version == null ? "no version field" : "version is not STSv1");
        }
        if (mode == null) throw new InvalidPolicyException("no mode field");
        Mode m = switch (mode) {
            case "enforce" -> Mode.ENFORCE;
            case "testing" -> Mode.TESTING;
            case "none" -> Mode.NONE;
            default -> throw new InvalidPolicyException("mode is not enforce, testing or none");
        };
        if (maxAge == null) throw new InvalidPolicyException("no max_age field");
        if (!maxAge.matches("[0-9]{1,10}") || Long.parseLong(maxAge) > MAX_AGE_LIMIT) {
            throw new InvalidPolicyException("max_age is not a number of seconds from 0 to " + MAX_AGE_LIMIT);
        }
        if (mx.isEmpty() && m != Mode.NONE) throw new InvalidPolicyException("no mx field");
        return new Policy(m, mx, Long.parseLong(maxAge), text);
    }

    private static String once(String key, String earlier, String value) throws InvalidPolicyException {
        if (earlier != null) throw new InvalidPolicyException(key + " appears twice");
        return value;
    }

    /** An mx value in lookup form, its "*." kept. */
    private static String pattern(String value) throws InvalidPolicyException {
        String p = mxPattern(value);
        if (p == null) throw new InvalidPolicyException("mx " + value + " is not a host name or *.domain pattern");
        return p;
    }

    /**
     * An mx pattern in lookup form ("mx.example.com", "*.example.com" with its wildcard kept), or null when it is
     * neither a host name of two labels or more nor "*." and a domain.
     */
    public static String mxPattern(String value) {
        boolean wildcard = value.startsWith("*.");
        String name = Domains.toHostNameOrNull(wildcard ? value.substring(2) : value);
        if (name == null || name.indexOf('.') < 0 && !wildcard) return null;
        return wildcard ? "*." + name : name;
    }

    /**
     * Whether an MX host (lookup form) matches one of the mx patterns (RFC 8461 §4.1): equal, or for "*.d" the host
     * is one label followed by ".d".
     */
    public boolean allows(String mxHost) {
        // The matcher reads its first argument as a certificate name, where "*." is a wildcard: an MX host is none.
        if (mxHost.indexOf('*') >= 0) return false;
        return NameMatcher.firstMatch(List.of(mxHost.toLowerCase(Locale.ROOT)), mx) != null;
    }
}
