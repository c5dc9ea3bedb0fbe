package dev.postern.tls;

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
 * ".example.com" (example.com and every name under it, as Postfix's "dot-nexthop").
 */
public final class NameMatcher {
    private NameMatcher() {}

    /** The DNS names a certificate is valid for (lower-case). */
    public static List<String> names(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (Integer.valueOf(2).equals(san.get(0))) out.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
                }
            }
        } catch (CertificateParsingException e) {
            // treated as "no SAN"
        }
        if (!out.isEmpty()) return out;
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) out.add(rdn.getValue().toString().toLowerCase(Locale.ROOT));
            }
        } catch (InvalidNameException e) {
            // no CN either
        }
        return out;
    }

    /** The first certificate name (from {@link #names}) that satisfies one of the patterns, or null. */
    public static String firstMatch(List<String> certNames, List<String> patterns) {
        for (String name : certNames) {
            for (String pattern : patterns) if (matches(pattern.toLowerCase(Locale.ROOT), name)) return name;
        }
        return null;
    }

    /** Whether certificate name {@code certName} satisfies reference {@code pattern}. */
    static boolean matches(String pattern, String certName) {
        String name = trimDot(certName);
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

    private static String trimDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
