package dev.postern.audit;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Audit records as JSON, one object per line: {@code {"type":"delivery","record":{...}}}. The tag names the record
 * type independently of Java class names, so a spill written by one version is read by the next. Instants are ISO-8601
 * strings ({@link Instant#toString()}): lossless to the nanosecond, so a replayed record equals the original (the
 * store's natural keys include times) and no jackson-datatype-jsr310 is needed.
 */
public final class RecordCodec {
    /**
     * The one JSON mapping of Postern's values (records, traces, receipts, reports, the store's list columns):
     * records by their components, Instants as ISO-8601 strings, unknown fields ignored (a newer version's receipt,
     * trace or spill read by an older one), empty beans allowed. Thread-safe once built; never reconfigure it.
     */
    static final ObjectMapper JSON = JsonMapper.builder()
            .addModule(new SimpleModule("instant-iso")
                    .addSerializer(Instant.class, ToStringSerializer.instance)
                    .addDeserializer(Instant.class, new InstantDeserializer()))
            // a newer version's fields in an older version's spill (a downgrade) are ignored, not fatal
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(com.fasterxml.jackson.databind.SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    private RecordCodec() {}

    /** {@link #JSON}, for the packages that print or sign records (trace, receipts, cli). */
    public static ObjectMapper mapper() {
        return JSON;
    }

    /** The record as one JSON line, without the newline. */
    static byte[] encode(AuditRecord r) {
        try {
            return JSON.writeValueAsBytes(new Line(tag(r), r));
        } catch (JsonProcessingException e) {
            // records hold strings, numbers, enums, lists and instants only: this is a programming error
            throw new IllegalStateException("cannot encode " + r.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /** The record of one line; IOException (with a one-line message) when the line is not one. */
    static AuditRecord decode(byte[] line, int length) throws IOException {
        JsonNode node = JSON.readTree(JSON.createParser(line, 0, length));
        if (node == null || !node.isObject()) throw new IOException("not a JSON object");
        JsonNode type = node.get("type"), record = node.get("record");
        if (type == null || !type.isTextual() || record == null || !record.isObject()) {
            throw new IOException("no \"type\" and \"record\"");
        }
        Class<? extends AuditRecord> c = switch (type.textValue()) {
            case "tls" -> TlsSessionRecord.class;
            case "message" -> MessageRecord.class;
            case "delivery" -> DeliveryRecord.class;
            case "admin" -> AdminRecord.class;
            case "alert" -> AlertRecord.class;
            case "probe" -> ProbeRecord.class;
            case "tlsrpt" -> TlsRptRecord.class;
            default -> throw new IOException("unknown record type \"" + type.textValue() + "\"");
        };
        try {
            return JSON.treeToValue(record, c);
        } catch (IllegalArgumentException e) { // a compact constructor refused a value
            throw new IOException(e.getMessage(), e);
        }
    }

    private static String tag(AuditRecord r) {
        return switch (r) {
            case TlsSessionRecord x -> "tls";
            case MessageRecord x -> "message";
            case DeliveryRecord x -> "delivery";
            case AdminRecord x -> "admin";
            case AlertRecord x -> "alert";
            case ProbeRecord x -> "probe";
            case TlsRptRecord x -> "tlsrpt";
        };
    }

    /** One spill line; {@code record} is written with its runtime type's components. */
    private record Line(String type, AuditRecord record) { }

    private static final class InstantDeserializer extends StdScalarDeserializer<Instant> {
        InstantDeserializer() { super(Instant.class); }

        @Override public Instant deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            String text = p.getValueAsString();
            if (text == null) return (Instant) ctx.handleUnexpectedToken(Instant.class, p);
            try {
                return Instant.parse(text);
            } catch (DateTimeParseException e) {
                return (Instant) ctx.handleWeirdStringValue(Instant.class, text, "expected an ISO-8601 instant");
            }
        }
    }
}
