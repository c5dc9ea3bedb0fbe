package dev.postern.smtp;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class SmtpOutputTest {

    private static String write(String content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SmtpOutput.writeData(new ByteArrayInputStream(content.getBytes(ISO_8859_1)), out);
        return out.toString(ISO_8859_1);
    }

    @Test
    void appendsTerminator() throws IOException {
        assertThat(write("a\r\nb\r\n")).isEqualTo("a\r\nb\r\n.\r\n");
    }

    @Test
    void addsMissingFinalCrlf() throws IOException {
        assertThat(write("a\r\nb")).isEqualTo("a\r\nb\r\n.\r\n");
    }

    @Test
    void emptyContentIsJustTheTerminator() throws IOException {
        assertThat(write("")).isEqualTo(".\r\n");
    }

    @Test
    void dotStuffsLinesStartingWithDot() throws IOException {
        assertThat(write(".\r\n..\r\na.b\r\n.x")).isEqualTo("..\r\n...\r\na.b\r\n..x\r\n.\r\n");
    }

    @Test
    void bareLineEndingsGoOutAsCrlf() throws IOException {
        // never forward a smuggling sequence: "\n.\r\n" becomes a stuffed dot line
        assertThat(write("a\n.\r\nb\r.\rc\r")).isEqualTo("a\r\n..\r\nb\r\n..\r\nc\r\n.\r\n");
    }

    @Test
    void largeContentStreamsInBlocks() throws IOException {
        String content = ("z".repeat(998) + "\r\n").repeat(200);
        int[] writes = {0};
        ByteArrayOutputStream out = new ByteArrayOutputStream() {
            @Override public void write(int b) { throw new AssertionError("single-byte write"); }
            @Override public void write(byte[] b, int off, int len) { writes[0]++; super.write(b, off, len); }
        };
        SmtpOutput.writeData(new ByteArrayInputStream(content.getBytes(ISO_8859_1)), out);
        assertThat(out.toString(ISO_8859_1)).isEqualTo(content + ".\r\n");
        assertThat(writes[0]).isLessThan(40);
    }
}
