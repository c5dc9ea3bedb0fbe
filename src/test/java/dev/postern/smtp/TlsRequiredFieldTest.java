package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code TLS-Required: No} (RFC 8689 §3) read from the header section while the content streams by. */
class TlsRequiredFieldTest {

    /** Whether {@code text} says TLS-Required: No, the same however it is cut into writes. */
    private static boolean tlsRequiredNo(String text) throws IOException {
        return HopCounterTest.read(text, HopCounter::tlsRequiredNo);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "Subject: x\\r\\nTLS-Required: No\\r\\n\\r\\nbody|true",
        "tls-required:no\\r\\n\\r\\n|true",
        "TLS-REQUIRED :   NO   \\r\\nSubject: x\\r\\n\\r\\n|true",
        "TLS-Required:\\r\\n\\tNo\\r\\n\\r\\n|true",
        "TLS-Required: No\\r\\nTLS-Required: no\\r\\n\\r\\n|true",
        "TLS-Required: No|true",
        "TLS-Required: Yes\\r\\n\\r\\n|false",
        "TLS-Required: No, thanks\\r\\n\\r\\n|false",
        "TLS-Required: N\\r\\n o\\r\\n\\r\\n|false",
        "TLS-Required:\\r\\n\\r\\n|false",
        "TLS-Required: No\\r\\nTLS-Required: Yes\\r\\n\\r\\n|false",
        "X-TLS-Required: No\\r\\nTLS-Required-X: No\\r\\n\\r\\n|false",
        "Subject: x\\r\\n TLS-Required: No\\r\\n\\r\\n|false",
        "Subject: x\\r\\n\\r\\nTLS-Required: No\\r\\n|false",
        "Message-ID: <a@b>\\r\\nTLS-Required: No\\r\\nReceived: x\\r\\n\\r\\n|true",
    })
    void read(String escaped, boolean expected) throws IOException {
        String text = escaped.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t");
        assertThat(tlsRequiredNo(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "Message-ID: <m@x>\\r\\nTLS-Required: No\\r\\n\\r\\n|m@x",
        "TLS-Required: No\\r\\nMessage-ID:\\r\\n <m@x>\\r\\n\\r\\n|m@x",
    })
    void theMessageIdIsStillRead(String escaped, String id) throws IOException {
        String text = escaped.replace("\\r", "\r").replace("\\n", "\n");
        assertThat(HopCounterTest.read(text, HopCounter::messageId)).isEqualTo(id);
        assertThat(tlsRequiredNo(text)).isTrue();
    }
}
