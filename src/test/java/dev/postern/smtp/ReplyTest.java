package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReplyTest {

    @Test
    void oneLineWithEnhancedCode() {
        Reply r = Reply.of(550, "5.1.1", "No such user");
        assertThat(r.lines()).containsExactly("No such user");
        assertThat(r.toWire()).isEqualTo("550 5.1.1 No such user\r\n");
        assertThat(r.oneLine()).isEqualTo("550 5.1.1 No such user");
        assertThat(r.isPermanent()).isTrue();
        assertThat(r.isTransient()).isFalse();
        assertThat(r.isPositive()).isFalse();
    }

    @Test
    void greetingWithoutEnhancedCode() {
        Reply r = Reply.of(220, null, "mx.example ESMTP");
        assertThat(r.enhanced()).isNull();
        assertThat(r.toWire()).isEqualTo("220 mx.example ESMTP\r\n");
        assertThat(Reply.of(221, "", "bye").enhanced()).isNull();
    }

    @Test
    void multiLineRepeatsEnhancedCode() {
        Reply r = Reply.of(550, "5.7.1", "Rejected\nsee https://x.example/why");
        assertThat(r.lines()).containsExactly("Rejected", "see https://x.example/why");
        assertThat(r.toWire()).isEqualTo("550-5.7.1 Rejected\r\n550 5.7.1 see https://x.example/why\r\n");
        assertThat(r.oneLine()).isEqualTo("550 5.7.1 Rejected; see https://x.example/why");
    }

    @Test
    void ehloStyleWithoutEnhancedCode() {
        Reply r = new Reply(250, null, List.of("mx.example", "PIPELINING", "SIZE 1000", "STARTTLS"));
        assertThat(r.toWire()).isEqualTo("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n");
        assertThat(r.isPositive()).isTrue();
    }

    @Test
    void emptyTextAndCrsDropped() {
        assertThat(Reply.of(250, null, "").toWire()).isEqualTo("250\r\n");
        assertThat(Reply.of(250, "2.0.0", "").toWire()).isEqualTo("250 2.0.0\r\n");
        assertThat(Reply.of(451, "4.3.0", "a\r\nb").lines()).containsExactly("a", "b");
        assertThat(Reply.of(451, null, "a\n").toWire()).isEqualTo("451-a\r\n451\r\n");
    }

    @Test
    void lineBreaksInsideLinesCannotEscape() {
        Reply r = new Reply(250, null, List.of("ok\r\n250 injected"));
        assertThat(r.toWire()).isEqualTo("250 ok  250 injected\r\n");
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> Reply.of(199, null, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Reply.of(600, null, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Reply.of(550, "5.1", "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Reply.of(550, "9.1.1", "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void classification() {
        assertThat(Reply.of(421, "4.4.2", "timeout").isTransient()).isTrue();
        assertThat(Reply.of(354, null, "go ahead").isPositive()).isTrue();
    }
}
