package dev.postern.smtp;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ReplyReaderTest {

    private static SmtpInput input(String wire) {
        return new SmtpInput(new ByteArrayInputStream(wire.getBytes(UTF_8)), 1000);
    }

    private static Reply read(String wire) throws IOException {
        return ReplyReader.read(input(wire));
    }

    /**
     * Issue 17: a reply line that never ends (a hostile next hop streaming "220 xxxx..." without CRLF) fails once it
     * passes the limit; before, the line was read on to its end, which never came.
     */
    @Test
    void aLineThatNeverEndsFailsAtTheLimit() {
        java.io.InputStream endless = new java.io.InputStream() {
            long served;

            @Override public int read() {
                if (served++ > 10_000_000) throw new IllegalStateException("read on past the limit");
                return served <= 4 ? "220 ".charAt((int) served - 1) : 'x';
            }
        };
        assertThatThrownBy(() -> ReplyReader.read(new SmtpInput(endless, 1000))).isInstanceOf(ProtocolException.class)
                .hasMessage("malformed reply line: line longer than 1000 octets");
    }

    @Test
    void singleLine() throws IOException {
        Reply r = read("220 mx.example ESMTP ready\r\n");
        assertThat(r).isEqualTo(new Reply(220, null, List.of("mx.example ESMTP ready")));
    }

    @Test
    void multiLineEhlo() throws IOException {
        Reply r = read("250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
        assertThat(r.code()).isEqualTo(250);
        assertThat(r.enhanced()).isNull();
        assertThat(r.lines()).containsExactly("mx.example", "PIPELINING", "8BITMIME", "SMTPUTF8");
    }

    @Test
    void enhancedCodeStrippedFromEveryLine() throws IOException {
        Reply r = read("550-5.7.1 Message rejected\r\n550-5.7.1 see policy\r\n550 5.7.1\r\n");
        assertThat(r.enhanced()).isEqualTo("5.7.1");
        assertThat(r.lines()).containsExactly("Message rejected", "see policy", "");
    }

    @Test
    void enhancedCodeOnlyOnFirstLine() throws IOException {
        Reply r = read("451-4.3.0 try later\r\n451 really\r\n");
        assertThat(r.enhanced()).isEqualTo("4.3.0");
        assertThat(r.lines()).containsExactly("try later", "really");
    }

    @Test
    void enhancedCodeOfWrongClassIsJustText() throws IOException {
        Reply r = read("250 5.1.1 odd server\r\n");
        assertThat(r.enhanced()).isNull();
        assertThat(r.lines()).containsExactly("5.1.1 odd server");
        assertThat(read("250 2.1.0x ok\r\n").enhanced()).isNull();
        assertThat(read("250 2.1.1000 ok\r\n").enhanced()).isNull();
    }

    @Test
    void codeAloneAndCodeWithoutText() throws IOException {
        assertThat(read("250\r\n")).isEqualTo(new Reply(250, null, List.of("")));
        assertThat(read("250 2.0.0\r\n")).isEqualTo(new Reply(250, "2.0.0", List.of("")));
        assertThat(read("250-\r\n250 x\r\n").lines()).containsExactly("", "x");
    }

    @Test
    void readsOneReplyAtATime() throws IOException {
        SmtpInput in = input("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
        assertThat(ReplyReader.read(in).enhanced()).isEqualTo("2.1.0");
        assertThat(ReplyReader.read(in).enhanced()).isEqualTo("2.1.5");
        assertThat(ReplyReader.read(in).code()).isEqualTo(354);
        assertThatThrownBy(() -> ReplyReader.read(in)).isInstanceOf(EOFException.class);
    }

    @Test
    void roundTripsWithToWire() throws IOException {
        Reply r = Reply.of(554, "5.7.0", "no\nway\nhome");
        assertThat(read(r.toWire())).isEqualTo(r);
    }

    @ParameterizedTest
    @ValueSource(strings = {"25 short\r\n", "2x0 bad\r\n", "250x\r\n", "250_x\r\n", "hello\r\n", "\r\n",
            "199 info\r\n", "600 nope\r\n", "250-a\r\n251 b\r\n", "250 a\nb\r\n", "250-a\r\n2\r\n"})
    void malformed(String wire) {
        assertThatThrownBy(() -> read(wire)).isInstanceOf(ProtocolException.class);
    }

    @Test
    void tooLongLineIsProtocolError() {
        SmtpInput in = new SmtpInput(new ByteArrayInputStream(("250 " + "x".repeat(600) + "\r\n").getBytes(UTF_8)), 512);
        assertThatThrownBy(() -> ReplyReader.read(in)).isInstanceOf(ProtocolException.class);
    }

    @Test
    void eofInsideMultiLineReply() {
        assertThatThrownBy(() -> read("250-a\r\n")).isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> read("")).isInstanceOf(EOFException.class);
    }

    @Test
    void endlessContinuationIsCut() {
        assertThatThrownBy(() -> read("250-x\r\n".repeat(2000) + "250 x\r\n")).isInstanceOf(ProtocolException.class);
    }
}
