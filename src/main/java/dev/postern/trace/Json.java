package dev.postern.trace;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.deser.std.FromStringDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.time.Instant;

/**
 * The one JSON mapping of audit records and receipts: records by their components, {@link Instant}s as ISO-8601
 * strings ("2026-12-02T10:31:05Z"). The two Instant mappers are written here instead of adding
 * jackson-datatype-jsr310 for one type.
 */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .registerModule(new SimpleModule("postern-instants")
                    .addSerializer(Instant.class, ToStringSerializer.instance)
                    .addDeserializer(Instant.class, new FromStringDeserializer<>(Instant.class) {
                        @Override protected Instant _deserialize(String value, DeserializationContext context) {
                            return Instant.parse(value);
                        }
                    }))
            // A newer receipt or trace may carry fields this version does not know; reading it must not fail.
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false);

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
