package dev.postern.queue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The on-disk envelope format: UTF-8 "key: value" lines, one "rcpt:" line per recipient with "name=value" fields,
 * and a final "end" line so a truncated file is detected. Values are percent-encoded where they contain space,
 * '%', '=', control or invisible characters, so every value is one token on one line. An absent key or field means
 * null. Example:
 * <pre>
 * format: 1
 * id: 01JQ3Z5T8C4G3X7M0RA9VN2B6E
 * version: 2
 * sender: alice@example.org
 * received: 2025-03-01T10:15:30.123Z
 * client: mx.example.org%20(mail.example.org%20[192.0.2.1])
 * body-type: 8BITMIME
 * smtputf8: false
 * size: 2048
 * next-attempt: 2025-03-01T10:20:30Z
 * delay-warned: false
 * require-tls: true
 * tls-required-no: true
 * rcpt: bob@example.com status=FAILED attempts=1 last-attempt=2025-03-01T10:15:31Z last-result=550%205.1.1%20no
 * end
 * </pre>
 * {@code require-tls} and {@code tls-required-no} are written only when true, so an envelope written before they
 * existed reads as false (and an older reader ignores them). The example shows both; a real envelope has at most one.
 */
final class EnvelopeCodec {
    private EnvelopeCodec() {}

    static final int FORMAT = 1;

    /** The envelope bytes cannot be understood (truncated, edited by hand, another format). */
    static final class CorruptEnvelopeException extends IOException {
        CorruptEnvelopeException(String message) { super(message); }
        CorruptEnvelopeException(String message, Throwable cause) { super(message, cause); }
    }

    static byte[] encode(Envelope e) {
        var sb = new StringBuilder(256);
        line(sb, "format", Integer.toString(FORMAT));
        line(sb, "id", e.id());
        line(sb, "version", Long.toString(e.version()));
        line(sb, "sender", e.sender());
        line(sb, "received", instant(e.received()));
        line(sb, "client", e.client());
        line(sb, "body-type", e.bodyType());
        line(sb, "smtputf8", Boolean.toString(e.smtputf8()));
        line(sb, "size", Long.toString(e.size()));
        line(sb, "next-attempt", instant(e.nextAttempt()));
        line(sb, "delay-warned", Boolean.toString(e.delayWarned()));
        if (e.requireTls()) line(sb, "require-tls", "true");
        if (e.tlsRequiredNo()) line(sb, "tls-required-no", "true");
        for (Envelope.Recipient r : e.recipients()) {
            sb.append("rcpt: ").append(escape(r.address()));
            field(sb, "status", r.status().name());
            field(sb, "attempts", Integer.toString(r.attempts()));
            field(sb, "last-attempt", instant(r.lastAttempt()));
            field(sb, "last-result", r.lastResult());
            sb.append('\n');
        }
        sb.append("end\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static Envelope decode(byte[] bytes) throws CorruptEnvelopeException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException ex) {
            throw new CorruptEnvelopeException("not UTF-8", ex);
        }
        try {
            return parse(text);
        } catch (CorruptEnvelopeException ex) {
            throw ex;
        } catch (RuntimeException ex) { // bad number, bad instant, unknown status, null component ...
            throw new CorruptEnvelopeException("bad envelope: " + ex.getMessage(), ex);
        }
    }

    private static Envelope parse(String text) throws CorruptEnvelopeException {
        Map<String, String> fields = new HashMap<>();
        List<Envelope.Recipient> recipients = new ArrayList<>();
        boolean ended = false;
        for (String raw : text.split("\n", -1)) {
            String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
            if (ended) {
                if (!line.isBlank()) throw new CorruptEnvelopeException("data after end");
                continue;
            }
            if (line.isBlank() || line.startsWith("#")) continue;
            if (line.equals("end")) {
                ended = true;
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) throw new CorruptEnvelopeException("not a key: value line: " + line);
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            if (key.equals("rcpt")) {
                recipients.add(recipient(value));
            } else if (fields.put(key, value) != null) {
                throw new CorruptEnvelopeException("duplicate key " + key);
            }
        }
        if (!ended) throw new CorruptEnvelopeException("truncated (no end line)");
        if (!Integer.toString(FORMAT).equals(fields.get("format"))) {
            throw new CorruptEnvelopeException("unsupported format " + fields.get("format"));
        }
        String id = unescape(required(fields, "id"));
        if (!QueueIds.isValid(id)) throw new CorruptEnvelopeException("bad id " + id);
        if (recipients.isEmpty()) throw new CorruptEnvelopeException("no recipients");
        // unknown keys are ignored, so a newer writer may add fields
        return new Envelope(id,
                unescape(required(fields, "sender")),
                recipients,
                Instant.parse(required(fields, "received")),
                nullableString(fields.get("client")),
                nullableString(fields.get("body-type")),
                bool(required(fields, "smtputf8")),
                Long.parseLong(required(fields, "size")),
                nullableInstant(fields.get("next-attempt")),
                bool(required(fields, "delay-warned")),
                Long.parseLong(required(fields, "version")),
                flag(fields, "require-tls"),
                flag(fields, "tls-required-no"));
    }

