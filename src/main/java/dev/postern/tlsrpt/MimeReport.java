package dev.postern.tlsrpt;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Finds the report in a mail message, and nothing more: a small, strict MIME reader for RFC 8460 §5.3. The message
 * is {@code multipart/report; report-type="tlsrpt"} with one part {@code application/tlsrpt+gzip} (or
 * {@code +json}), or is itself such a part. Multiparts may nest (a sender wrapping the report in
 * {@code multipart/mixed}) up to {@link #MAX_DEPTH}; each has at most {@link #MAX_PARTS} parts; header sections are
 * bounded; a boundary must be closed; base64 is decoded strictly (whitespace aside, a bad character is an error);
 * exactly one report part. Lines may end in CRLF or LF. Everything refused is a {@link ReportException} with a reason
 * for the log. Why not Jakarta Mail: it reads any MIME leniently, and here the only thing wanted is one part, with
 * bounds that are easier to be sure of in 200 lines of our own than in a general parser's settings.
 */
final class MimeReport {
    static final int MAX_DEPTH = 3;
    static final int MAX_PARTS = 32;
    static final int MAX_HEADER_BYTES = 64 * 1024;
    static final int MAX_FIELDS = 500;

    /** The report part: its media type ({@link ReportBytes#GZIP} or {@link ReportBytes#JSON}) and decoded body. */
    record Found(String mediaType, byte[] body) { }

    private final byte[] m;
    private final List<Found> found = new ArrayList<>();

    private MimeReport(byte[] message) {
        this.m = message;
    }

    /** The report part of {@code message}; 415 when the message is not a TLS report, 400 when it is malformed. */
    static Found find(byte[] message) throws ReportException {
        MimeReport r = new MimeReport(message);
        Entity top = r.entity(0, message.length);
        ContentType ct = top.contentType();
        boolean report = ct.type.equals("multipart/report")
                && "tlsrpt".equalsIgnoreCase(ct.params.getOrDefault("report-type", ""));
        if (!report && !isReportType(ct.type)) {
            throw new ReportException(415, "not a TLS report: Content-Type " + ReportBytes.printable(ct.type)
                    + " (expected multipart/report; report-type=tlsrpt, or " + ReportBytes.GZIP + ")");
        }
        r.walk(top, 0);
        if (r.found.isEmpty()) throw ReportException.malformed("no " + ReportBytes.GZIP + " or +json part");
        if (r.found.size() > 1) throw ReportException.malformed("more than one report part");
        return r.found.getFirst();
    }

    private static boolean isReportType(String type) {
        return type.equals(ReportBytes.GZIP) || type.equals(ReportBytes.JSON);
    }

    private void walk(Entity e, int depth) throws ReportException {
        ContentType ct = e.contentType();
        if (isReportType(ct.type)) {
            found.add(new Found(ct.type, decode(e)));
        } else if (ct.type.startsWith("multipart/")) {
            if (depth >= MAX_DEPTH) throw ReportException.malformed("multiparts nested deeper than " + MAX_DEPTH);
            String boundary = ct.params.get("boundary");
            if (boundary == null || boundary.isEmpty() || boundary.length() > 70) {
                throw ReportException.malformed(ct.type + " without a valid boundary (1 to 70 characters)");
            }
            for (int[] part : parts(e.bodyStart, e.end, boundary)) walk(entity(part[0], part[1]), depth + 1);
        }
        // other parts (the human-readable text/plain) are skipped
    }

    // ---- entities: a header section, an empty line, a body

    private record Entity(Map<String, String> fields, int bodyStart, int end) {
        ContentType contentType() throws ReportException {
            String v = fields.get("content-type");
            return v == null ? ContentType.TEXT : ContentType.parse(v);
        }
    }

    /** The entity in {@code [from, to)}: its fields (names lower case, unfolded) and where its body starts. */
    private Entity entity(int from, int to) throws ReportException {
        Map<String, String> fields = new LinkedHashMap<>();
        String name = null;
        StringBuilder value = null;
        int i = from;
        while (true) {
            if (i >= to) { // no body: an entity of headers only
                if (name != null) put(fields, name, value);
                return new Entity(fields, to, to);
            }
            int eol = lineEnd(i, to);
            int next = eol < to ? eol + 1 : to;
            int len = contentEnd(i, eol) - i;
            if (eol - from > MAX_HEADER_BYTES) throw ReportException.malformed("header section over 64 KiB");
            if (len == 0) {
                if (name != null) put(fields, name, value);
                return new Entity(fields, next, to);
            }
            String line = new String(m, i, len, StandardCharsets.ISO_8859_1);
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                if (value == null) throw ReportException.malformed("header section starts with a continuation line");
                value.append(' ').append(line.strip());
            } else {
                if (name != null) put(fields, name, value);
                int colon = line.indexOf(':');
                if (colon <= 0) throw ReportException.malformed("header line without a field name");
                name = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
                value = new StringBuilder(line.substring(colon + 1).strip());
                if (fields.size() >= MAX_FIELDS) throw ReportException.malformed("more than " + MAX_FIELDS + " fields");
            }
            i = next;
        }
    }

    private static void put(Map<String, String> fields, String name, StringBuilder value) throws ReportException {
        boolean mime = name.equals("content-type") || name.equals("content-transfer-encoding");
        if (mime && fields.containsKey(name)) throw ReportException.malformed("two " + name + " fields");
        fields.putIfAbsent(name, value.toString());
    }

    /** Index of the LF ending the line at {@code i}, or {@code to}. */
    private int lineEnd(int i, int to) {
        for (int j = i; j < to; j++) if (m[j] == '\n') return j;
        return to;
    }

    /** The end of a line's content: before the CR of a CRLF. */
    private int contentEnd(int start, int eol) {
        return eol > start && m[eol - 1] == '\r' ? eol - 1 : eol;
    }

    /** The parts of a multipart body in {@code [from, to)}: each {start, end}, the line break before a delimiter excluded. */
    private List<int[]> parts(int from, int to, String boundary) throws ReportException {
        byte[] dash = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        List<int[]> out = new ArrayList<>();
        int partStart = -1;
        for (int i = from; i < to; ) {
            int eol = lineEnd(i, to);
            int end = contentEnd(i, eol);
            int next = eol < to ? eol + 1 : to;
            if (startsWith(i, end, dash)) {
                int after = i + dash.length;
                boolean close = end - after >= 2 && m[after] == '-' && m[after + 1] == '-';
                int rest = close ? after + 2 : after;
                if (blank(rest, end)) {
                    if (partStart >= 0) {
                        int partEnd = i; // the CRLF (or LF) before the delimiter belongs to it
                        if (partEnd > partStart && m[partEnd - 1] == '\n') partEnd--;
                        if (partEnd > partStart && m[partEnd - 1] == '\r') partEnd--;
                        out.add(new int[] {partStart, Math.max(partStart, partEnd)});
                        if (out.size() > MAX_PARTS) throw ReportException.malformed("more than " + MAX_PARTS + " parts");
                    }
                    if (close) return out;
                    partStart = next;
                }
            }
            i = next;
        }
        throw ReportException.malformed("multipart without its closing boundary");
    }

    private boolean startsWith(int i, int end, byte[] prefix) {
        if (end - i < prefix.length) return false;
        for (int k = 0; k < prefix.length; k++) if (m[i + k] != prefix[k]) return false;
        return true;
    }

    private boolean blank(int from, int to) {
        for (int j = from; j < to; j++) if (m[j] != ' ' && m[j] != '\t') return false;
        return true;
    }

    /** The entity's body after its Content-Transfer-Encoding: base64 (strict), or 7bit/8bit/binary as it is. */
    private byte[] decode(Entity e) throws ReportException {
        String cte = e.fields.getOrDefault("content-transfer-encoding", "7bit").strip().toLowerCase(Locale.ROOT);
        switch (cte) {
            case "base64" -> {
                byte[] compact = new byte[e.end - e.bodyStart];
                int n = 0;
                for (int j = e.bodyStart; j < e.end; j++) {
                    byte b = m[j];
                    if (b != '\r' && b != '\n' && b != ' ' && b != '\t') compact[n++] = b;
                }
                try {
                    return Base64.getDecoder().decode(java.util.Arrays.copyOf(compact, n));
                } catch (IllegalArgumentException ex) {
                    throw ReportException.malformed("bad base64 in the report part: " + ex.getMessage());
                }
            }
            case "7bit", "8bit", "binary" -> {
                return java.util.Arrays.copyOfRange(m, e.bodyStart, e.end);
            }
            default -> throw ReportException.malformed("unsupported Content-Transfer-Encoding "
                    + ReportBytes.printable(cte) + " for the report part (base64, 7bit, 8bit or binary)");
        }
    }

    /** A Content-Type: the media type (lower case) and its parameters (names lower case, values unquoted). */
    record ContentType(String type, Map<String, String> params) {
        static final ContentType TEXT = new ContentType("text/plain", Map.of());

        static ContentType parse(String v) throws ReportException {
            int i = v.indexOf(';');
            String type = (i < 0 ? v : v.substring(0, i)).strip().toLowerCase(Locale.ROOT);
            if (!type.matches("[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")) {
                throw ReportException.malformed("bad Content-Type " + ReportBytes.printable(v));
            }
            Map<String, String> params = new LinkedHashMap<>();
            while (i >= 0 && i < v.length()) {
                int eq = v.indexOf('=', i + 1);
                if (eq < 0) break;
                String name = v.substring(i + 1, eq).strip().toLowerCase(Locale.ROOT);
                int j = eq + 1;
                while (j < v.length() && (v.charAt(j) == ' ' || v.charAt(j) == '\t')) j++;
                StringBuilder value = new StringBuilder();
                if (j < v.length() && v.charAt(j) == '"') {
                    j++;
                    while (j < v.length() && v.charAt(j) != '"') {
                        if (v.charAt(j) == '\\' && j + 1 < v.length()) j++;
                        value.append(v.charAt(j++));
                    }
                    if (j >= v.length()) throw ReportException.malformed("unterminated quoted parameter in Content-Type");
                    j++;
                    while (j < v.length() && v.charAt(j) != ';') j++;
                } else {
                    while (j < v.length() && v.charAt(j) != ';') value.append(v.charAt(j++));
                }
                params.putIfAbsent(name, value.toString().strip());
                i = j < v.length() ? j : -1;
            }
            return new ContentType(type, params);
        }
    }
}
