package dev.postern.smtp;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class SmtpInputLineTest {

    private static SmtpInput input(String wire, int max) {
        return new SmtpInput(new ByteArrayInputStream(wire.getBytes(UTF_8)), max);
    }

    @Test
    void readsCrlfLinesThenNullAtEof() throws IOException {
        SmtpInput in = input("EHLO a.example\r\nMAIL FROM:<>\r\n\r\n", 512);
        assertThat(in.readLine()).isEqualTo("EHLO a.example");
        assertThat(in.readLine()).isEqualTo("MAIL FROM:<>");
        assertThat(in.readLine()).isEmpty();
        assertThat(in.readLine()).isNull();
        assertThat(in.readLine()).isNull();
    }

    /**
     * An idle session waits for its next command inside a read: that read is given the small line buffer, and only
     * message data gets the large one (thousands of idle sessions would otherwise hold 8 KiB each).
     */
    @Test
    void commandsAreReadIntoASmallBufferAndDataIntoALargeOne() throws IOException {
        String line = "X".repeat(1500);
        String body = "Y".repeat(3000);
        java.util.List<Integer> asked = new java.util.ArrayList<>();
        byte[] bytes = (line + "\r\nDATA\r\n" + body + "\r\n.\r\nQUIT\r\n").getBytes(UTF_8);
        var wire = new ByteArrayInputStream(bytes) {
            @Override public synchronized int read(byte[] b, int off, int len) {
                asked.add(len);
                return super.read(b, off, len);
            }
        };
        SmtpInput in = new SmtpInput(wire, 2048);
        assertThat(in.readLine()).isEqualTo(line); // longer than the small buffer: several reads
        assertThat(in.readLine()).isEqualTo("DATA");
        assertThat(asked).hasSizeGreaterThan(2).allMatch(len -> len <= 512);
        asked.clear();
        var sink = new ByteArrayOutputStream();
        in.readData(sink, 10_000);
        assertThat(asked).isNotEmpty().allMatch(len -> len == 8192);
        assertThat(sink.toString(UTF_8)).isEqualTo(body + "\r\n");
        assertThat(in.readLine()).isEqualTo("QUIT"); // pipelined after the data, in the large buffer
        assertThat(in.readLine()).isNull();
    }

    @Test
    void decodesUtf8() throws IOException {
        assertThat(input("RCPT TO:<用户@例子.广告>\r\n", 512).readLine()).isEqualTo("RCPT TO:<用户@例子.广告>");
    }

    @Test
    void eofInsideLineIsEofException() throws IOException {
        SmtpInput in = input("QUIT", 512);
        assertThatThrownBy(in::readLine).isInstanceOf(EOFException.class);
        SmtpInput cr = input("QUIT\r", 512);
        assertThatThrownBy(cr::readLine).isInstanceOf(EOFException.class);
    }

    @Test
    void lineAtLimitIsAcceptedOneMoreIsTooLongAndConsumed() throws IOException {
        String ok = "x".repeat(10);
        SmtpInput in = input(ok + "\r\n" + ok + "y\r\nNOOP\r\n", 10);
        assertThat(in.readLine()).isEqualTo(ok);
        assertThatThrownBy(in::readLine).isInstanceOf(LineTooLongException.class).hasMessageContaining("10");
        assertThat(in.readLine()).isEqualTo("NOOP");
    }

    @Test
    void veryLongLineAcrossManyBuffersIsConsumedWhole() throws IOException {
        SmtpInput in = input("A".repeat(100_000) + "\r\nQUIT\r\n", 512);
        assertThatThrownBy(in::readLine).isInstanceOf(LineTooLongException.class);
        assertThat(in.readLine()).isEqualTo("QUIT");
    }

    @Test
    void bareLfEndsLineWithError() throws IOException {
        SmtpInput in = input("NOOP\nQUIT\r\n", 512);
        assertThatThrownBy(in::readLine).isInstanceOf(BareLineEndingException.class);
        assertThat(in.readLine()).isEqualTo("QUIT");
    }

    @Test
    void bareCrIsConsumedToNextLf() throws IOException {
        SmtpInput in = input("NO\rOP\r\nQUIT\r\n", 512);
        assertThatThrownBy(in::readLine).isInstanceOf(BareLineEndingException.class);
        assertThat(in.readLine()).isEqualTo("QUIT");
    }

    @Test
    void doubleCrBeforeLfIsBare() throws IOException {
        SmtpInput in = input("NOOP\r\r\nQUIT\r\n", 512);
        assertThatThrownBy(in::readLine).isInstanceOf(BareLineEndingException.class);
        assertThat(in.readLine()).isEqualTo("QUIT");
    }

    @Test
    void bareCrThenBareLfConsumesOnlyToThatLf() throws IOException {
        SmtpInput in = input("A\rB\nC\r\n", 512);
        assertThatThrownBy(in::readLine).isInstanceOf(BareLineEndingException.class);
        assertThat(in.readLine()).isEqualTo("C");
    }

    @Test
    void bareLineEndingWinsOverTooLong() throws IOException {
        SmtpInput in = input("x".repeat(50) + "\nQUIT\r\n", 10);
        assertThatThrownBy(in::readLine).isInstanceOf(BareLineEndingException.class);
        assertThat(in.readLine()).isEqualTo("QUIT");
    }

    @Test
    void slowStreamGivesSameLines() throws IOException {
        byte[] wire = "EHLO x\r\nBAD\nMAIL FROM:<a@b>\r\n".getBytes(UTF_8);
        for (long seed = 0; seed < 20; seed++) {
            SmtpInput in = new SmtpInput(new ChunkedInputStream(wire, seed, 3), 512);
            assertThat(in.readLine()).isEqualTo("EHLO x");
            assertThatThrownBy(in::readLine).isInstanceOf(BareLineEndingException.class);
            assertThat(in.readLine()).isEqualTo("MAIL FROM:<a@b>");
            assertThat(in.readLine()).isNull();
        }
    }

    @Test
    void bufferedShowsPipelinedInputAndDiscardDropsIt() throws IOException {
        // CVE-2011-0411: text pipelined after STARTTLS must not survive into the TLS session
        SmtpInput in = input("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x>\r\n", 512);
        assertThat(in.readLine()).isEqualTo("STARTTLS");
        assertThat(in.buffered()).isEqualTo("RSET\r\nMAIL FROM:<evil@x>\r\n".length());
        in.discardBuffered();
        assertThat(in.buffered()).isZero();
        assertThat(in.readLine()).isNull();
    }

    @Test
    void readChunkCopiesExactlyAndLeavesTheRest() throws IOException {
        byte[] wire = "BDAT 5 LAST\r\nHello\r\nQUIT\r\n".getBytes(UTF_8);
        SmtpInput in = new SmtpInput(new ChunkedInputStream(wire, 7, 4), 512);
        assertThat(in.readLine()).isEqualTo("BDAT 5 LAST");
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        in.readChunk(5, sink);
        assertThat(sink.toString(UTF_8)).isEqualTo("Hello");
        assertThat(in.readLine()).isEmpty();
        assertThat(in.readLine()).isEqualTo("QUIT");
    }

    @Test
    void readChunkLargerThanBufferAndZero() throws IOException {
        byte[] body = new byte[50_000];
        for (int i = 0; i < body.length; i++) body[i] = (byte) i;
        SmtpInput in = new SmtpInput(new ByteArrayInputStream(body), 512);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        in.readChunk(0, sink);
        assertThat(sink.size()).isZero();
        in.readChunk(body.length, sink);
        assertThat(sink.toByteArray()).isEqualTo(body);
    }

    @Test
    void readChunkShortStreamIsEof() {
        SmtpInput in = input("abc", 512);
        assertThatThrownBy(() -> in.readChunk(4, new ByteArrayOutputStream())).isInstanceOf(EOFException.class);
    }
}
