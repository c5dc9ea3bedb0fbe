package dev.postern.smtp;

import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A mailbox "local-part@domain" (RFC 5321 §4.1.2, RFC 6531 for UTF-8). The local part keeps its case and, if it was
 * quoted, its quotes; {@code domain} is kept as written, and {@code domainKey} is its lookup form, computed once
 * here at the protocol boundary: A-labels, lower case, no trailing dot ({@link Domains#toAscii}); address literals
 * lower-cased. Every lookup (local and relay domains, routes, policies, partners, DNS) uses {@code domainKey}.
 *
 * <p>The one mailbox without a domain is the special forward path "&lt;Postmaster&gt;" (RFC 5321 §4.5.1), which
 * {@link Path#parseForward} represents as {@code Mailbox("Postmaster", "")}; {@link #parse} never returns it.
 */
public record Mailbox(String localPart, String domain, String domainKey) {

    static final int MAX_LOCAL_OCTETS = 64;
    static final int MAX_DOMAIN_OCTETS = 255;
    private static final int MAX_LABEL_OCTETS = 63;
    private static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

    /**
     * Parses "local@domain" (no angle brackets). Throws {@link AddressException} with a short reason.
     * The local part is a dot-string or a quoted string; non-ASCII (RFC 6531) is accepted in both parts. The domain
     * is a host name or an address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]".
     */
    public static Mailbox parse(String text) throws AddressException {
        if (text == null || text.isEmpty()) throw new AddressException("empty address");
        int at = text.charAt(0) == '"' ? quotedEnd(text) : dotStringEnd(text);
        if (at >= text.length() || text.charAt(at) != '@') {
            throw new AddressException(at >= text.length() ? "missing domain" : "bad local part");
        }
        String local = text.substring(0, at);
        String domain = text.substring(at + 1);
        if (octets(local) > MAX_LOCAL_OCTETS) throw new AddressException("local part too long");
        checkDomain(domain);
        return new Mailbox(local, domain, keyOf(domain));
    }

    /**
     * A mailbox whose domain key is computed from {@code domain}, which must be valid ("" for Postmaster).
     *
     * @throws IllegalArgumentException when {@code domain} is not a valid domain name or address literal
     */
    public Mailbox(String localPart, String domain) {
        this(localPart, domain, validKey(domain));
    }

    /**
     * The address as Postern stores and forwards it: the local part as sent, the domain in its lookup form. An A-label
     * domain is valid in every SMTP session (RFC 6531 §3.2), so forwarding never depends on how a client spelt it.
     */
    public String address() {
        return domainKey.isEmpty() ? localPart : localPart + "@" + domainKey;
    }

    /** True when the local part is quoted ("a@b"@example.com) or holds '%', '!' or '@': never relayed. */
    public boolean hasRoutingTricks() {
        return localPart.startsWith("\"") || localPart.indexOf('%') >= 0 || localPart.indexOf('!') >= 0
                || localPart.indexOf('@') >= 0;
    }

    /** True when both parts are ASCII (otherwise SMTPUTF8 is needed). */
    public boolean isAscii() {
        return isAscii(localPart) && isAscii(domain);
    }

    @Override public String toString() { return localPart + "@" + domain; }

    /** Index just past a dot-string local part: atoms separated by single dots. */
    private static int dotStringEnd(String s) throws AddressException {
        int i = 0;
        boolean atomStart = true;
        while (i < s.length() && s.charAt(i) != '@') {
            int cp = s.codePointAt(i);
            if (cp == '.') {
                if (atomStart) throw new AddressException("bad local part");
                atomStart = true;
            } else if (isAtext(cp)) {
                atomStart = false;
            } else {
                throw new AddressException("bad local part");
            }
            i += Character.charCount(cp);
        }
        if (atomStart) throw new AddressException(i == 0 ? "empty local part" : "bad local part");
        return i;
    }

    /** Index just past a quoted-string local part (text starts with '"'). */
    private static int quotedEnd(String s) throws AddressException {
        int i = 1;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            if (cp == '"') return i + 1;
            if (cp == '\\') {
                if (i + 1 >= s.length()) break;
                char next = s.charAt(i + 1);
                if (next < 32 || next > 126) throw new AddressException("bad quoted local part");
                i += 2;
                continue;
            }
            if (!(cp >= 32 && cp <= 126 || isUtf8NonAscii(cp))) throw new AddressException("bad quoted local part");
            i += Character.charCount(cp);
        }
        throw new AddressException("bad quoted local part");
    }

    /** The lookup form of a domain that passed {@link #checkDomain}: see the class comment. */
    private static String keyOf(String d) throws AddressException {
        if (d.isEmpty() || d.charAt(0) == '[') return d.toLowerCase(Locale.ROOT);
        try {
            return Domains.toAscii(d);
        } catch (InvalidDomainException e) {
            throw new AddressException("bad domain: " + e.getMessage());
        }
    }

    private static String validKey(String d) {
        try {
            if (!d.isEmpty()) checkDomain(d);
            return keyOf(d);
        } catch (AddressException e) {
            throw new IllegalArgumentException(e.getMessage() + ": " + d, e);
        }
    }

    /**
     * Validates a domain (host name or address literal); package-private for source routes. As in UTS #46, the
     * full-width and ideographic full stops separate labels too, and one trailing dot is allowed (Postfix strips it):
     * {@link #keyOf} removes both.
     */
    static void checkDomain(String d) throws AddressException {
        if (d.isEmpty()) throw new AddressException("missing domain");
        if (octets(d) > MAX_DOMAIN_OCTETS) throw new AddressException("domain too long");
        if (d.charAt(0) == '[') {
            checkAddressLiteral(d);
            return;
        }
        int end = isLabelSeparator(d.charAt(d.length() - 1)) && d.length() > 1 ? d.length() - 1 : d.length();
        int start = 0;
        for (int i = 0; i <= end; i++) {
            if (i == end || isLabelSeparator(d.charAt(i))) {
                checkLabel(d.substring(start, i));
                start = i + 1;
            }
        }
    }

    /** '.' and the dots UTS #46 maps to it: U+3002 ideographic, U+FF0E full-width, U+FF61 half-width ideographic. */
    private static boolean isLabelSeparator(char c) {
        return c == '.' || c == '\u3002' || c == '\uFF0E' || c == '\uFF61';
    }

    /** A host name label: letters and digits with inner hyphens; UTF-8 letters allowed (RFC 6531 U-labels). */
    private static void checkLabel(String label) throws AddressException {
        // The reason goes into the 501 reply, worded as names.Domains words it for the config and the CLI.
        if (label.isEmpty()) throw new AddressException("bad domain: empty label");
        if (label.charAt(0) == '-' || label.charAt(label.length() - 1) == '-') {
            throw new AddressException("bad domain: label starts or ends with a hyphen");
        }
        boolean ascii = true;
        for (int i = 0; i < label.length(); ) {
            int cp = label.codePointAt(i);
            if (cp < 128) {
                if (!(isAsciiLetterOrDigit(cp) || cp == '-')) throw new AddressException(badCharacter(cp));
            } else {
                ascii = false;
                int type = Character.getType(cp);
                boolean ok = Character.isLetterOrDigit(cp) || type == Character.NON_SPACING_MARK
                        || type == Character.COMBINING_SPACING_MARK || type == Character.ENCLOSING_MARK;
                if (!ok) throw new AddressException(badCharacter(cp));
            }
            i += Character.charCount(cp);
        }
        // U-labels are measured after IDNA conversion (keyOf); ASCII labels follow RFC 1035.
        if (ascii && label.length() > MAX_LABEL_OCTETS) throw new AddressException("domain label too long");
    }

    /** Printable characters quoted, others (controls, spaces of other scripts) as U+XXXX. */
    private static String badCharacter(int cp) {
        boolean printable = cp > 0x20 && cp != 0x7f && !Character.isWhitespace(cp) && !Character.isISOControl(cp)
                && Character.getType(cp) != Character.FORMAT;
        return "bad domain: invalid character " + (printable ? "'" + Character.toString(cp) + "'"
                : String.format("U+%04X", cp));
    }

    private static void checkAddressLiteral(String d) throws AddressException {
        if (d.length() < 3 || d.charAt(d.length() - 1) != ']') throw new AddressException("bad address literal");
        String inner = d.substring(1, d.length() - 1);
        if (inner.regionMatches(true, 0, "IPv6:", 0, 5)) {
            if (!isIpv6(inner.substring(5))) throw new AddressException("bad IPv6 address literal");
        } else if (inner.indexOf(':') >= 0) {
            throw new AddressException("unsupported address literal");
        } else if (!isIpv4(inner)) {
            throw new AddressException("bad IPv4 address literal");
        }
    }

    /** Dotted quad, each part 1-3 digits up to 255 (RFC 5321 Snum). */
    static boolean isIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) return false;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) return false;
            if (Integer.parseInt(p) > 255) return false;
        }
        return true;
    }

    /**
     * RFC 5321 IPv6-addr: full, "::"-compressed, and both with a trailing IPv4 part. Like RFC 4291 (and unlike the
     * strict RFC 5321 grammar) "::" may stand for a single group.
     */
    static boolean isIpv6(String s) {
        int groups = 8;
        String hex = s;
        if (s.indexOf('.') >= 0) {
            int lastColon = s.lastIndexOf(':');
            if (lastColon < 0 || !isIpv4(s.substring(lastColon + 1))) return false;
            groups = 6; // the IPv4 part fills the last two groups
            hex = s.substring(0, lastColon);
            if (hex.endsWith(":")) hex = hex + ":"; // "...::1.2.3.4": keep the "::" whole
        }
        int dbl = hex.indexOf("::");
        if (dbl < 0) return countGroups(hex) == groups;
        if (hex.indexOf("::", dbl + 1) >= 0) return false;
        int before = countGroups(hex.substring(0, dbl));
        int after = countGroups(hex.substring(dbl + 2));
        return before >= 0 && after >= 0 && before + after <= groups - 1;
    }

    /** Number of colon-separated 1-4 digit hex groups, 0 for "", -1 when malformed. */
    private static int countGroups(String s) {
        if (s.isEmpty()) return 0;
        String[] parts = s.split(":", -1);
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 4) return -1;
            for (int i = 0; i < p.length(); i++) if (!isHex(p.charAt(i))) return -1;
        }
        return parts.length;
    }

    private static boolean isHex(char c) {
        return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
    }

    private static boolean isAtext(int cp) {
        return isAsciiLetterOrDigit(cp) || cp < 128 && ATEXT_SPECIALS.indexOf(cp) >= 0 || isUtf8NonAscii(cp);
    }

    /**
     * Non-ASCII characters RFC 6531 lets into addresses; controls, spaces and U+FFFD (what invalid UTF-8 decoded to)
     * are not.
     */
    private static boolean isUtf8NonAscii(int cp) {
        return cp >= 0xA0 && cp != 0xFFFD && !Character.isSpaceChar(cp) && !Character.isISOControl(cp)
                && Character.isDefined(cp) && Character.getType(cp) != Character.SURROGATE;
    }

    private static boolean isAsciiLetterOrDigit(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) >= 128) return false;
        return true;
    }

    static int octets(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
