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

    // ---- issue 11 item 10: no line over 998 octets + CRLF on the wire (RFC 5321 §4.5.3.1.6) ----

    /** The wire lines (without CRLF) of the data before the terminator. */
    private static java.util.List<String> wireLines(String wire) {
        assertThat(wire).endsWith("\r\n.\r\n");
        return java.util.List.of(wire.substring(0, wire.length() - 5).split("\r\n", -1));
    }

    @Test
    void overLongLineIsBrokenAt998OctetsWithNothingLost() throws IOException {
        String line = "0123456789".repeat(500); // 5,000 octets
        java.util.List<String> lines = wireLines(write("Subject: x\r\n\r\n" + line + "\r\nend\r\n"));
        assertThat(lines).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(998));
        assertThat(lines.subList(2, 9)).extracting(String::length).containsExactly(998, 998, 998, 998, 998, 10, 3);
        assertThat(String.join("", lines.subList(2, 8))).isEqualTo(line);
    }

    @Test
    void lineOfExactly998OctetsIsNotBroken() throws IOException {
        assertThat(write("y".repeat(998) + "\r\n")).isEqualTo("y".repeat(998) + "\r\n.\r\n");
        assertThat(write("y".repeat(999))).isEqualTo("y".repeat(998) + "\r\ny\r\n.\r\n");
    }

    @Test
    void aDotThatStartsABrokenPieceIsStuffedAndTheStuffingCounts() throws IOException {
        // the piece after the break starts with '.', so it is stuffed like any line start
        assertThat(write("y".repeat(998) + ".b\r\n")).isEqualTo("y".repeat(998) + "\r\n..b\r\n.\r\n");
        // the stuffed dot is not counted (RFC 5321 §4.5.3.1.6): a line of 998 octets that starts with a dot goes out
        // whole as 999; one of 999 is broken after its 998th content octet
        assertThat(write("." + "z".repeat(997) + "\r\n")).isEqualTo(".." + "z".repeat(997) + "\r\n.\r\n");
        assertThat(write("." + "z".repeat(998) + "\r\n"))
                .isEqualTo(".." + "z".repeat(997) + "\r\n" + "z\r\n.\r\n");
    }

    @Test
    void breakingStreamsAcrossReadBuffers() throws IOException {
        String line = "q".repeat(100_000); // many 8 KiB buffers, no line end
        java.util.List<String> lines = wireLines(write(line));
        assertThat(lines).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(998));
        assertThat(String.join("", lines)).isEqualTo(line);
    }
}
