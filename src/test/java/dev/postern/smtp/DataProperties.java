package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/** Round-trip and robustness properties of DATA writing and reading. */
class DataProperties {

    /** Bytes biased towards the interesting ones: CR, LF and dots. */
    @Provide
    Arbitrary<byte[]> content() {
        Arbitrary<Byte> b = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, Arbitraries.of((byte) '\r', (byte) '\n')),
                net.jqwik.api.Tuple.of(3, Arbitraries.just((byte) '.')),
                net.jqwik.api.Tuple.of(6, Arbitraries.bytes()));
        return b.array(byte[].class).ofMaxSize(3000);
    }

    /** Content whose only line endings are CRLF: lines of non-CR/LF bytes, each followed by CRLF. */
    @Provide
    Arbitrary<byte[]> crlfContent() {
        Arbitrary<String> line = Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(1, Arbitraries.just('.')),
                        net.jqwik.api.Tuple.of(4, Arbitraries.chars().range(' ', '~')),
                        net.jqwik.api.Tuple.of(1, Arbitraries.chars().range('\u0080', '\u00ff')))
                .list().ofMaxSize(120).map(cs -> {
                    StringBuilder sb = new StringBuilder();
                    cs.forEach(sb::append);
                    return sb.toString();
                });
        return line.list().ofMaxSize(60).map(lines -> {
            StringBuilder sb = new StringBuilder();
            lines.forEach(l -> sb.append(l).append("\r\n"));
            return sb.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        });
    }

    @Property
    void crlfContentRoundTripsByteExact(@ForAll("crlfContent") byte[] content, @ForAll long seed,
                                        @ForAll @IntRange(min = 1, max = 64) int maxChunk) throws IOException {
        byte[] wire = wire(content);
        ReadBack r = readBack(new ChunkedInputStream(wire, seed, maxChunk), Long.MAX_VALUE);
        assertThat(r.content).isEqualTo(content);
        assertThat(r.result).isEqualTo(new SmtpInput.DataResult(content.length, false, false));
        assertThat(r.remaining).isZero();
    }

    @Property
    void anyContentIsNormalisedAndTerminatedOnce(@ForAll("content") byte[] content) throws IOException {
        byte[] wire = wire(content);
        ReadBack r = readBack(new ByteArrayInputStream(append(wire, "QUIT\r\n")), Long.MAX_VALUE);
        // whatever the content, the writer's output has no bare endings and ends exactly at its terminator
        assertThat(r.result.bareLineEnding()).isFalse();
        assertThat(r.remaining).isEqualTo(6);
        assertThat(normaliseLineEndings(content)).isEqualTo(r.content);
    }

    @Property
    void contentWithoutBareEndingsNeverFlagged(@ForAll("crlfContent") byte[] content) throws IOException {
        // fed raw (not dot-stuffed): dots may be dropped, but bare endings are never invented
        byte[] wire = append(content, ".\r\n");
        ReadBack r = readBack(new ByteArrayInputStream(wire), Long.MAX_VALUE);
        assertThat(r.result.bareLineEnding()).isFalse();
    }

    @Property
    void chunkingDoesNotChangeTheResult(@ForAll("content") byte[] content, @ForAll long seed,
                                        @ForAll @IntRange(min = 1, max = 17) int maxChunk,
                                        @ForAll @IntRange(min = 0, max = 4000) int max) throws IOException {
        byte[] wire = append(content, "\r\n.\r\nNOOP\r\n");
        ReadBack whole = readBack(new ByteArrayInputStream(wire), max);
        ReadBack chunked = readBack(new ChunkedInputStream(wire, seed, maxChunk), max);
        assertThat(chunked.content).isEqualTo(whole.content);
        assertThat(chunked.result).isEqualTo(whole.result);
        assertThat(whole.content.length).isEqualTo((int) Math.min(max, whole.result.bytes()));
        assertThat(whole.result.tooBig()).isEqualTo(whole.result.bytes() > max);
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
