package dev.postern.trace;

import dev.postern.audit.RecordCodec;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * JSON for people and programs reading records, traces, receipts and reports: the audit's one mapping
 * ({@link RecordCodec#mapper()}: Instants as ISO-8601 strings, "2026-12-02T10:31:05Z"), indented.
 */
public final class Json {
    private static final ObjectMapper MAPPER = RecordCodec.mapper();

    private Json() {}

    /** The shared mapper (thread-safe once configured; never reconfigure it). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** {@code value} as indented JSON. */
    public static String pretty(Object value) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getOriginalMessage(), e);
        }
    }
}
