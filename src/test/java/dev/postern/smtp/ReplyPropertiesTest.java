package dev.postern.smtp;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.net.ProtocolException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The reply grammar (RFC 5321 §4.2, RFC 3463 / RFC 2034 enhanced codes) over generated replies: what Postern sends
 * ({@link Reply#toWire}) its client reads back ({@link ReplyReader}) as the same reply; an enhanced code's class is
 * the reply's (2, 4, 5); every malformed variant of a good reply is refused, never half-read. Seeded (see
 * {@link Seeds}).
 */
class ReplyPropertiesTest {
    private static final int CASES = 1000;

    @Test void repliesRoundTripThroughTheWire() {
        Seeds.each(CASES, seed -> {
            Reply reply = reply(new Random(seed));
            String wire = reply.toWire();
            Reply back = read(wire);
            assertThat(back).as(wire).isEqualTo(reply);
            assertThat(back.toWire()).isEqualTo(wire);
            assertThat(back.isPositive() || back.isTransient() || back.isPermanent()).isTrue();
        });
    }

    /** Whatever a line holds (CR, LF, what looks like a code), the wire form has exactly one line per line. */
    @Test void anyTextKeepsTheLineStructure() {
        Seeds.each(CASES, seed -> {
            Random r = new Random(seed);
            int code = 200 + r.nextInt(400);
            List<String> lines = new ArrayList<>();
            for (int i = 1 + r.nextInt(4); i > 0; i--) lines.add(text(r, true));
            Reply reply = new Reply(code, null, lines);
            Reply back = read(reply.toWire());
            assertThat(back.code()).isEqualTo(code);
            assertThat(back.lines()).hasSameSizeAs(lines);
            // a first word like "2.0.0" of the reply's class is read as its enhanced code; otherwise the same bytes
            if (back.enhanced() == null) assertThat(back.toWire()).isEqualTo(reply.toWire());
        });
    }

    /** An enhanced code of another class than the reply's is no enhanced code: refused when made, text when read. */
    @Test void enhancedClassMustMatchTheReply() {
        Seeds.each(CASES, seed -> {
            Random r = new Random(seed);
            int code = 200 + r.nextInt(400);
            int klass = List.of(2, 4, 5).get(r.nextInt(3));
            String enhanced = klass + "." + r.nextInt(8) + "." + r.nextInt(30);
            if (klass == code / 100) {
                assertThat(Reply.of(code, enhanced, "x").enhanced()).isEqualTo(enhanced);
            } else {
                assertThatThrownBy(() -> Reply.of(code, enhanced, "x")).isInstanceOf(IllegalArgumentException.class);
                Reply read = read(code + " " + enhanced + " x\r\n");
                assertThat(read.enhanced()).isNull();
                assertThat(read.lines()).containsExactly(enhanced + " x");
            }
        });
    }

    /**
     * One change to a good multi-line reply that breaks the grammar (a code outside 200..599 or changed between
     * lines, a missing separator, a bare CR or LF, a cut last line): the reader refuses it with a ProtocolException,
     * or EOFException when the reply never ends.
     */
    @Test void everyBrokenVariantIsRefused() {
        Seeds.each(CASES, seed -> {
            Random r = new Random(seed);
            Reply good = reply(r);
            List<String> wireLines = new ArrayList<>(List.of(good.toWire().split("\r\n")));
            int at = r.nextInt(wireLines.size());
            String line = wireLines.get(at);
            int kind = r.nextInt(6);
            String broken = switch (kind) {
                case 0 -> (r.nextBoolean() ? r.nextInt(2) : 6 + r.nextInt(4)) + line.substring(1); // 0xx, 1xx, 6xx-9xx
                case 1 -> (char) ('a' + r.nextInt(26)) + line.substring(1);
                case 2 -> line.length() > 3 ? line.substring(0, 3) + "_" + line.substring(4) : line.substring(0, 2);
                case 3 -> line.substring(0, 3) + (r.nextBoolean() ? "\n" : "\r") + "x" + line.substring(3);
                case 4 -> { // another valid code on one line of a multi-line reply
                    if (wireLines.size() == 1) yield line.substring(0, 2);
                    int other = good.code() == 599 ? 200 : good.code() + 1;
                    yield other + line.substring(3);
                }
                default -> null;
            };
            String wire;
            if (broken == null) { // the last line cut off (a continuation with no end)
                wire = String.join("", wireLines.stream().map(l -> l.substring(0, 3) + "-"
                        + (l.length() > 4 ? l.substring(4) : "") + "\r\n").toList());
            } else {
                wireLines.set(at, broken);
                wire = String.join("\r\n", wireLines) + "\r\n";
            }
            assertThatThrownBy(() -> ReplyReader.read(input(wire))).as("kind %d: %s", kind, wire)
                    .isInstanceOfAny(ProtocolException.class, EOFException.class);
        });
    }

    /** A reply as a server sends it: code 200..599, an enhanced code of its class or none, one to six lines. */
    static Reply reply(Random r) {
        int code = List.of(220, 221, 250, 251, 252, 354, 421, 450, 451, 452, 454, 500, 501, 502, 503, 530, 535, 550,
                552, 553, 554, 555).get(r.nextInt(22));
        if (r.nextInt(4) == 0) code = 200 + r.nextInt(400);
        int klass = code / 100;
        String enhanced = klass != 3 && r.nextBoolean() ? klass + "." + r.nextInt(8) + "." + r.nextInt(1000) : null;
        List<String> lines = new ArrayList<>();
        for (int i = 1 + r.nextInt(6); i > 0; i--) lines.add(text(r, false));
        if (enhanced == null && !lines.getFirst().isEmpty() && Character.isDigit(lines.getFirst().charAt(0))) {
            lines.set(0, "x" + lines.getFirst()); // a first word like "2.0.0" would be read as the enhanced code
        }
        return new Reply(code, enhanced, lines);
    }

    /** Printable text (ASCII, some UTF-8), or anything at all but NUL when {@code any}. */
    private static String text(Random r, boolean any) {
        StringBuilder b = new StringBuilder();
        int len = r.nextInt(5) == 0 ? 0 : r.nextInt(80);
        for (int i = 0; i < len; i++) {
            if (any) b.append((char) (1 + r.nextInt(r.nextBoolean() ? 127 : 0x7ff)));
            else b.append(r.nextInt(10) == 0 ? "é€用".charAt(r.nextInt(3)) : (char) (32 + r.nextInt(95)));
        }
        return any ? b.toString().replaceAll("[\uD800-\uDFFF]", "?") : b.toString().strip().isEmpty() ? "" : b.toString();
    }

    private static SmtpInput input(String wire) {
        return new SmtpInput(new ByteArrayInputStream(wire.getBytes(UTF_8)), 1000);
    }

    private static Reply read(String wire) {
        try {
            return ReplyReader.read(input(wire));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
