package dev.postern.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.smtp.Reply;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class SaslTest {

    private static String b64(String s) { return Base64.getEncoder().encodeToString(s.getBytes(UTF_8)); }

    private static Credentials done(Sasl.Step step) {
        assertThat(step).isInstanceOf(Sasl.Done.class);
        return ((Sasl.Done) step).credentials();
    }

    private static Sasl.Challenge challenge(Sasl.Step step, String expected) {
        assertThat(step).isInstanceOf(Sasl.Challenge.class);
        Sasl.Challenge c = (Sasl.Challenge) step;
        assertThat(c.base64()).isEqualTo(expected);
        return c;
    }

    private static void failed(Sasl.Step step, String wire) {
        assertThat(step).isInstanceOf(Sasl.Failed.class);
        Reply r = ((Sasl.Failed) step).reply();
        assertThat(r.toWire()).isEqualTo(wire + "\r\n");
    }

    @Test void plainWithInitialResponse() {
        Credentials c = done(Sasl.start("PLAIN", b64("\0alice\0s3cret")));
        assertThat(c.user()).isEqualTo("alice");
        assertThat(new String(c.password(), UTF_8)).isEqualTo("s3cret");
    }

    @Test void plainFromRfc4616() {
        // RFC 4616 §4: authzid "Ursel", authcid "Kurt": acting as someone else is refused here.
        failed(Sasl.start("PLAIN", b64("Ursel\0Kurt\0xipj3plmq")),
                "535 5.7.8 Authentication credentials invalid: authorization identity must be empty or equal to the user");
        Credentials c = done(Sasl.start("PLAIN", b64("Kurt\0Kurt\0xipj3plmq")));
        assertThat(c).isEqualTo(new Credentials("Kurt", "xipj3plmq".getBytes(UTF_8)));
    }

    @Test void plainWithoutInitialResponse() {
        Sasl.Challenge c = challenge(Sasl.start("plain", null), "");
        assertThat(c.wireLine()).isEqualTo("334 \r\n");
        Credentials creds = done(c.next(b64("\0bob\0pässword")));
        assertThat(creds.user()).isEqualTo("bob");
        assertThat(creds.password()).isEqualTo("pässword".getBytes(UTF_8));
        challenge(Sasl.start("PLAIN", ""), ""); // "AUTH PLAIN " with a trailing space
    }

    @Test void emptyInitialResponse() {
        // "=" is an empty initial response: for PLAIN that is a message without user or password.
        failed(Sasl.start("PLAIN", "="), "501 5.5.2 Malformed authentication response");
        failed(Sasl.start("LOGIN", "="), "501 5.5.2 Malformed authentication response");
    }

    @Test void plainMalformed() {
        for (String m : new String[] {"alice", "\0alice", "\0\0pw", "\0alice\0pw\0", "a\0b\0c\0d"}) {
            failed(Sasl.start("PLAIN", b64(m)), "501 5.5.2 Malformed authentication response");
        }
        byte[] latin1 = "\0j\u00f6rg\0pw".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        failed(Sasl.start("PLAIN", Base64.getEncoder().encodeToString(latin1)),
                "501 5.5.2 Malformed authentication response");
    }

    @Test void loginExchange() {
        Sasl.Challenge user = challenge(Sasl.start("LOGIN", null), "VXNlcm5hbWU6");
        assertThat(user.wireLine()).isEqualTo("334 VXNlcm5hbWU6\r\n");
        Sasl.Challenge password = challenge(user.next(b64("alice@example.org")), "UGFzc3dvcmQ6");
        Credentials c = done(password.next(b64("s3cret") + " "));
        assertThat(c.user()).isEqualTo("alice@example.org");
        assertThat(c.password()).isEqualTo("s3cret".getBytes(UTF_8));
    }

    @Test void loginWithInitialResponse() {
        Sasl.Challenge password = challenge(Sasl.start("login", b64("alice")), "UGFzc3dvcmQ6");
        assertThat(done(password.next(b64("pw"))).user()).isEqualTo("alice");
    }

    @Test void challengesAreImmutable() {
        Sasl.Challenge password = challenge(Sasl.start("LOGIN", b64("alice")), "UGFzc3dvcmQ6");
        failed(password.next("!!"), "501 5.5.2 Cannot decode response: expected base64");
        assertThat(done(password.next(b64("pw"))).password()).isEqualTo("pw".getBytes(UTF_8));
    }

    @Test void cancel() {
        String cancelled = "501 5.0.0 Authentication cancelled";
        failed(challenge(Sasl.start("PLAIN", null), "").next("*"), cancelled);
        failed(challenge(Sasl.start("LOGIN", null), "VXNlcm5hbWU6").next("*"), cancelled);
        failed(challenge(Sasl.start("LOGIN", b64("alice")), "UGFzc3dvcmQ6").next("*"), cancelled);
    }

    @Test void badBase64() {
        String bad = "501 5.5.2 Cannot decode response: expected base64";
        failed(Sasl.start("PLAIN", "not base64!"), bad);
        failed(Sasl.start("PLAIN", "*"), bad); // "*" cancels a challenge; it is no initial response
        failed(challenge(Sasl.start("PLAIN", null), "").next("AGFsaWNlAHB3=x"), bad);
        failed(challenge(Sasl.start("LOGIN", null), "VXNlcm5hbWU6").next("YWxp Y2U="), bad);
    }

    @Test void unsupportedMechanism() {
        for (String m : new String[] {"CRAM-MD5", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "XOAUTH2", "", "PLAINX"}) {
            failed(Sasl.start(m, null), "504 5.5.4 Unrecognized authentication type; supported: SCRAM-SHA-256 PLAIN "
                    + "LOGIN");
        }
    }

    @Test void replies() {
        assertThat(Sasl.SUCCEEDED.toWire()).isEqualTo("235 2.7.0 Authentication successful\r\n");
        assertThat(Sasl.INVALID.toWire()).isEqualTo("535 5.7.8 Authentication credentials invalid\r\n");
        assertThat(String.join(" ", Sasl.MECHANISMS)).isEqualTo("SCRAM-SHA-256 PLAIN LOGIN");
    }

    @Test void credentialsHideAndWipeThePassword() {
        Credentials c = done(Sasl.start("PLAIN", b64("\0alice\0hunter2")));
        assertThat(c.toString()).contains("alice").doesNotContain("hunter2");
        try (c) {
            assertThat(c.password()).isEqualTo("hunter2".getBytes(UTF_8));
        }
        assertThat(c.password()).containsOnly(0);
    }
}
