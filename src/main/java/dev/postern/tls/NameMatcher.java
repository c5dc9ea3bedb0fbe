package dev.postern.tls;

import dev.postern.names.Domains;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Certificate name matching after RFC 6125: DNS names from subjectAltName, the subject CN only when there is no DNS
 * SAN; a certificate wildcard only as the whole left-most label ("*.example.com" covers "mx.example.com", not
 * "example.com" nor "a.b.example.com").
 *
 * <p>Reference patterns (what the policy asks for) are host names, "*.example.com" (any one label under it) or
 * ".example.com" (example.com and every name under it, as Postfix's "dot-nexthop"), compared as A-labels (UTS #46,
 * {@link Domains#toAscii}), or IP literals ("192.0.2.1", "[2001:db8::1]"), which match IP address SANs only, never a
 * DNS name or the CN.
 */
public final class NameMatcher {
    private NameMatcher() {}

    private static final int DNS_NAME = 2;
    private static final int IP_ADDRESS = 7;

    /** The DNS names a certificate is valid for (lower-case; a Unicode CN as A-labels). */
    public static List<String> names(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (Integer.valueOf(DNS_NAME).equals(san.get(0))) {
                        out.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // treated as "no SAN"
        }
        if (!out.isEmpty()) return out;
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (!rdn.getType().equalsIgnoreCase("CN")) continue;
                String cn = rdn.getValue().toString().toLowerCase(Locale.ROOT);
                String ascii = cn.startsWith("*.") ? Domains.toAsciiOrNull(cn.substring(2)) : Domains.toAsciiOrNull(cn);
                out.add(ascii == null ? cn : cn.startsWith("*.") ? "*." + ascii : ascii);
            }
        } catch (InvalidNameException e) {
            // no CN either
        }
        return out;
    }

    /** The IP addresses of a certificate's subjectAltName, as {@link InetAddress#getHostAddress()} writes them. */
    public static List<String> ipAddresses(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans == null) return out;
            for (List<?> san : sans) {
                if (!Integer.valueOf(IP_ADDRESS).equals(san.get(0))) continue;
                InetAddress ip = ipLiteral((String) san.get(1));
                if (ip != null) out.add(ip.getHostAddress());
            }
        } catch (CertificateParsingException e) {
            // treated as "no SAN"
        }
        return out;
    }

    /** The first certificate DNS name (from {@link #names}) that satisfies one of the patterns, or null. */
    public static String firstMatch(List<String> certNames, List<String> patterns) {
        return firstMatch(certNames, List.of(), patterns);
    }

    /**
     * The first certificate identity that satisfies one of the patterns, or null: IP-literal patterns against
     * {@code certIps} only, the others against {@code certNames} only.
     */
    public static String firstMatch(List<String> certNames, List<String> certIps, List<String> patterns) {
        for (String pattern : patterns) {
            InetAddress ip = ipLiteral(pattern);
            if (ip == null) continue;
            for (String certIp : certIps) if (ip.equals(ipLiteral(certIp))) return certIp;
        }
        for (String name : certNames) {
            for (String pattern : patterns) {
                if (ipLiteral(pattern) != null) continue;
                String reference = reference(pattern);
                if (reference != null && matches(reference, name)) return name;
            }
        }
        return null;
    }

    /** A pattern's A-label form (its wildcard or leading dot kept), or null when it is no valid domain. */
    private static String reference(String pattern) {
        String p = trimDot(pattern.strip());
        String prefix = p.startsWith("*.") ? "*." : p.startsWith(".") ? "." : "";
        String ascii = Domains.toAsciiOrNull(p.substring(prefix.length()));
        return ascii == null ? null : prefix + ascii;
    }

    /** True for an IPv4 or IPv6 literal reference (IPv6 in brackets or not). */
    public static boolean isIpLiteral(String reference) {
        return ipLiteral(reference) != null;
    }

    /** The address of an IPv4 or IPv6 literal (IPv6 in brackets or not), parsed locally; null for anything else. */
    static InetAddress ipLiteral(String text) {
        if (!Hosts.isIpLiteral(text)) return null;
        try {
            return InetAddress.getByName(Hosts.unbracket(text)); // a literal: no lookup
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Whether certificate name {@code certName} satisfies reference {@code pattern}. */
    static boolean matches(String pattern, String certName) {
        String name = trimDot(certName);
        if (!usable(name)) return false;
        if (pattern.startsWith(".")) {
            String domain = pattern.substring(1);
            String plain = name.startsWith("*.") ? name.substring(2) : name;
            return name.equals(domain) || plain.endsWith("." + domain) || (name.startsWith("*.") && plain.equals(domain));
        }
        if (pattern.startsWith("*.")) {
            String parent = pattern.substring(2);
            if (name.equals(pattern)) return true;
            int dot = name.indexOf('.');
            return dot > 0 && !name.startsWith("*") && name.substring(dot + 1).equals(parent);
        }
        return hostMatches(trimDot(pattern), name);
    }

    /** RFC 6125 §6.4: exact, or a left-most "*" label standing for exactly one label. */
    static boolean hostMatches(String host, String certName) {
        if (certName.equals(host)) return true;
        if (!certName.startsWith("*.")) return false;
        int dot = host.indexOf('.');
        if (dot <= 0) return false;
        String suffix = certName.substring(1);
        // At least two labels after the wildcard: no "*.com".
        return suffix.indexOf('.', 1) > 0 && host.substring(dot).equals(suffix);
    }

    /**
     * A presented name can be matched at all: a wildcard only as the whole left-most label ("*.example.com", never
     * "f*.example.com", "*oo.example.com" or "mx.*.example.com") and with at least two labels after it (no "*.com").
     */
    static boolean usable(String certName) {
        if (certName.isEmpty() || certName.startsWith(".")) return false;
        int star = certName.indexOf('*');
        if (star < 0) return true;
        return star == 0 && certName.startsWith("*.") && certName.indexOf('*', 1) < 0
                && certName.indexOf('.', 2) > 2;
    }

    private static String trimDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
