package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The Message-ID the audit names, read from the header section while the content streams by. */
class MessageIdTest {

    /** The Message-ID of {@code text}, which must be the same written in one piece and byte by byte. */
    private static String messageId(String text) throws IOException {
        return HopCounterTest.read(text, HopCounter::messageId);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "NULL", value = {
        "Subject: x\\r\\nMessage-ID: <abc@example.com>\\r\\n\\r\\nbody|abc@example.com",
        "message-id :   <abc@example.com>  \\r\\n\\r\\n|abc@example.com",
        "Message-ID:\\r\\n <folded@example.com>\\r\\nSubject: x\\r\\n\\r\\n|folded@example.com",
        "Message-ID: <a\\r\\n\\tb@example.com>\\r\\n\\r\\n|a\\tb@example.com",
        "Subject: none\\r\\n\\r\\nMessage-ID: <in-the-body@example.com>\\r\\n|NULL",
        "Message-ID: <first@example.com>\\r\\nMessage-ID: <second@example.com>\\r\\n\\r\\n|first@example.com",
        "X-Message-ID: <other@example.com>\\r\\nResent-Message-ID: <r@example.com>\\r\\n\\r\\n|NULL",
        "Message-ID: no-brackets@example.com\\r\\n\\r\\n|no-brackets@example.com",
        "Message-ID:\\r\\n\\r\\n|NULL",
        "Received: a\\r\\nMessage-ID: <x@y>|x@y",
    })
    void captured(String text, String expected) throws IOException {
        String t = text.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t");
        assertThat(messageId(t)).isEqualTo(expected == null ? null : expected.replace("\\t", "\t"));
    }

    @Test void aHugeMessageIdIsBounded() throws IOException {
        String huge = "<" + "x".repeat(100_000) + "@example.com>";
        String id = messageId("Message-ID: " + huge + "\r\n\r\nbody\r\n");
        // the bytes kept start with the space after the colon and the '<', which are dropped
        assertThat(id).hasSize(HopCounter.MAX_MESSAGE_ID - 2).matches("x+");
    }

    @Test void receivedFieldsAreStillCountedAroundIt() throws IOException {
        HopCounter c = new HopCounter(new ByteArrayOutputStream());
        byte[] b = "Received: a\r\nMessage-ID: <m@x>\r\n Received: folded\r\nReceived: b\r\n\r\nReceived: body\r\n"
                .getBytes(StandardCharsets.US_ASCII);
        c.write(b, 0, b.length);
        assertThat(c.hops()).isEqualTo(2);
        assertThat(c.messageId()).isEqualTo("m@x");
    }
}
