package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Fuzz target: the text after MAIL or RCPT, read by {@link Path#parseReverse} and {@link Path#parseForward}, and the
 * same text as a bare address read by {@link Mailbox#parse}. Invariants: a refusal is an {@link AddressException} with
 * a short one-line reason, nothing else; an address accepted has no control character, space outside quotes, angle
 * bracket or line break in what Postern stores and forwards ({@link Mailbox#address}: no header or command injection
 * through an envelope), at most 64 octets of local part, a domain key in lookup form (ASCII, lower case, no trailing
 * dot, at most 255 octets); the stored address parses again to the same address (round trip), and a path written back
 * with its parameters parses to the same mailbox and parameters.
 */
class PathFuzzTest {

    @FuzzTest
    void paths(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8); // as SmtpInput decodes a command line
        try {
            check(Mailbox.parse(text));
        } catch (AddressException e) {
            reason(e);
        }
        for (boolean forward : new boolean[] {false, true}) {
            Path p;
            try {
                p = forward ? Path.parseForward(text) : Path.parseReverse(text);
            } catch (AddressException e) {
                reason(e);
                continue;
            }
            assertThat(Mailbox.octets(text)).isGreaterThanOrEqualTo(forward ? 5 : 7); // "TO:<x>" at least
            if (p.isNull()) assertThat(forward).isFalse();
            else if (!p.mailbox().domain().isEmpty()) check(p.mailbox());
            p.params().forEach((k, v) -> {
                assertThat(k).matches("[A-Z0-9][A-Z0-9-]*");
                if (v != null) assertThat(v).isNotEmpty().doesNotContain(" ", "=", "\r", "\n", "\0");
            });
            StringBuilder again = new StringBuilder(forward ? "TO:<" : "FROM:<");
            if (!p.isNull()) again.append(p.mailbox().address());
            again.append('>');
            for (Map.Entry<String, String> e : p.params().entrySet()) {
                again.append(' ').append(e.getKey());
                if (e.getValue() != null) again.append('=').append(e.getValue());
            }
            Path q;
            try {
                q = forward ? Path.parseForward(again.toString()) : Path.parseReverse(again.toString());
            } catch (AddressException e) {
                throw new AssertionError("written back as " + again + ": " + e.getMessage(), e);
            }
            assertThat(q.mailbox() == null ? null : q.mailbox().address())
                    .isEqualTo(p.mailbox() == null ? null : p.mailbox().address());
            assertThat(q.params()).containsExactlyEntriesOf(p.params());
        }
    }

    private static void check(Mailbox m) {
        String address = m.address();
        assertThat(address.codePoints()).as("control characters in " + address)
                .noneMatch(c -> c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 || c == '\u2028' || c == '\u2029');
        if (!m.localPart().startsWith("\"")) assertThat(m.localPart()).doesNotContain(" ", "<", ">", "\"");
        assertThat(m.localPart().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(64);
        String key = m.domainKey();
        assertThat(key).isNotEmpty().doesNotEndWith(".");
        assertThat(key.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);
        if (!key.startsWith("[")) assertThat(key).matches("[a-z0-9.-]+");
        Mailbox again;
        try {
            again = Mailbox.parse(address);
        } catch (AddressException e) {
            throw new AssertionError("stored address " + address + " does not parse: " + e.getMessage(), e);
        }
        assertThat(again.address()).isEqualTo(address);
        assertThat(again.domainKey()).isEqualTo(key);
    }

    private static void reason(AddressException e) {
        assertThat(e.getMessage()).isNotBlank().hasSizeLessThan(200).doesNotContain("\r", "\n");
    }
}
