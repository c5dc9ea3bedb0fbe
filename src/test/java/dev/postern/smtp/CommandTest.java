package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.smtp.Command.Verb;
import org.junit.jupiter.api.Test;

class CommandTest {

    @Test
    void splitsVerbAndArgument() {
        assertThat(Command.parse("MAIL FROM:<a@b>")).isEqualTo(new Command(Verb.MAIL, "FROM:<a@b>"));
        assertThat(Command.parse("RCPT TO:<a@b> NOTIFY=NEVER")).isEqualTo(new Command(Verb.RCPT, "TO:<a@b> NOTIFY=NEVER"));
        assertThat(Command.parse("BDAT 100 LAST")).isEqualTo(new Command(Verb.BDAT, "100 LAST"));
    }

    @Test
    void verbIsCaseInsensitive() {
        assertThat(Command.parse("ehlo client.example")).isEqualTo(new Command(Verb.EHLO, "client.example"));
        assertThat(Command.parse("StartTLS").verb()).isEqualTo(Verb.STARTTLS);
        assertThat(Command.parse("quit")).isEqualTo(new Command(Verb.QUIT, ""));
    }

    @Test
    void onlyAsciiCaseFolding() {
        // U+017F LATIN SMALL LETTER LONG S upper-cases to 'S' in Java; it must not become STARTTLS
        assertThat(Command.parse("\u017Ftarttls").verb()).isEqualTo(Verb.UNKNOWN);
    }

    @Test
    void trailingSpacesTrimmedLeadingKept() {
        assertThat(Command.parse("HELO  x   ")).isEqualTo(new Command(Verb.HELO, " x"));
        assertThat(Command.parse("NOOP ")).isEqualTo(new Command(Verb.NOOP, ""));
    }

    @Test
    void unknownAndDegenerate() {
        assertThat(Command.parse("XCLIENT ADDR=1.2.3.4")).isEqualTo(new Command(Verb.UNKNOWN, "ADDR=1.2.3.4"));
        assertThat(Command.parse("UNKNOWN")).isEqualTo(new Command(Verb.UNKNOWN, ""));
        assertThat(Command.parse("")).isEqualTo(new Command(Verb.UNKNOWN, ""));
        assertThat(Command.parse(" DATA")).isEqualTo(new Command(Verb.UNKNOWN, "DATA"));
        assertThat(Command.parse("DATA\t")).isEqualTo(new Command(Verb.UNKNOWN, ""));
        assertThat(Command.parse(null)).isEqualTo(new Command(Verb.UNKNOWN, ""));
        assertThat(Command.parse("GET / HTTP/1.1").verb()).isEqualTo(Verb.UNKNOWN);
    }
}
