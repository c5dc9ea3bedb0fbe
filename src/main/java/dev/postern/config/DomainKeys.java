package dev.postern.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * How every table keyed by destination domain matches a domain (routes, outbound TLS policies, policy overrides): the
 * exact key, else the ".parent" key of the nearest parent domain. "a.b.example.com" tries "a.b.example.com", then
 * ".b.example.com", ".example.com", ".com"; a ".example.com" key therefore covers every subdomain of example.com but
 * not example.com itself, and an "example.com" key covers example.com only.
 */
public final class DomainKeys {
    private DomainKeys() {}

    /** The keys that match {@code domain}, most specific first. */
    public static List<String> candidates(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        List<String> keys = new ArrayList<>();
        keys.add(d);
        for (int dot = d.indexOf('.', 1); dot >= 0; dot = d.indexOf('.', dot + 1)) keys.add(d.substring(dot));
        return keys;
    }

    /** The most specific entry of {@code table} that matches {@code domain}. */
    public static <V> Optional<Map.Entry<String, V>> lookup(Map<String, V> table, String domain) {
        for (String key : candidates(domain)) {
            V v = table.get(key);
            if (v != null) return Optional.of(Map.entry(key, v));
        }
        return Optional.empty();
    }
}
