package dev.postern.recipients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecipientListTest {
    @TempDir Path dir;

    @Test void entriesAndHowTheyCompare() throws IOException {
        Path f = dir.resolve("list");
        Files.writeString(f, "# comment\r\n\r\n  Alice  \r\nbob@Example.COM\n\"john doe\"\n@B\u00fccher.example\n"
                + "\"x\"@other.example\n");
        RecipientList l = RecipientList.load(f);
        assertThat(l.contains("alice", "example.com")).isTrue();
        assertThat(l.contains("ALICE", "anything.example")).as("a bare local part: every domain").isTrue();
        assertThat(l.contains("\"alice\"", "example.com")).isTrue();
        assertThat(l.contains("bob", "example.com")).isTrue();
        assertThat(l.contains("bob", "other.example")).as("an address: its domain only").isFalse();
        assertThat(l.contains("\"John Doe\"", "example.com")).isTrue();
        assertThat(l.contains("anyone", "xn--bcher-kva.example")).as("catch-all, A-label form").isTrue();
        assertThat(l.contains("x", "other.example")).isTrue();
        assertThat(l.contains("carol", "example.com")).isFalse();
        assertThat(l.contains("alice.x", "example.com")).isFalse();
        assertThat(l.size()).isEqualTo(5);
    }

    @Test void badLinesAreNamedWithFileAndLine() throws IOException {
        Path f = dir.resolve("list");
        for (String bad : new String[] {"two words", "a..b", "@", "@not_a..domain", "x@", ".dot", "a@b@c"}) {
            Files.writeString(f, "alice\n" + bad + "\n");
            assertThatThrownBy(() -> RecipientList.load(f)).as(bad).isInstanceOf(IOException.class)
                    .hasMessageStartingWith(f + ":2: expected an address like john@example.com, a local part like "
                            + "john or a catch-all like @example.com, got \"" + bad + "\"");
        }
        Files.write(f, new byte[] {'a', (byte) 0xff, '\n'});
        assertThatThrownBy(() -> RecipientList.load(f)).hasMessage(f + ": expected UTF-8 text");
        assertThatThrownBy(() -> RecipientList.load(dir.resolve("missing"))).hasMessageEndingWith(": file not found");
        Files.writeString(f, "\u00fcser\n", StandardCharsets.UTF_8);
        assertThat(RecipientList.load(f).contains("\u00dcSER", "example.com")).isTrue();
    }
}
