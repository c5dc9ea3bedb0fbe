package dev.postern.config;

import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Syntax of the values in a config file. Parsers throw {@link IllegalArgumentException} whose message is the complete
 * "expected ..., got ..." text, so a caller only has to put the file and key in front of it.
 */
final class Syntax {
    static final Duration MIN_DURATION = Duration.ofMillis(1);
    static final Duration MAX_DURATION = Duration.ofDays(365);

    private static final Pattern SIZE = Pattern.compile("(\\d{1,19})\\s*(b|kb|kib|mb|mib|gb|gib)?",
            Pattern.CASE_INSENSITIVE);
    // No leading zeros: some tools read "010" as octal, so it is ambiguous.
    private static final Pattern IPV4 = Pattern.compile("(?:0|[1-9]\\d{0,2})(?:\\.(?:0|[1-9]\\d{0,2})){3}");
    private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+");

    private Syntax() {}

    static IllegalArgumentException invalid(String expected, String got) {
        return new IllegalArgumentException("expected " + expected + ", got " + quote(got));
    }

    /** A TOML/JSON style quoted string, so that empty strings and spaces stay visible in messages. */
    static String quote(String s) {
        var b = new StringBuilder(s.length() + 2).append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) b.append(String.format("\\u%04X", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    /** One segment of a key path as TOML would write it: bare when possible, else quoted. */
    static String keySegment(String key) {
        return BARE_KEY.matcher(key).matches() ? key : quote(key);
    }

    /**
     * True when {@code s} is a host name already written in its lookup form (ASCII, any case, no trailing dot): the
     * one check is {@link Domains#toHostName}.
     */
    static boolean isHostName(String s) {
        return s.toLowerCase(Locale.ROOT).equals(Domains.toHostNameOrNull(s));
    }

    /** Our own host name (EHLO, Received) in any spelling, normalised to its lookup form like {@link #domain}. */
    static String hostName(String s) {
        return name(s, "a host name like mail.example.com");
    }

    /** Like {@link #hostName}, but null when {@code s} is not a valid host name. */
    static String hostNameOrNull(String s) {
        return Domains.toHostNameOrNull(s);
    }

    /**
     * A mail domain in any spelling (Unicode or A-labels, any case, a trailing dot), normalised once, here, to the
     * lookup form every key and lookup uses ({@link Domains#toAscii}).
     */
    static String domain(String s) {
        return name(s, "a domain like example.com");
    }

    /**
     * A domain key of {@code [routes]} or {@code [outbound_tls]}: a domain, or ".domain" for its subdomains, in lookup
     * form; {@code expected} describes both for the message.
     */
    static String domainKey(String s, String expected) {
        return s.startsWith(".") ? "." + name(s.substring(1), expected, s) : name(s, expected);
    }

    /** The lookup form of a host name ({@link Domains#toHostName}), or one line saying what was expected and why. */
    private static String name(String s, String expected) {
        return name(s, expected, s);
    }

    private static String name(String s, String expected, String written) {
        try {
            return Domains.toHostName(s);
        } catch (InvalidDomainException e) {
            String plain = invalid(expected, written).getMessage();
            throw new IllegalArgumentException(s.isEmpty() ? plain : plain + " (" + e.getMessage() + ")");
        }
    }

    /**
     * An IP address literal, never looked up in DNS: strict dotted-quad IPv4, or IPv6 (which must contain a colon).
     *
     * @return the address, or null when {@code s} is not a literal
     */
    static InetAddress ipLiteral(String s) {
        try {
            if (IPV4.matcher(s).matches()) return Inet4Address.ofLiteral(s);
            if (s.indexOf(':') >= 0) return Inet6Address.ofLiteral(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
        return null;
    }

    static int port(String s, String expectedForm, String whole) {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw invalid(expectedForm, whole);
        }
        int port = Integer.parseInt(s);
        if (port < 1 || port > 65535) throw invalid(expectedForm + " with a port from 1 to 65535", whole);
        return port;
    }

    /**
     * A size in bytes: digits, optionally followed by B, KB, MB or GB. The units are powers of 1024 (as in most mail
     * software); KiB, MiB and GiB are accepted as synonyms.
     *
     * @return the size, or -1 when it does not fit a long
     */
    static long size(String s, String expected) {
        var m = SIZE.matcher(s.strip());
        if (!m.matches()) throw invalid(expected, s);
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        long factor = switch (unit) {
            case "kb", "kib" -> 1L << 10;
            case "mb", "mib" -> 1L << 20;
            case "gb", "gib" -> 1L << 30;
            default -> 1;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), factor);
        } catch (ArithmeticException | NumberFormatException e) {
            return -1;
        }
    }

    /** The shortest exact notation of a size, e.g. "50MB"; used in messages and docs. */
    static String formatSize(long bytes) {
        if (bytes > 0 && bytes % (1L << 30) == 0) return bytes / (1L << 30) + "GB";
        if (bytes > 0 && bytes % (1L << 20) == 0) return bytes / (1L << 20) + "MB";
        if (bytes > 0 && bytes % (1L << 10) == 0) return bytes / (1L << 10) + "KB";
        return Long.toString(bytes);
    }

    /** An address in its usual text form; IPv6 compressed as RFC 5952 says ("2001:db8::1", "::1"). */
    static String formatIp(byte[] a) {
        if (a.length == 4) return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        int bestStart = -1, bestLength = 1; // a single zero group is not compressed
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        var b = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                b.append("::");
                i += bestLength - 1;
                continue;
            }
            if (!b.isEmpty() && b.charAt(b.length() - 1) != ':') b.append(':');
            b.append(Integer.toHexString(g[i]));
        }
        return b.toString();
    }
}
