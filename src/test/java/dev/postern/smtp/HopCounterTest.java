package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Counting Received fields while content streams by, however the content is cut into writes. */
class HopCounterTest {

    /**
     * What {@code read} finds in {@code text} written in one piece, which must equal what it finds written byte by
     * byte; the content passes through unchanged either way.
     */
    static <T> T read(String text, Function<HopCounter, T> read) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        HopCounter a = new HopCounter(whole);
        a.write(bytes, 0, bytes.length);
        ByteArrayOutputStream single = new ByteArrayOutputStream();
        HopCounter b = new HopCounter(single);
        for (byte x : bytes) b.write(x);
        assertThat(read.apply(b)).as("byte by byte").isEqualTo(read.apply(a));
        assertThat(whole.toByteArray()).isEqualTo(bytes);
        assertThat(single.toByteArray()).isEqualTo(bytes);
        return read.apply(a);
    }

    /** The count for {@code text}, the same however it is cut into writes. */
    private static int hops(String text) throws IOException {
        return read(text, HopCounter::hops);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "Received: a\\r\\nReceived: b\\r\\n\\r\\nbody|2",
        "received: a\\r\\nRECEIVED : b\\r\\nReceived\\t:c\\r\\n\\r\\n|3",
        "Received: from a\\r\\n\\tby b\\r\\n Received: folded, not a field\\r\\n\\r\\n|1",
        "Received-SPF: pass\\r\\nX-Received: x\\r\\nReceivedX: y\\r\\nReceive: z\\r\\n\\r\\n|0",
        "Subject: x\\r\\n\\r\\nReceived: in the body\\r\\nReceived: again\\r\\n|0",
        "\\r\\nReceived: after an empty first line: body\\r\\n|0",
        "Received: only headers, no body|1",
        "Received:|1",
        "|0",
    })
    void counts(String escaped, int expected) throws IOException {
        String text = escaped == null ? "" : escaped.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t");
        assertThat(hops(text)).isEqualTo(expected);
    }

    @Test void manyHeadersInLargeWrites() throws IOException {
        String headers = "Received: from hop.example by next.example; Tue, 1 Dec 2026 10:00:00 +0000\r\n".repeat(500);
        assertThat(hops(headers + "Subject: x\r\n\r\n" + headers)).isEqualTo(500);
    }
}
