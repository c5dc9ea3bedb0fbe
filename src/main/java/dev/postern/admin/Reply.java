package dev.postern.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.postern.audit.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What an endpoint answers.
 *
 * @param status      the HTTP status
 * @param contentType the Content-Type
 * @param body        the body
 * @param headers     more response headers
 */
public record Reply(int status, String contentType, byte[] body, Map<String, String> headers) {
    public static final String JSON = "application/json; charset=utf-8";

    public Reply {
        headers = Map.copyOf(headers);
    }

    public Reply(int status, String contentType, byte[] body) {
        this(status, contentType, body, Map.of());
    }

    /** 200 with {@code value} as JSON through the one mapping of Postern's values ({@link RecordCodec#mapper()}). */
    public static Reply json(Object value) {
        return json(200, value);
    }

    public static Reply json(int status, Object value) {
        try {
            return new Reply(status, JSON, RecordCodec.mapper().writeValueAsBytes(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** {@code {"error": message}} with {@code status}. */
    public static Reply error(int status, String message) {
        return json(status, Map.of("error", message));
    }

    public static Reply text(int status, String contentType, String text) {
        return new Reply(status, contentType, text.getBytes(StandardCharsets.UTF_8));
    }
}
