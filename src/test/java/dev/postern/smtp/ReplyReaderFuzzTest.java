package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target: what a next hop may answer, read by {@link ReplyReader} as the SMTP client does, reply after reply.
 * Invariants: a malformed reply is a {@link ProtocolException} and the end of the stream an {@link EOFException},
 * nothing else; a reply read has a code from 200 to 599, one to {@link ReplyReader#MAX_LINES} lines without CR or LF,
 * an enhanced code only of the reply's class; and written back ({@link Reply#toWire}) it reads as the same reply.
 */
class ReplyReaderFuzzTest {
    private static final int LIMIT = 1000;

    @FuzzTest
    void replies(byte[] wire) throws IOException {
        SmtpInput in = new SmtpInput(new ByteArrayInputStream(wire), LIMIT);
        for (int n = 0; ; n++) {
            Reply r;
            try {
                r = ReplyReader.read(in);
            } catch (ProtocolException | EOFException e) {
                return; // the client drops the connection
            }
            assertThat(n).as("replies read (each at least 5 octets)").isLessThan(Math.max(1, wire.length / 5));
            check(r);
            // written back as UTF-8 a line of 8-bit octets may be up to three times as long (U+FFFD for each)
            Reply again = ReplyReader.read(new SmtpInput(
                    new ByteArrayInputStream(r.toWire().getBytes(StandardCharsets.UTF_8)), LIMIT * 3 + 16));
            assertThat(again).as("written back and read again").isEqualTo(r);
        }
    }

    static void check(Reply r) {
        assertThat(r.code()).isBetween(200, 599);
        assertThat(r.lines()).isNotEmpty().hasSizeLessThanOrEqualTo(ReplyReader.MAX_LINES)
                .allSatisfy(l -> assertThat(l).doesNotContain("\r", "\n").hasSizeLessThanOrEqualTo(LIMIT));
        if (r.enhanced() != null) {
            assertThat(r.enhanced()).matches("[245]\\.\\d{1,3}\\.\\d{1,3}").startsWith(String.valueOf(r.code() / 100));
        }
    }
}
