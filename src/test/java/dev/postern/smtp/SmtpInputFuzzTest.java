package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Fuzz target: {@link SmtpInput} against a model of the protocol written the simple way (search the bytes), over a
 * client's bytes arriving in fuzzed pieces and read by a fuzzed series of operations as a session does: command lines,
 * DATA sections, BDAT chunks. Invariants, each checked against the model: DATA ends only at CRLF "." CRLF, where a
 * line starts only after CRLF (so LF.LF, CR.CR, LF.CRLF and CR.LF never end it: SMTP smuggling); what DATA writes is
 * the input with the dot of each line start removed and nothing else changed, cut at the limit, and its count and
 * tooBig flag are exact; bare CR or LF is flagged exactly when there is one; a line is exactly the bytes before CRLF,
 * {@link BareLineEndingException} and {@link LineTooLongException} come exactly when the model says, and reading goes
 * on after them at the next line; a BDAT chunk is exactly its bytes; the end of the stream is an {@link EOFException}
 * where the model runs out, no other exception ever; and the stream is read only when the buffer is empty (consumed
 * plus buffered equals what was read: what a client pipelined is visible, STARTTLS can drop it).
 */
class SmtpInputFuzzTest {

    @FuzzTest
    void readsAsTheModelSays(FuzzedDataProvider data) throws IOException {
        int maxLine = data.consumeInt(1, 80);
        int piece = data.consumeInt(1, 64);
        int ops = data.consumeInt(1, 12);
        int[] op = new int[ops];
        int[] arg = new int[ops];
        for (int i = 0; i < ops; i++) {
            op[i] = data.consumeInt(0, 2);
            arg[i] = data.consumeInt(0, 300);
        }
        byte[] wire = data.consumeRemainingAsBytes();
        Pieces stream = new Pieces(wire, piece);
        SmtpInput in = new SmtpInput(stream, maxLine);
        Model model = new Model(wire);
        for (int i = 0; i < ops; i++) {
            boolean more = switch (op[i]) {
                case 0 -> line(in, model, maxLine);
                case 1 -> data(in, model, arg[i]);
                default -> chunk(in, model, arg[i]);
            };
            if (!more) return;
            assertThat(stream.read).as("consumed + buffered = read from the stream")
                    .isEqualTo(model.at + in.buffered());
        }
    }

    private static boolean line(SmtpInput in, Model model, int maxLine) throws IOException {
        Object expected = model.line(maxLine);
        Object actual;
        try {
            actual = in.readLine();
        } catch (BareLineEndingException | LineTooLongException | EOFException e) {
            actual = e.getClass();
        }
        assertThat(actual).isEqualTo(expected);
        return expected != null && expected != EOFException.class;
    }

    private static boolean data(SmtpInput in, Model model, long max) throws IOException {
        Model.Data expected = model.data();
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        SmtpInput.DataResult r;
        try {
            r = in.readData(sink, max);
        } catch (EOFException e) {
            assertThat(expected).as("DATA ended where the model finds no CRLF.CRLF").isNull();
            return false;
        }
        assertThat(expected).as("the model's end of data").isNotNull();
        assertThat(r.bytes()).isEqualTo(expected.content().length);
        assertThat(r.tooBig()).isEqualTo(expected.content().length > max);
        assertThat(r.bareLineEnding()).isEqualTo(expected.bare());
        assertThat(sink.toByteArray())
                .isEqualTo(Arrays.copyOf(expected.content(), (int) Math.min(max, expected.content().length)));
        return true;
    }

    private static boolean chunk(SmtpInput in, Model model, int n) throws IOException {
        byte[] expected = model.chunk(n);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try {
            in.readChunk(n, sink);
        } catch (EOFException e) {
            assertThat(expected).isNull();
            return false;
        }
        assertThat(sink.toByteArray()).isEqualTo(expected);
        return true;
    }

    /** The protocol by searching the bytes; {@code at} is where the next read starts. */
    static final class Model {
        private final byte[] b;
        int at;

        Model(byte[] b) { this.b = b; }

        record Data(byte[] content, boolean bare) {}

        /** A line (String), null at the end, or the class of the exception readLine must throw. */
        Object line(int maxLine) {
            if (at == b.length) return null;
            int lf = indexOf((byte) '\n', at);
            if (lf < 0) return EOFException.class;
            boolean crlf = lf > at && b[lf - 1] == '\r';
            int end = crlf ? lf - 1 : lf;
            boolean bare = !crlf || indexOf((byte) '\r', at, end) >= 0;
            int start = at;
            at = lf + 1;
            if (bare) return BareLineEndingException.class;
            if (end - start > maxLine) return LineTooLongException.class;
            return new String(b, start, end - start, StandardCharsets.UTF_8);
        }

        /** The unstuffed content of the DATA section starting here, or null when no CRLF.CRLF ends it. */
        Data data() {
            int start = at;
            int end = -1;
            for (int p = start; p + 2 < b.length; p++) {
                if (b[p] == '.' && b[p + 1] == '\r' && b[p + 2] == '\n' && lineStart(start, p)) {
                    end = p;
                    break;
                }
            }
            if (end < 0) return null;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            boolean bare = false;
            for (int q = start; q < end; q++) {
                if (b[q] == '\r' && (q + 1 >= end || b[q + 1] != '\n')) bare = true;
                if (b[q] == '\n' && (q == start || b[q - 1] != '\r')) bare = true;
                if (b[q] == '.' && lineStart(start, q)) continue; // dot-stuffing undone
                out.write(b[q]);
            }
            at = end + 3;
            return new Data(out.toByteArray(), bare);
        }

        byte[] chunk(int n) {
            if (b.length - at < n) return null;
            at += n;
            return Arrays.copyOfRange(b, at - n, at);
        }

        /** A line starts where the data starts and after each CRLF within it; nowhere else. */
        private boolean lineStart(int start, int p) {
            return p == start || p - 2 >= start && b[p - 2] == '\r' && b[p - 1] == '\n';
        }

        private int indexOf(byte x, int from) { return indexOf(x, from, b.length); }

        private int indexOf(byte x, int from, int to) {
            for (int i = from; i < to; i++) if (b[i] == x) return i;
            return -1;
        }
    }

    /** The client's bytes in pieces of 1 to {@code piece} octets, as TCP may deliver them. */
    static final class Pieces extends InputStream {
        private final byte[] b;
        private final int piece;
        int read;
        private int calls;

        Pieces(byte[] b, int piece) {
            this.b = b;
            this.piece = piece;
        }

        @Override public int read() {
            return read < b.length ? b[read++] & 0xff : -1;
        }

        @Override public int read(byte[] into, int off, int len) {
            if (read == b.length) return -1;
            int n = Math.min(Math.min(len, b.length - read), 1 + (calls++ * 7) % piece);
            System.arraycopy(b, read, into, off, n);
            read += n;
            return n;
        }
    }
}
