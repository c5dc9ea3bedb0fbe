package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Address parse/format round-trips over generated mailboxes and paths (dot-strings and quoted local parts, ASCII
 * and UTF-8 (RFC 6531), host names, IDN U-labels and A-labels, IPv4 and IPv6 literals, source routes, ESMTP
 * parameters): what Postern writes of an address it parsed reads back as the same address. Seeded (see
 * {@link Seeds}).
 */
class AddressPropertiesTest {
    private static final int CASES = 1000;
    private static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";
    /** Non-ASCII characters RFC 6531 lets into a local part: Latin, Greek, CJK, an astral one (two chars). */
    private static final String[] UTF8_LOCAL = {"é", "ü", "ß", "δ", "用", "户", "ж", "😀"};
    /** Letters valid in a U-label in either case (UTS #46 maps the upper case ones). */
    private static final String[] UTF8_LABEL = {"ä", "ö", "ü", "é", "ñ", "ç", "Ü", "É"};

    /** The text form, parsed: parse(m.toString()) is m, and toString gives back what was parsed. */
    @Test void mailboxTextRoundTrips() {
        Seeds.each(CASES, seed -> {
            String text = mailbox(new Random(seed));
            Mailbox m = Mailbox.parse(text);
            assertThat(m.toString()).as(text).isEqualTo(text);
            assertThat(Mailbox.parse(m.toString())).as(text).isEqualTo(m);
            assertThat(new Mailbox(m.localPart(), m.domain())).isEqualTo(m);
            assertThat(m.isAscii()).as(text).isEqualTo(StandardCharsets.US_ASCII.newEncoder().canEncode(text));
        });
    }

    /**
     * The forwarded form ({@link Mailbox#address()}: the domain's lookup form, as Postern stores and sends it) parses
     * to the same local part and lookup form, is its own lookup form, and fits in a path wherever the original did: a
     * recipient accepted is one the next hop can be given.
     */
    @Test void forwardedFormIsStableAndStillAValidPath() {
        Seeds.each(CASES, seed -> {
            String text = mailbox(new Random(seed));
            if (!fitsAsForwarded(text)) { // refused as a path: accepted, the next hop could not be given it
                assertThatThrownBy(() -> Path.parseForward("TO:<" + text + ">")).hasMessage("path too long");
                return;
            }
            Mailbox m = Path.parseForward("TO:<" + text + ">").mailbox();
            Mailbox forwarded = Path.parseForward("TO:<" + m.address() + ">").mailbox();
            assertThat(forwarded.localPart()).isEqualTo(m.localPart());
            assertThat(forwarded.domainKey()).isEqualTo(m.domainKey());
            assertThat(forwarded.domain()).isEqualTo(m.domainKey());
            assertThat(forwarded.address()).isEqualTo(m.address());
            assertThat(Path.parseReverse("FROM:<" + m.address() + ">").mailbox()).isEqualTo(forwarded);
        });
    }

    /** A path with a source route and parameters: the mailbox, the route flag and the parameters come back. */
    @Test void pathsRoundTripWithRoutesAndParameters() {
        Seeds.each(CASES, seed -> {
            Random r = new Random(seed);
            String text = mailbox(r);
            String route = r.nextInt(4) == 0 ? "@" + hostName(r) + (r.nextBoolean() ? ",@[192.0.2." + r.nextInt(256)
                    + "]" : "") + ":" : "";
            Map<String, String> params = new java.util.LinkedHashMap<>();
            StringBuilder wire = new StringBuilder((r.nextBoolean() ? "FROM:" : "from:") + "<" + route + text + ">");
            for (String key : List.of("SIZE", "BODY", "SMTPUTF8", "RET", "ENVID")) {
                if (r.nextBoolean()) continue;
                String value = switch (key) {
                    case "SIZE" -> Integer.toString(r.nextInt(1 << 30));
                    case "BODY" -> r.nextBoolean() ? "8BITMIME" : "7BIT";
                    case "SMTPUTF8" -> null;
                    case "RET" -> "HDRS";
                    default -> "id+2B" + r.nextInt(1000) + (r.nextBoolean() ? "é" : "");
                };
                params.put(key, value);
                String spelt = r.nextBoolean() ? key : key.toLowerCase(Locale.ROOT);
                wire.append(" ".repeat(1 + r.nextInt(2))).append(spelt).append(value == null ? "" : "=" + value);
            }
            if (Mailbox.octets("<" + route + text + ">") > Path.MAX_PATH_OCTETS || !fitsAsForwarded(text)) return;
            Path p = Path.parseReverse(wire.toString());
            assertThat(p.mailbox()).as(wire.toString()).isEqualTo(Mailbox.parse(text));
            assertThat(p.sourceRoute()).isEqualTo(!route.isEmpty());
            assertThat(p.params()).containsExactlyEntriesOf(params);
        });
    }

    /** The path as Postern forwards it (the domain's lookup form) is within RFC 5321's 256 octets. */
    private static boolean fitsAsForwarded(String text) throws AddressException {
        return Mailbox.octets("<" + Mailbox.parse(text).address() + ">") <= Path.MAX_PATH_OCTETS;
    }

