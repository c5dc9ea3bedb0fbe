package dev.postern.queue;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class EnvelopeCodecTest {
    private static final Instant T = Instant.parse("2025-03-01T10:15:30.123456789Z");

    private static Envelope odd() {
        return new Envelope(QueueIds.next(), "ünïcødé+tag=x@exämple.org",
                List.of(new Envelope.Recipient("bob smith%20@example.com", Envelope.Recipient.Status.FAILED, 3,
                                "550-5.1.1 first line\r\n550 5.1.1 second\tline: no = such user\nend", T),
                        new Envelope.Recipient("δοκιμή@παράδειγμα.δοκιμή", Envelope.Recipient.Status.PENDING, 0, "",
                                null),
                        new Envelope.Recipient("carol@example.com", Envelope.Recipient.Status.DELIVERED, 1,
                                "250 ok \u2028 \u0000 \uD800 #", T.plusSeconds(1))),
                T, "helo: weird (ptr [2001:db8::1])\nrcpt: evil@x", "8BITMIME", true, 1234567890123L,
                T.plusSeconds(300), true, 42);
    }

    @Test void roundTripsOddCharacters() throws Exception {
        Envelope e = odd();
        Envelope back = EnvelopeCodec.decode(EnvelopeCodec.encode(e));
        // an unpaired surrogate cannot be stored in UTF-8; it becomes U+FFFD and nothing else changes
        Envelope.Recipient carol = e.recipients().get(2);
        Envelope expected = e.withRecipients(List.of(e.recipients().get(0), e.recipients().get(1),
                new Envelope.Recipient(carol.address(), carol.status(), carol.attempts(),
                        carol.lastResult().replace('\uD800', '\uFFFD'), carol.lastAttempt())), e.nextAttempt());
        assertThat(back).isEqualTo(expected);
    }

    @Test void formatIsLineOrientedAndReadable() {
        String text = new String(EnvelopeCodec.encode(odd()), UTF_8);
        String[] lines = text.split("\n");
        assertThat(lines[0]).isEqualTo("format: 1");
        assertThat(lines[lines.length - 1]).isEqualTo("end");
        assertThat(lines).filteredOn(l -> l.startsWith("rcpt: ")).hasSize(3);
        assertThat(lines).noneMatch(l -> l.contains("\r") || l.contains("\t"));
        assertThat(text).contains("sender: ünïcødé+tag%3Dx@exämple.org\n")
                .contains("rcpt: δοκιμή@παράδειγμα.δοκιμή status=PENDING attempts=0 last-result=\n")
                .contains("last-result=550-5.1.1%20first%20line%0D%0A550%205.1.1%20second%09line:%20no%20%3D%20such")
                .contains("client: helo:%20weird%20(ptr%20[2001:db8::1])%0Arcpt:%20evil@x\n")
                .contains("version: 42\n")
                .contains("received: 2025-03-01T10:15:30.123456789Z\n");
    }

    @Test void nullAndEmptyValuesSurvive() throws Exception {
        var e = new Envelope(QueueIds.next(), "", List.of(Envelope.Recipient.pending("a@b")), T, null, "",
                false, 0, null, false, 0);
        assertThat(EnvelopeCodec.decode(EnvelopeCodec.encode(e))).isEqualTo(e);
    }

    @Test void requireTlsRoundTripsAndOldEnvelopesReadAsWithout() throws Exception {
        var e = new Envelope(QueueIds.next(), "a@b", List.of(Envelope.Recipient.pending("c@d")), T, null, "7BIT",
                false, 10, T, false, 3, true);
        String text = new String(EnvelopeCodec.encode(e), UTF_8);
        assertThat(text).contains("require-tls: true\n");
        Envelope back = EnvelopeCodec.decode(text.getBytes(UTF_8));
        assertThat(back).isEqualTo(e);
        assertThat(back.withVersion(4).withDelayWarned().withNextAttempt(T).requireTls()).isTrue();
        // an envelope written before REQUIRETLS support has no such line
        Envelope old = EnvelopeCodec.decode(text.replace("require-tls: true\n", "").getBytes(UTF_8));
        assertThat(old.requireTls()).isFalse();
        assertThat(new String(EnvelopeCodec.encode(old), UTF_8)).doesNotContain("require-tls");
        assertThatThrownBy(() -> EnvelopeCodec.decode(text.replace("require-tls: true", "require-tls: maybe")
                .getBytes(UTF_8))).isInstanceOf(EnvelopeCodec.CorruptEnvelopeException.class);
    }

    @Test void tlsRequiredNoRoundTripsOldEnvelopesReadAsWithoutAndRequireTlsWins() throws Exception {
        var e = new Envelope(QueueIds.next(), "a@b", List.of(Envelope.Recipient.pending("c@d")), T, null, "7BIT",
                false, 10, T, false, 3, false, true);
        String text = new String(EnvelopeCodec.encode(e), UTF_8);
        assertThat(text).contains("tls-required-no: true\n").doesNotContain("require-tls");
        Envelope back = EnvelopeCodec.decode(text.getBytes(UTF_8));
        assertThat(back).isEqualTo(e);
        assertThat(back.withVersion(4).withDelayWarned().withNextAttempt(T)
                .withRecipients(back.recipients(), T).tlsRequiredNo()).isTrue();
        // an envelope written before TLS-Required support has no such line
        Envelope old = EnvelopeCodec.decode(text.replace("tls-required-no: true\n", "").getBytes(UTF_8));
        assertThat(old.tlsRequiredNo()).isFalse();
        assertThat(new String(EnvelopeCodec.encode(old), UTF_8)).doesNotContain("tls-required-no");
        assertThatThrownBy(() -> EnvelopeCodec.decode(text.replace("tls-required-no: true", "tls-required-no: no")
                .getBytes(UTF_8))).isInstanceOf(EnvelopeCodec.CorruptEnvelopeException.class);
        // RFC 8689 §4.1: with REQUIRETLS the header is ignored, whatever a hand-edited envelope says
        Envelope both = EnvelopeCodec.decode(text.replace("tls-required-no: true\n",
                "tls-required-no: true\nrequire-tls: true\n").getBytes(UTF_8));
        assertThat(both.requireTls()).isTrue();
        assertThat(both.tlsRequiredNo()).isFalse();
    }

    @Test void truncatedOrDamagedEnvelopesAreRejected() {
        byte[] good = EnvelopeCodec.encode(odd());
        for (int cut = 0; cut < good.length - 1; cut += 7) {
            byte[] truncated = Arrays.copyOf(good, cut);
            assertThatThrownBy(() -> EnvelopeCodec.decode(truncated))
                    .as("cut at %d", cut).isInstanceOf(EnvelopeCodec.CorruptEnvelopeException.class);
        }
        String text = new String(good, UTF_8);
        for (String bad : List.of(
                text.replace("format: 1", "format: 2"),
                text.replace("version: 42", "version: forty-two"),
                text.replace("status=PENDING", "status=LOST"),
                text.replace("smtputf8: true", "smtputf8: yes"),
                text.replace("end\n", "end\ntrailing garbage\n"),
                text.replace("version: 42\n", "version: 42\nversion: 43\n"),
                text.replaceAll("rcpt: .*\n", ""),
                text.replace("%0D", "%ZZ"),
                text.replace("id: ", "id: x"))) {
            assertThatThrownBy(() -> EnvelopeCodec.decode(bad.getBytes(UTF_8)))
                    .isInstanceOf(EnvelopeCodec.CorruptEnvelopeException.class);
        }
        assertThatThrownBy(() -> EnvelopeCodec.decode(new byte[] {(byte) 0xC3, 0x28}))
                .isInstanceOf(EnvelopeCodec.CorruptEnvelopeException.class);
    }

    @Test void unknownKeysAndCrlfAreTolerated() throws Exception {
        Envelope e = odd();
        String text = new String(EnvelopeCodec.encode(e), UTF_8)
                .replace("size:", "# a comment\nfuture-field: something\nsize:")
                .replace("\n", "\r\n");
        assertThat(EnvelopeCodec.decode(text.getBytes(UTF_8)).recipients()).hasSize(3);
    }
}
