package dev.postern.names;

import com.ibm.icu.text.IDNA;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Normalises domain names once, at the boundary, to the form all keys and lookups use: UTS #46 non-transitional
 * processing (IDNA2008, so {@code straße} stays {@code xn--strae-oqa}, not {@code strasse} as {@code java.net.IDN}'s
 * IDNA2003 would make it), A-labels, lower case, no trailing dot. ICU4J does the IDNA work; no library checks
 * host-name syntax the way mail wants (underscores tolerated, numeric top label refused), so that part is here.
 */
public final class Domains {
    private Domains() {}

    private static final IDNA UTS46 = IDNA.getUTS46Instance(IDNA.NONTRANSITIONAL_TO_ASCII
            | IDNA.NONTRANSITIONAL_TO_UNICODE | IDNA.CHECK_BIDI | IDNA.CHECK_CONTEXTJ | IDNA.CHECK_CONTEXTO);

    /** "ab--cd" labels are refused by UTS #46 CheckHyphens but exist in DNS; DNS is what matters here. */
    private static final Set<IDNA.Error> TOLERATED = EnumSet.of(IDNA.Error.HYPHEN_3_4);

    private static final int MAX_NAME_OCTETS = 253;
    private static final int MAX_LABEL_OCTETS = 63;

    /**
     * The lookup form of {@code name}: A-labels, lower case, without a trailing dot.
     *
     * @throws InvalidDomainException when it is not a valid domain name (empty label, bad character, too long,
     *     a label IDNA refuses, all-numeric top label)
     */
    public static String toAscii(String name) throws InvalidDomainException {
        if (name == null || name.isEmpty()) throw new InvalidDomainException("empty domain");
        boolean ascii = isAscii(name);
        // UTS #46 maps full-width and ideographic full stops to '.': look for the trailing dot after mapping.
        String s = ascii ? name.toLowerCase(Locale.ROOT) : viaIdna(name);
        if (s.endsWith(".")) s = s.substring(0, s.length() - 1);
        if (s.isEmpty() || s.startsWith(".") || s.contains("..")) throw new InvalidDomainException("empty label");
        if (ascii && hasALabel(s)) s = viaIdna(s); // validate xn-- labels: they must decode
        checkSyntax(s);
        return s;
    }

    /**
     * The lookup form of a host name (RFC 1123: what we and our peers call machines, as in EHLO, certificates and
     * routes): as {@link #toAscii}, but the underscore, which DNS allows in other names, is refused.
     */
    public static String toHostName(String name) throws InvalidDomainException {
        String ascii = toAscii(name);
        if (ascii.indexOf('_') >= 0) throw new InvalidDomainException("invalid character '_'");
        return ascii;
    }

    /** Like {@link #toHostName} but null when the name is invalid. */
    public static String toHostNameOrNull(String name) {
        try {
            return toHostName(name);
        } catch (InvalidDomainException e) {
            return null;
        }
    }

    /** Like {@link #toAscii} but null when the name is invalid, for callers that only compare. */
    public static String toAsciiOrNull(String name) {
        try {
            return toAscii(name);
        } catch (InvalidDomainException e) {
            return null;
        }
    }

    /** The Unicode form of an A-label name, for display; the input itself when it does not convert cleanly. */
    public static String toUnicode(String ascii) {
        if (ascii == null || !hasALabel(ascii.toLowerCase(Locale.ROOT))) return ascii;
        StringBuilder out = new StringBuilder();
        IDNA.Info info = new IDNA.Info();
        UTS46.nameToUnicode(ascii, out, info);
        return hasErrors(info) ? ascii : out.toString();
    }

    /** True when {@code ascii} (a normalised name) is {@code parent} or lies under it. */
    public static boolean isSubdomainOrSame(String ascii, String parent) {
        return ascii.equals(parent) || (ascii.endsWith(parent) && ascii.length() > parent.length()
                && ascii.charAt(ascii.length() - parent.length() - 1) == '.');
    }

    private static String viaIdna(String s) throws InvalidDomainException {
        StringBuilder out = new StringBuilder();
        IDNA.Info info = new IDNA.Info();
        UTS46.nameToASCII(s, out, info);
        if (info.getErrors().contains(IDNA.Error.EMPTY_LABEL)) throw new InvalidDomainException("empty label");
        if (hasErrors(info)) {
            throw new InvalidDomainException("not a valid internationalised domain name (" + errors(info) + ")");
        }
        return out.toString().toLowerCase(Locale.ROOT);
    }

    private static boolean hasErrors(IDNA.Info info) {
        return info.getErrors().stream().anyMatch(e -> !TOLERATED.contains(e));
    }

    private static String errors(IDNA.Info info) {
        return info.getErrors().stream().filter(e -> !TOLERATED.contains(e))
                .map(e -> e.name().toLowerCase(Locale.ROOT).replace('_', ' ')).sorted()
                .reduce((a, b) -> a + ", " + b).orElse("");
    }

    private static void checkSyntax(String ascii) throws InvalidDomainException {
        if (ascii.length() > MAX_NAME_OCTETS) throw new InvalidDomainException("domain too long");
        String[] labels = ascii.split("\\.", -1);
        for (String label : labels) {
            if (label.isEmpty()) throw new InvalidDomainException("empty label");
            if (label.length() > MAX_LABEL_OCTETS) throw new InvalidDomainException("label too long");
            if (label.startsWith("-") || label.endsWith("-")) {
                throw new InvalidDomainException("label starts or ends with a hyphen");
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                if (!ok) throw new InvalidDomainException("invalid character " + describe(c));
            }
        }
        if (labels[labels.length - 1].chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new InvalidDomainException("numeric top-level label");
        }
    }

    private static String describe(char c) {
        return c < 0x20 || c == 0x7f ? String.format("U+%04X", (int) c) : "'" + c + "'";
    }

    private static boolean hasALabel(String lower) {
        return lower.startsWith("xn--") || lower.contains(".xn--");
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) >= 0x80) return false;
        return true;
    }
}