    /** A mailbox as a client may write it: local part, "@", domain; within RFC 5321's lengths. */
    static String mailbox(Random r) {
        while (true) {
            String local = r.nextInt(3) == 0 ? quoted(r) : r.nextInt(4) == 0 ? "l".repeat(40 + r.nextInt(25))
                    : dotString(r);
            String domain = switch (r.nextInt(6)) {
                case 0 -> "[" + ipv4(r) + "]";
                case 1 -> "[" + (r.nextBoolean() ? "IPv6:" : "ipv6:") + ipv6(r) + "]";
                case 2 -> idn(r);
                default -> hostName(r);
            };
            // within the lengths as written, and a name DNS can hold in its A-label form (253 characters)
            if (Mailbox.octets(local) <= Mailbox.MAX_LOCAL_OCTETS && Mailbox.octets("<" + local + "@" + domain + ">")
                    <= Path.MAX_PATH_OCTETS && (domain.startsWith("[") || java.net.IDN.toASCII(domain).length() <= 253)) {
                return local + "@" + domain;
            }
        }
    }

    private static String dotString(Random r) {
        StringBuilder b = new StringBuilder();
        int atoms = 1 + r.nextInt(3);
        for (int a = 0; a < atoms; a++) {
            if (a > 0) b.append('.');
            int len = 1 + r.nextInt(10);
            for (int i = 0; i < len; i++) {
                int pick = r.nextInt(10);
                if (pick < 6) b.append(alnum(r));
                else if (pick < 8) b.append(ATEXT_SPECIALS.charAt(r.nextInt(ATEXT_SPECIALS.length())));
                else b.append(UTF8_LOCAL[r.nextInt(UTF8_LOCAL.length)]);
            }
        }
        return b.toString();
    }

    /** A quoted string: printable ASCII (space, '@', '<', '>' included), escaped pairs, UTF-8. */
    private static String quoted(Random r) {
        StringBuilder b = new StringBuilder("\"");
        int len = r.nextInt(20);
        for (int i = 0; i < len; i++) {
            int pick = r.nextInt(10);
            if (pick < 6) {
                char c = (char) (32 + r.nextInt(95));
                if (c == '"' || c == '\\') b.append('\\');
                b.append(c);
            } else if (pick < 8) {
                b.append('\\').append((char) (32 + r.nextInt(95)));
            } else {
                b.append(UTF8_LOCAL[r.nextInt(UTF8_LOCAL.length)]);
            }
        }
        return b.append('"').toString();
    }

    static String hostName(Random r) {
        StringBuilder b = new StringBuilder();
        int labels = 1 + r.nextInt(4);
        for (int l = 0; l < labels; l++) {
            if (l > 0) b.append('.');
            int len = 1 + r.nextInt(r.nextInt(8) == 0 ? 63 : 12);
            for (int i = 0; i < len; i++) {
                // the top-level label starts with a letter (an all-numeric one is no host name: UTS #46)
                b.append(i > 0 && i < len - 1 && r.nextInt(8) == 0 ? '-' : i == 0 && l == labels - 1
                        ? (char) ('a' + r.nextInt(26)) : alnum(r));
            }
        }
        if (r.nextInt(10) == 0) b.append('.'); // one trailing dot is allowed (and dropped from the lookup form)
        return b.toString();
    }

    /** A name with U-labels (or their A-labels, in any case) and ASCII labels, label separators of UTS #46. */
    private static String idn(Random r) {
        StringBuilder b = new StringBuilder();
        // sometimes long, mostly ASCII labels: their A-labels are longer than their UTF-8 (xn--, the delta)
        boolean longer = r.nextInt(4) == 0;
        int labels = 2 + r.nextInt(longer ? 10 : 2);
        for (int l = 0; l < labels; l++) {
            if (l > 0) b.append(r.nextInt(6) == 0 ? "。" : ".");
            int len = 1 + r.nextInt(longer ? 30 : 8);
            StringBuilder label = new StringBuilder();
            for (int i = 0; i < len; i++) {
                label.append(r.nextInt(longer ? 20 : 3) == 0 ? UTF8_LABEL[r.nextInt(UTF8_LABEL.length)]
                        : String.valueOf((char) ('a' + r.nextInt(26))));
            }
            String u = label.toString();
            if (r.nextInt(4) == 0) {
                String a = java.net.IDN.toASCII(u.toLowerCase(Locale.ROOT));
                u = r.nextBoolean() ? a.toUpperCase(Locale.ROOT) : a;
            }
            b.append(u);
        }
        return b.toString();
    }

    private static String ipv4(Random r) {
        return r.nextInt(256) + "." + r.nextInt(256) + "." + r.nextInt(256) + "." + r.nextInt(256);
    }

    /** Full, "::"-compressed at any place, upper or lower case, with or without an IPv4 tail. */
    private static String ipv6(Random r) {
        boolean v4 = r.nextInt(4) == 0;
        int groups = v4 ? 6 : 8;
        String[] g = new String[groups];
        for (int i = 0; i < groups; i++) {
            String h = Integer.toHexString(r.nextInt(r.nextBoolean() ? 16 : 65536));
            g[i] = r.nextBoolean() ? h.toUpperCase(Locale.ROOT) : h;
        }
        String tail = v4 ? ipv4(r) : null;
        if (r.nextBoolean()) {
            int from = r.nextInt(groups);
            int to = from + 1 + r.nextInt(groups - from);
            String head = String.join(":", java.util.Arrays.copyOfRange(g, 0, from));
            String rest = String.join(":", java.util.Arrays.copyOfRange(g, to, groups));
            String s = head + "::" + rest;
            if (tail != null) s += (rest.isEmpty() ? "" : ":") + tail;
            return s;
        }
        return String.join(":", g) + (tail == null ? "" : ":" + tail);
    }

    private static char alnum(Random r) {
        String s = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return s.charAt(r.nextInt(s.length()));
    }
}
