package dev.postern.admin;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One HTTP request as an endpoint sees it.
 *
 * @param method      "GET", "POST", "DELETE"
 * @param path        the whole path ("/api/queue/01ABC")
 * @param rest        what follows the route's prefix for a prefix route ("01ABC" for "/api/queue/*"), else ""
 * @param query       the query parameters, decoded, in order
 * @param headers     the request headers, names in lower case
 * @param body        the request body, at most the route's limit (a larger one was answered 413 before this)
 * @param peer        the client's address
 * @param authorized  whether the request carried the admin token
 */
public record Call(String method, String path, String rest, Map<String, List<String>> query,
                   Map<String, String> headers, byte[] body, String peer, boolean authorized) {
    public Call {
        query = Map.copyOf(query);
        headers = Map.copyOf(headers);
        body = body == null ? new byte[0] : body;
    }

    /** The first value of a query parameter. */
    public Optional<String> param(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.getFirst());
    }

    /** A header's value (name in any case). */
    public Optional<String> header(String name) {
        return Optional.ofNullable(headers.get(name.toLowerCase(java.util.Locale.ROOT)));
    }

    /**
     * The {@code since} parameter (else {@code fallback}) as the commands read {@code --since}: a duration back from
     * now, an ISO time or a date; a bad one is an IllegalArgumentException naming the parameter (a 400).
     */
    public java.time.Instant since(String fallback) {
        String s = param("since").filter(x -> !x.isBlank()).orElse(fallback);
        try {
            return dev.postern.config.Durations.point(s, java.time.Instant.now(), true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("since: " + e.getMessage());
        }
    }

    /** The {@code domain} parameter in lookup form, null when absent or empty; a bad one is a 400 naming it. */
    public String domain() {
        String d = param("domain").map(String::strip).orElse("");
        if (d.isEmpty()) return null;
        String ascii = dev.postern.names.Domains.toAsciiOrNull(d);
        if (ascii == null) {
            throw new IllegalArgumentException("domain: expected a domain like partner.example, got \"" + d + "\"");
        }
        return ascii;
    }

    /** The body as UTF-8 text. */
    public String text() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
