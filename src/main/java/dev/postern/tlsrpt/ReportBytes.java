package dev.postern.tlsrpt;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * A report's bytes by its media type: {@code application/tlsrpt+json} as they are, {@code application/tlsrpt+gzip}
 * inflated with the inflated size counted as it grows, so a gzip bomb is refused after {@code max} bytes of output
 * (and at most that much memory), never inflated whole. Only one layer is inflated: a gzip inside the gzip is not JSON.
 */
public final class ReportBytes {
    public static final String GZIP = "application/tlsrpt+gzip";
    public static final String JSON = "application/tlsrpt+json";

    private ReportBytes() {}

    /** The media type of a Content-Type value (parameters dropped, lower case), or "" for none. */
    public static String mediaType(String contentType) {
        if (contentType == null) return "";
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }

    /** The report's JSON bytes from a body of media type {@code type}; 415 for a type that is not a report's. */
    public static byte[] json(String type, byte[] body, long max) throws ReportException {
        return switch (type) {
            case GZIP -> inflate(body, max);
            case JSON -> {
                if (body.length > max) throw ReportException.tooLarge("report larger than " + max + " bytes");
                yield body;
            }
            default -> throw new ReportException(415, "content type must be " + GZIP + " or " + JSON
                    + (type.isEmpty() ? "" : ", not " + printable(type)));
        };
    }

    /** Inflates a gzip stream (members concatenated are one stream), stopping as soon as it passes {@code max}. */
    static byte[] inflate(byte[] gz, long max) throws ReportException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(gz.length * 4, 1 << 16));
        byte[] buf = new byte[16 * 1024];
        long total = 0;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz), 8 * 1024)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
                if (total > max) {
                    throw ReportException.tooLarge("report inflates to more than " + max + " bytes");
                }
                out.write(buf, 0, n);
            }
        } catch (ZipException e) {
            throw ReportException.malformed("not a valid gzip stream: " + e.getMessage());
        } catch (java.io.EOFException e) {
            throw ReportException.malformed("gzip stream cut short");
        } catch (IOException e) {
            throw ReportException.malformed("cannot inflate: " + e.getMessage());
        }
        return out.toByteArray();
    }

    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(100).forEach(c -> b.appendCodePoint(c < 0x20 || c == 0x7f ? '?' : c));
        return b.toString();
    }
}