    private static Envelope.Recipient recipient(String value) throws CorruptEnvelopeException {
        String[] tokens = value.split(" +");
        Map<String, String> f = new HashMap<>();
        for (int i = 1; i < tokens.length; i++) {
            int eq = tokens[i].indexOf('=');
            if (eq <= 0) throw new CorruptEnvelopeException("bad recipient field " + tokens[i]);
            if (f.put(tokens[i].substring(0, eq), tokens[i].substring(eq + 1)) != null) {
                throw new CorruptEnvelopeException("duplicate recipient field " + tokens[i]);
            }
        }
        String address = unescape(tokens[0]);
        if (address.isEmpty()) throw new CorruptEnvelopeException("empty recipient");
        return new Envelope.Recipient(address,
                Envelope.Recipient.Status.valueOf(required(f, "status")),
                Integer.parseInt(required(f, "attempts")),
                f.containsKey("last-result") ? unescape(f.get("last-result")) : "",
                nullableInstant(f.get("last-attempt")));
    }

    private static String required(Map<String, String> fields, String key) throws CorruptEnvelopeException {
        String v = fields.get(key);
        if (v == null) throw new CorruptEnvelopeException("missing " + key);
        return v;
    }

    private static boolean bool(String v) throws CorruptEnvelopeException {
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new CorruptEnvelopeException("not a boolean: " + v);
        };
    }

    /** An optional "true"/"false" line, false when absent. */
    private static boolean flag(Map<String, String> fields, String key) throws CorruptEnvelopeException {
        return fields.containsKey(key) && bool(fields.get(key));
    }

    private static String nullableString(String v) { return v == null ? null : unescape(v); }

    private static Instant nullableInstant(String v) { return v == null ? null : Instant.parse(v); }

    private static String instant(Instant t) { return t == null ? null : t.toString(); }

    private static void line(StringBuilder sb, String key, String value) {
        if (value != null) {
            sb.append(key).append(": ").append(escape(value)).append('\n');
        }
    }

    private static void field(StringBuilder sb, String key, String value) {
        if (value != null) {
            sb.append(' ').append(key).append('=').append(escape(value));
        }
    }

    /** Percent-encodes (as UTF-8 bytes) what would break a one-token-per-value line; readable text stays as is. */
    static String escape(String s) {
        var sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (needsEscape(cp)) {
                String unit = Character.isSurrogate((char) cp) && n == 1 ? "\uFFFD" : s.substring(i, i + n);
                for (byte b : unit.getBytes(StandardCharsets.UTF_8)) {
                    sb.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
                            .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
                }
            } else {
                sb.appendCodePoint(cp);
            }
            i += n;
        }
        return sb.toString();
    }

    private static boolean needsEscape(int cp) {
        if (cp == '%' || cp == '=' || cp <= ' ' || cp == 0x7F) return true;
        if (cp < 0x80) return false;
        if (Character.isISOControl(cp) || Character.isWhitespace(cp) || Character.isSpaceChar(cp)) return true;
        int type = Character.getType(cp);
        return type == Character.FORMAT || type == Character.SURROGATE || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE;
    }

    static String unescape(String s) {
        if (s.indexOf('%') < 0) return s;
        var out = new ByteArrayOutputStream(s.length());
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < utf8.length; i++) {
            if (utf8[i] == '%') {
                if (i + 2 >= utf8.length) throw new IllegalArgumentException("truncated escape in " + s);
                int hi = Character.digit(utf8[i + 1], 16);
                int lo = Character.digit(utf8[i + 2], 16);
                if (hi < 0 || lo < 0) throw new IllegalArgumentException("bad escape in " + s);
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                out.write(utf8[i]);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(out.toByteArray())).toString();
        } catch (CharacterCodingException ex) {
            throw new IllegalArgumentException("escape is not UTF-8 in " + s, ex);
        }
    }
}
