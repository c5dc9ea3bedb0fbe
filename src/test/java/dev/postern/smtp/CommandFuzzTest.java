package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.smtp.Command.Verb;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Locale;

/**
 * Fuzz target: command lines as a client sends them, read by {@link SmtpInput#readLine} as a session does and split by
 * {@link Command#parse}. Invariants: reading ends only in a line, the end of the stream or one of the three line
 * exceptions (and reading goes on after a bad line, as a session does); every line read has no CR or LF and at most
 * the limit's octets; a known verb is exactly the first word in ASCII letters, the argument is what follows the first
 * space without trailing spaces, and the command written back parses to itself.
 */
class CommandFuzzTest {
    private static final int LIMIT = 512;

    @FuzzTest
    void commandLines(byte[] wire) throws IOException {
        SmtpInput in = new SmtpInput(new ByteArrayInputStream(wire), LIMIT);
        int lines = 0;
        while (true) {
            String line;
            try {
                line = in.readLine();
            } catch (BareLineEndingException | LineTooLongException e) {
                continue; // the session answers 500 and reads on
            } catch (EOFException e) {
                break;
            }
            if (line == null) break;
            assertThat(++lines).as("lines read (each ends in CRLF)").isLessThanOrEqualTo(wire.length / 2);
            assertThat(line).doesNotContain("\r", "\n");
            assertThat(line.length()).as("characters, at most one per octet").isLessThanOrEqualTo(LIMIT);
            check(line);
        }
    }

    static void check(String line) {
        Command c = Command.parse(line);
        assertThat(c.verb()).isNotNull();
        assertThat(c.argument()).isNotNull().doesNotEndWith(" ");
        int sp = line.indexOf(' ');
        String word = sp < 0 ? line : line.substring(0, sp);
        if (c.verb() != Verb.UNKNOWN) {
            assertThat(word).matches("[A-Za-z]+");
            assertThat(word.toUpperCase(Locale.ROOT)).isEqualTo(c.verb().name());
        }
        assertThat(c.argument()).isEqualTo(sp < 0 ? "" : line.substring(sp + 1).replaceAll(" +$", ""));
        if (c.verb() != Verb.UNKNOWN) {
            String written = c.argument().isEmpty() ? c.verb().name() : c.verb().name() + " " + c.argument();
            assertThat(Command.parse(written)).isEqualTo(c);
        }
    }
}
