package dev.postern.smtp;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class SmtpInputDataTest {

    /** Reads one DATA section from {@code wire}; returns the content, the result, and what follows in the stream. */
    private record Read(String content, SmtpInput.DataResult result, String after) {}

    private static Read read(String wire, long max) throws IOException {
        SmtpInput in = new SmtpInput(new ByteArrayInputStream(wire.getBytes(ISO_8859_1)), 1000);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        SmtpInput.DataResult r = in.readData(sink, max);
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        in.readChunk(in.buffered(), rest);
        return new Read(sink.toString(ISO_8859_1), r, rest.toString(ISO_8859_1));
    }

    @Test
    void plainMessage() throws IOException {
        Read r = read("Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n", 1000);
        assertThat(r.content()).isEqualTo("Subject: hi\r\n\r\nbody\r\n");
        assertThat(r.result()).isEqualTo(new SmtpInput.DataResult(21, false, false));
        assertThat(r.after()).isEqualTo("QUIT\r\n");
    }

    @Test
    void emptyData() throws IOException {
        Read r = read(".\r\nQUIT\r\n", 1000);
        assertThat(r.content()).isEmpty();
        assertThat(r.result()).isEqualTo(new SmtpInput.DataResult(0, false, false));
        assertThat(r.after()).isEqualTo("QUIT\r\n");
    }

    @Test
    void singleEmptyLine() throws IOException {
        Read r = read("\r\n.\r\n", 1000);
        assertThat(r.content()).isEqualTo("\r\n");
        assertThat(r.result().bytes()).isEqualTo(2);
    }

    @Test
    void dotUnstuffing() throws IOException {
        Read r = read("..\r\n..x\r\n...\r\na.b\r\n.x\r\n.\r\n", 1000);
        // "..x" -> ".x"; a leading lone dot followed by text is dropped too (RFC 5321 4.5.2)
        assertThat(r.content()).isEqualTo(".\r\n.x\r\n..\r\na.b\r\nx\r\n");
        assertThat(r.result().bareLineEnding()).isFalse();
    }

    @Test
    void firstLineStuffed() throws IOException {
        assertThat(read("..\r\n.\r\n", 1000).content()).isEqualTo(".\r\n");
    }

    @Test
    void dotInsideLineIsNotTerminator() throws IOException {
        Read r = read("a.\r\nb .\r\n.\r\n", 1000);
        assertThat(r.content()).isEqualTo("a.\r\nb .\r\n");
    }

    /** SMTP smuggling (CVE-2023-51764 and friends): none of these may end the data. */
    @ParameterizedTest
    @ValueSource(strings = {"\n.\r\n", "\r.\r\n", "\n.\n", "\r\n.\n", "\r\n.\r", "\r.\r", "\n.\r", "\r\n.\r\r\n"})
    void smugglingSequencesDoNotEndData(String fake) throws IOException {
        String wire = "Subject: a\r\n\r\nhello" + fake + "MAIL FROM:<x@evil>\r\nRCPT TO:<v@victim>\r\n.\r\nQUIT\r\n";
        Read r = read(wire, 100_000);
        assertThat(r.result().bareLineEnding()).isTrue();
        assertThat(r.content()).contains("MAIL FROM:<x@evil>\r\nRCPT TO:<v@victim>\r\n").endsWith("<v@victim>\r\n");
        assertThat(r.after()).isEqualTo("QUIT\r\n");
    }

    @Test
    void bareEndingsArePassedThroughAndFlagged() throws IOException {
        Read r = read("a\nb\rc\r\n.\r\n", 1000);
        assertThat(r.content()).isEqualTo("a\nb\rc\r\n");
        assertThat(r.result()).isEqualTo(new SmtpInput.DataResult(7, false, true));
    }

    @Test
    void dotAfterBareLfIsNotUnstuffed() throws IOException {
        Read r = read("a\n..b\r\n.\r\n", 1000);
        assertThat(r.content()).isEqualTo("a\n..b\r\n");
        assertThat(r.result().bareLineEnding()).isTrue();
    }

    @Test
    void crlfCrlfDotWithoutFinalLfIsNotTerminator() throws IOException {
        assertThatThrownBy(() -> read("hello\r\n.\r", 1000)).isInstanceOf(EOFException.class);
    }

    @Test
    void eofBeforeTerminator() {
        assertThatThrownBy(() -> read("hello\r\n", 1000)).isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> read("", 1000)).isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> read("hello\n.\n", 1000)).isInstanceOf(EOFException.class);
    }

    @Test
    void tooBigReadsToTerminatorWritesOnlyLimit() throws IOException {
        Read r = read("0123456789\r\nabcdef\r\n.\r\nQUIT\r\n", 8);
        assertThat(r.content()).isEqualTo("01234567");
        assertThat(r.result()).isEqualTo(new SmtpInput.DataResult(20, true, false));
        assertThat(r.after()).isEqualTo("QUIT\r\n");
    }

    @Test
    void exactlyAtLimitIsNotTooBig() throws IOException {
        Read r = read("0123456789\r\n.\r\n", 12);
        assertThat(r.content()).isEqualTo("0123456789\r\n");
        assertThat(r.result().tooBig()).isFalse();
        Read over = read("0123456789\r\n.\r\n", 11);
        assertThat(over.result().tooBig()).isTrue();
        assertThat(over.content()).isEqualTo("0123456789\r");
    }

    @Test
    void bigMessageAcrossBuffersIsUnstuffed() throws IOException {
        StringBuilder wire = new StringBuilder();
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            String line = (i % 3 == 0 ? "." : "") + "line " + i + " " + "x".repeat(i % 97);
            wire.append(line.startsWith(".") ? "." + line : line).append("\r\n");
            expected.append(line).append("\r\n");
        }
        wire.append(".\r\n");
        Read r = read(wire.toString(), Long.MAX_VALUE);
        assertThat(r.content()).isEqualTo(expected.toString());
        assertThat(r.result().bytes()).isEqualTo(expected.length());
    }

    @Test
    void sinkSeesBlocksNotBytes() throws IOException {
        String line = "y".repeat(70) + "\r\n";
        String wire = line.repeat(1000) + ".\r\n";
        SmtpInput in = new SmtpInput(new ByteArrayInputStream(wire.getBytes(ISO_8859_1)), 1000);
        int[] writes = {0};
        ByteArrayOutputStream sink = new ByteArrayOutputStream() {
            @Override public void write(int b) { throw new AssertionError("single-byte write"); }
            @Override public void write(byte[] b, int off, int len) { writes[0]++; super.write(b, off, len); }
        };
        in.readData(sink, Long.MAX_VALUE);
        assertThat(sink.size()).isEqualTo(72_000);
        assertThat(writes[0]).isLessThan(20);
    }

    @Test
    void linesAfterDataStillReadable() throws IOException {
        SmtpInput in = new SmtpInput(new ByteArrayInputStream("x\r\n.\r\nQUIT\r\n".getBytes(ISO_8859_1)), 100);
        in.readData(new ByteArrayOutputStream(), 100);
        assertThat(in.readLine()).isEqualTo("QUIT");
    }
}
