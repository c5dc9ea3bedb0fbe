package dev.postern.smtp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The argument of MAIL FROM or RCPT TO: a path in angle brackets plus ESMTP parameters. RFC 5321's 256 octets hold
 * for the path as written and as forwarded ({@link Mailbox#address()}, the domain in A-labels); (keys upper-cased, values as
 * given, value null for a keyword without '='). {@code mailbox} is null for the null reverse path "<>".
 * {@code sourceRoute} is true when an obsolete source route ("<@a,@b:user@c>") was given and stripped.
 *
 * <p>The forward path "&lt;Postmaster&gt;" (any case, no domain) gives {@code Mailbox("Postmaster", "")}: the empty
 * domain means "this server". Parameters keep their order; a repeated keyword is an error.
 */
public record Path(Mailbox mailbox, Map<String, String> params, boolean sourceRoute) {

    static final int MAX_PATH_OCTETS = 256;

    public boolean isNull() { return mailbox == null; }

    /**
     * Parses the text after "MAIL " i.e. "FROM:<a@b> SIZE=10 BODY=8BITMIME" (case-insensitive "FROM:").
     * Spaces between "FROM:" and "&lt;" are tolerated; the angle brackets are not optional.
     */
    public static Path parseReverse(String argument) throws AddressException {
        return parse(argument, "FROM:", false);
    }

    /** Parses the text after "RCPT " i.e. "TO:<a@b> NOTIFY=NEVER"; "<>" is an error; "<Postmaster>" is allowed. */
    public static Path parseForward(String argument) throws AddressException {
        return parse(argument, "TO:", true);
    }

    private static Path parse(String arg, String prefix, boolean forward) throws AddressException {
        if (arg == null || !arg.regionMatches(true, 0, prefix, 0, prefix.length())) {
            throw new AddressException("syntax: expected " + prefix + "<address>");
        }
        int open = prefix.length();
        while (open < arg.length() && arg.charAt(open) == ' ') open++;
        if (open >= arg.length() || arg.charAt(open) != '<') throw new AddressException("path must be in angle brackets");
        int close = closingBracket(arg, open + 1);
        if (close < 0) throw new AddressException("path must be in angle brackets");
        String inner = arg.substring(open + 1, close);

        boolean route = false;
        if (inner.startsWith("@")) {
            inner = inner.substring(routeEnd(inner));
            route = true;
        }
        Mailbox mailbox;
        if (inner.isEmpty()) {
            if (forward || route) throw new AddressException("null path not allowed here");
            mailbox = null;
        } else if (forward && inner.equalsIgnoreCase("Postmaster")) {
            mailbox = new Mailbox("Postmaster", "");
        } else {
            mailbox = Mailbox.parse(inner);
        }
        if (Mailbox.octets(arg.substring(open, close + 1)) > MAX_PATH_OCTETS) throw new AddressException("path too long");
        // As Postern stores and forwards it (A-labels are longer than their UTF-8): a next hop would refuse it
        if (mailbox != null && Mailbox.octets(mailbox.address()) + 2 > MAX_PATH_OCTETS) {
            throw new AddressException("path too long");
        }
        return new Path(mailbox, parseParams(arg.substring(close + 1)), route);
    }

    /** Index of the '>' closing the path, skipping quoted strings (a quoted local part may hold '>'); -1 if none. */
    private static int closingBracket(String s, int from) {
        boolean quoted = false;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted && c == '\\') i++;
            else if (c == '"') quoted = !quoted;
            else if (!quoted && c == '>') return i;
        }
        return -1;
    }

    /** Validates an A-d-l "@a,@b:" and returns the index just after its ':'. */
    private static int routeEnd(String s) throws AddressException {
        int i = 0;
        while (true) {
            if (i >= s.length() || s.charAt(i) != '@') throw new AddressException("bad source route");
            int end;
            if (i + 1 < s.length() && s.charAt(i + 1) == '[') {
                end = s.indexOf(']', i + 1);
                if (end < 0) throw new AddressException("bad source route");
                end++;
            } else {
                end = i + 1;
                while (end < s.length() && s.charAt(end) != ',' && s.charAt(end) != ':') end++;
            }
            try {
                Mailbox.checkDomain(s.substring(i + 1, end));
            } catch (AddressException e) {
                throw new AddressException("bad source route");
            }
            if (end >= s.length()) throw new AddressException("bad source route");
            if (s.charAt(end) == ':') return end + 1;
            if (s.charAt(end) != ',') throw new AddressException("bad source route");
            i = end + 1;
        }
    }

    /** ESMTP parameters after the path: (SP keyword ["=" value])*. */
    private static Map<String, String> parseParams(String rest) throws AddressException {
        if (rest.isEmpty()) return Map.of();
        if (rest.charAt(0) != ' ') throw new AddressException("unexpected text after path");
        Map<String, String> params = new LinkedHashMap<>();
        for (String token : rest.split(" +")) {
            if (token.isEmpty()) continue; // the leading separator
            int eq = token.indexOf('=');
            String key = eq < 0 ? token : token.substring(0, eq);
            String value = eq < 0 ? null : token.substring(eq + 1);
            if (!isKeyword(key) || value != null && !isValue(value)) throw new AddressException("malformed parameter");
            key = key.toUpperCase(Locale.ROOT);
            if (params.containsKey(key)) throw new AddressException("duplicate parameter " + key);
            params.put(key, value);
        }
        return Collections.unmodifiableMap(params);
    }

    /** esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"). */
    private static boolean isKeyword(String k) {
        if (k.isEmpty() || k.charAt(0) == '-') return false;
        for (int i = 0; i < k.length(); i++) {
            char c = k.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')) return false;
        }
        return true;
    }

    /** esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii) (RFC 5321, RFC 6531). */
    private static boolean isValue(String v) {
        if (v.isEmpty()) return false;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < 33 || c == '=' || c == 127 || c >= 0x80 && c < 0xA0 || c == 0xFFFD) return false;
        }
        return true;
    }
}
