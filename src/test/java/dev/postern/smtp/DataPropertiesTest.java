package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Round-trip and robustness properties of DATA writing and reading, checked over many generated inputs. Plain JUnit
 * with seeded randomness (the seed is in the failure message, so a failure can be replayed).
 */
class DataPropertiesTest {
    private static final int CASES = 400;

    /** Bytes biased towards the interesting ones: CR, LF and dots. */
    static byte[] content(Random r) {
        byte[] b = new byte[r.nextInt(3000)];
        for (int i = 0; i < b.length; i++) {
            int pick = r.nextInt(12);
            b[i] = pick < 3 ? (byte) (r.nextBoolean() ? '\r' : '\n') : pick < 6 ? (byte) '.' : (byte) r.nextInt(256);
        }
        return b;
    }

    /** Content whose only line endings are CRLF: lines of non-CR/LF bytes, each followed by CRLF. */
    static byte[] crlfContent(Random r) {
        StringBuilder sb = new StringBuilder();
        int lines = r.nextInt(60);
        for (int l = 0; l < lines; l++) {
            int len = r.nextInt(120);
            for (int i = 0; i < len; i++) {
                int pick = r.nextInt(6);
                sb.append(pick == 0 ? '.' : pick < 5 ? (char) (' ' + r.nextInt(95)) : (char) (0x80 + r.nextInt(128)));
            }
            sb.append("\r\n");
        }
        return sb.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    @Test void crlfContentRoundTripsByteExact() throws IOException {
        for (long seed = 0; seed < CASES; seed++) {
            Random r = new Random(seed);
            byte[] content = crlfContent(r);
            byte[] wire = wire(content);
            ReadBack back = readBack(new ChunkedInputStream(wire, r.nextLong(), 1 + r.nextInt(64)), Long.MAX_VALUE);
            assertThat(back.content).as("seed %d", seed).isEqualTo(content);
            assertThat(back.result).as("seed %d", seed).isEqualTo(new SmtpInput.DataResult(content.length, false, false));
            assertThat(back.remaining).as("seed %d", seed).isZero();
        }
    }

    @Test void anyContentIsNormalisedAndTerminatedOnce() throws IOException {
        for (long seed = 0; seed < CASES; seed++) {
            byte[] content = content(new Random(seed));
            ReadBack back = readBack(new ByteArrayInputStream(append(wire(content), "QUIT\r\n")), Long.MAX_VALUE);
            // whatever the content, the writer's output has no bare endings and ends exactly at its terminator
            assertThat(back.result.bareLineEnding()).as("seed %d", seed).isFalse();
            assertThat(back.remaining).as("seed %d", seed).isEqualTo(6);
            assertThat(normaliseLineEndings(content)).as("seed %d", seed).isEqualTo(back.content);
        }
    }

    @Test void contentWithoutBareEndingsNeverFlagged() throws IOException {
        for (long seed = 0; seed < CASES; seed++) {
            // fed raw (not dot-stuffed): dots may be dropped, but bare endings are never invented
            byte[] wire = append(crlfContent(new Random(seed)), ".\r\n");
            ReadBack back = readBack(new ByteArrayInputStream(wire), Long.MAX_VALUE);
            assertThat(back.result.bareLineEnding()).as("seed %d", seed).isFalse();
        }
    }

    @Test void chunkingDoesNotChangeTheResult() throws IOException {
        for (long seed = 0; seed < CASES; seed++) {
            Random r = new Random(seed);
            byte[] wire = append(content(r), "\r\n.\r\nNOOP\r\n");
            int max = r.nextInt(4001);
            ReadBack whole = readBack(new ByteArrayInputStream(wire), max);
            ReadBack chunked = readBack(new ChunkedInputStream(wire, r.nextLong(), 1 + r.nextInt(17)), max);
            assertThat(chunked.content).as("seed %d", seed).isEqualTo(whole.content);
            assertThat(chunked.result).as("seed %d", seed).isEqualTo(whole.result);
            assertThat(whole.content.length).as("seed %d", seed).isEqualTo((int) Math.min(max, whole.result.bytes()));
            assertThat(whole.result.tooBig()).as("seed %d", seed).isEqualTo(whole.result.bytes() > max);
        }
    }

    /**
     * Lines of any bytes but CR and LF, of any length the writer passes unbroken (0 to 998 octets), with dots where
     * they matter (a line that is ".", "..", ".x"): stuffed by the writer and unstuffed by the reader, byte for byte;
     * two messages back to back are read as two, each ending at its own terminator, and the command after them is
     * left unread.
     */
    @Test void anyLinesWithinTheLimitRoundTripAndEachEndOfDataIsFoundOnce() {
        Seeds.each(CASES, seed -> {
            Random r = new Random(seed);
            byte[] first = longLines(r);
            byte[] second = longLines(r);
            byte[] wire = append(append(wire(first), new String(wire(second), java.nio.charset.StandardCharsets.ISO_8859_1)),
                    "QUIT\r\n");
            SmtpInput in = new SmtpInput(new ChunkedInputStream(wire, r.nextLong(), 1 + r.nextInt(2048)), 1000);
            for (byte[] expected : List.of(first, second)) {
                ByteArrayOutputStream sink = new ByteArrayOutputStream();
                SmtpInput.DataResult result = in.readData(sink, Long.MAX_VALUE);
                assertThat(java.util.Arrays.equals(sink.toByteArray(), expected)).as("content read back").isTrue();
                assertThat(result).isEqualTo(new SmtpInput.DataResult(expected.length, false, false));
            }
            assertThat(in.readLine()).isEqualTo("QUIT");
            assertThat(in.readLine()).isNull();
        });
    }

    /**
     * The smuggling endings (RFC 5321 §4.1.1.4 allows only CRLF.CRLF; SMTP smuggling, 2023) put anywhere in CRLF
     * content never end the data: the reader goes on to the real terminator, flags the bare ending (the session's
     * 554 5.6.0), and leaves exactly what followed the real terminator.
     */
    @Test void smugglingEndingsNeverEndTheDataAndAreAlwaysFlagged() {
        List<String> bogus = List.of("\n.\n", "\r.\r", "\n.\r\n", "\r.\n", "\r\n.\n", "\r\n.\r", "\n.\r",
                "\r.\r\n");
        Seeds.each(CASES, seed -> {
            Random r = new Random(seed);
            String ending = bogus.get(r.nextInt(bogus.size()));
            byte[] before = stuffed(crlfContent(r));
            byte[] after = stuffed(crlfContent(r));
            // the bogus ending right after a line's CRLF or in the middle of a line, as a smuggler would place it
            byte[] smuggled = append(append(before, (r.nextBoolean() ? "x" : "") + ending + "MAIL FROM:<a@b>\r\n"),
                    new String(after, java.nio.charset.StandardCharsets.ISO_8859_1));
            String tail = "RSET\r\n";
            ReadBack back = readBack(new ChunkedInputStream(append(append(smuggled, ".\r\n"), tail), r.nextLong(),
                    1 + r.nextInt(32)), Long.MAX_VALUE);
            assertThat(back.result.bareLineEnding()).as("ending %s", ending.replace("\r", "CR").replace("\n", "LF"))
                    .isTrue();
            assertThat(back.remaining).as("ending %s", ending.replace("\r", "CR").replace("\n", "LF"))
                    .isEqualTo(tail.length());
        });
    }

    /** CRLF content as it is on the wire, dot-stuffed, without its terminator. */
    private static byte[] stuffed(byte[] crlfContent) throws IOException {
        byte[] w = wire(crlfContent);
        return java.util.Arrays.copyOf(w, w.length - 3);
    }

    /** Lines of 0 to 998 octets of any byte but CR and LF; a third start with a dot. */
    static byte[] longLines(Random r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int lines = r.nextInt(12);
        for (int l = 0; l < lines; l++) {
            int len = r.nextInt(5) == 0 ? r.nextInt(3) : r.nextInt(SmtpOutput.MAX_LINE + 1);
            for (int i = 0; i < len; i++) {
                int b = i == 0 && r.nextInt(3) == 0 ? '.' : r.nextInt(256);
                out.write(b == '\r' || b == '\n' ? '.' : b);
            }
            out.write('\r');
            out.write('\n');
        }
        return out.toByteArray();
    }

    private record ReadBack(byte[] content, SmtpInput.DataResult result, int remaining) {}

    private static ReadBack readBack(InputStream wire, long max) throws IOException {
        SmtpInput in = new SmtpInput(wire, 1000);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        SmtpInput.DataResult result = in.readData(sink, max);
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        wire.transferTo(rest);
        return new ReadBack(sink.toByteArray(), result, in.buffered() + rest.size());
    }

    private static byte[] wire(byte[] content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SmtpOutput.writeData(new ByteArrayInputStream(content), out);
        return out.toByteArray();
    }

    private static byte[] append(byte[] a, String tail) {
        byte[] t = tail.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] r = java.util.Arrays.copyOf(a, a.length + t.length);
        System.arraycopy(t, 0, r, a.length, t.length);
        return r;
    }

    /** Reference model of the writer's normalisation: bare CR, bare LF and CRLF all become CRLF; final CRLF ensured. */
    private static byte[] normaliseLineEndings(byte[] c) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < c.length; i++) {
            if (c[i] == '\r') {
                if (i + 1 < c.length && c[i + 1] == '\n') i++;
                out.write('\r');
                out.write('\n');
            } else if (c[i] == '\n') {
                out.write('\r');
                out.write('\n');
            } else {
                out.write(c[i]);
            }
        }
        byte[] r = out.toByteArray();
        if (r.length > 0 && !(r.length >= 2 && r[r.length - 2] == '\r' && r[r.length - 1] == '\n')) {
            return append(r, "\r\n");
        }
        return r;
    }
}
