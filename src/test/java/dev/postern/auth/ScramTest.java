package dev.postern.auth;

import static dev.postern.testkit.ScramClient.b64;
import static dev.postern.testkit.ScramClient.unb64;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.testkit.ScramClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SCRAM-SHA-256 on its own: the RFC 7677 example, the secrets, the exchange's failures. */
class ScramTest {
    // RFC 7677 §3.
    static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
    static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    static final byte[] SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    static final String CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    static final String SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            + "i=4096";
    static final String CLIENT_FINAL = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    static final String SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    static final Scram.Secrets PENCIL = Scram.secrets("pencil".toCharArray(), SALT, 4096);

    /** A store with "user" (password "pencil", RFC 7677's salt) and "plainonly" without SCRAM secrets. */
    static final PasswordFile STORE = PasswordFile.empty()
            .withHash("user", PasswordHash.bcrypt("pencil".toCharArray(), 4), PENCIL)
            .withHash("plainonly", PasswordHash.bcrypt("pencil".toCharArray(), 4));

    private static Sasl.Step start(String clientFirst) {
        return Sasl.start("SCRAM-SHA-256", b64(clientFirst), STORE, () -> SERVER_NONCE);
    }

    private static String challenge(Sasl.Step step) {
        assertThat(step).isInstanceOf(Sasl.Challenge.class);
        return unb64(((Sasl.Challenge) step).base64());
    }

    private static void failed(Sasl.Step step, String wire) {
        assertThat(step).isInstanceOf(Sasl.Failed.class);
        assertThat(((Sasl.Failed) step).reply().toWire()).isEqualTo(wire + "\r\n");
    }

    private static final String MALFORMED = "501 5.5.2 Malformed authentication response";

    @Test void rfc7677Example() {
        Sasl.Step first = start(CLIENT_FIRST);
        assertThat(challenge(first)).isEqualTo(SERVER_FIRST);
        Sasl.Step last = ((Sasl.Challenge) first).next(b64(CLIENT_FINAL));
        assertThat(challenge(last)).isEqualTo(SERVER_FINAL);
        assertThat(((Sasl.Challenge) last).next("")).isEqualTo(new Sasl.Authenticated("user"));
    }

    @Test void rfc7677ExampleWithoutInitialResponse() {
        Sasl.Step empty = Sasl.start("scram-sha-256", null, STORE, () -> SERVER_NONCE);
        assertThat(challenge(empty)).isEmpty();
        assertThat(((Sasl.Challenge) empty).wireLine()).isEqualTo("334 \r\n");
        Sasl.Step first = ((Sasl.Challenge) empty).next(b64(CLIENT_FIRST));
        assertThat(challenge(first)).isEqualTo(SERVER_FIRST);
    }

    @Test void theTestClientReproducesTheRfcExample() {
        ScramClient client = new ScramClient("user", "pencil", "n,,", CLIENT_NONCE);
        assertThat(client.clientFirst()).isEqualTo(CLIENT_FIRST);
        assertThat(client.clientFinal(SERVER_FIRST)).isEqualTo(CLIENT_FINAL);
        assertThat(client.expectedServerFinal()).isEqualTo(SERVER_FINAL);
    }

    @Test void secretsInRfc5803Form() {
        String text = PENCIL.format();
        assertThat(text).startsWith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$").matches(
                "SCRAM-SHA-256\\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=");
        assertThat(Scram.Secrets.parse(text)).isEqualTo(PENCIL);
        assertThat(PENCIL.toString()).doesNotContain(text.substring(text.lastIndexOf('$') + 1, text.lastIndexOf(':')));
        for (String bad : new String[] {"", "SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$AAAA:AAAA",
                text.replace("$4096:", "$0:"), text.replace("$4096:", "$x:"), text.replace("4096", "99999999"),
                text.substring(0, text.length() - 5) + "=", text + ":", text.replace(":W22", ":!22")}) {
            assertThat(Scram.Secrets.parse(bad)).as(bad).isNull();
        }
        Scram.Secrets fresh = Scram.secrets("pencil".toCharArray(), 4096);
        assertThat(fresh.salt()).hasSize(16).isNotEqualTo(SALT);
        assertThat(fresh).isNotEqualTo(Scram.secrets("pencil".toCharArray(), 4096));
    }

    @Test void wrongPasswordIsInvalidAfterTheWholeExchange() {
        ScramClient client = new ScramClient("user", "pencil!", "n,,", CLIENT_NONCE);
        Sasl.Step first = start(client.clientFirst());
        assertThat(challenge(first)).isEqualTo(SERVER_FIRST);
        assertThat(((Sasl.Challenge) first).next(b64(client.clientFinal(SERVER_FIRST))))
                .isEqualTo(new Sasl.Invalid("user"));
    }

    @Test void unknownUsersAndUsersWithoutSecretsLookLikeRealOnes() {
        for (String name : new String[] {"nobody", "plainonly"}) {
            ScramClient client = new ScramClient(name, "pencil", "n,,", CLIENT_NONCE);
            Sasl.Step first = start(client.clientFirst());
            String serverFirst = challenge(first);
            assertThat(serverFirst).as(name)
                    .matches("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj\\)hNlF\\$k0,s=[A-Za-z0-9+/]{22}==,i=4096")
                    .isNotEqualTo(SERVER_FIRST);
            assertThat(challenge(start(client.clientFirst()))).as("the same salt every time").isEqualTo(serverFirst);
            assertThat(((Sasl.Challenge) first).next(b64(client.clientFinal(serverFirst))))
                    .isEqualTo(new Sasl.Invalid(name));
        }
        assertThat(challenge(start("n,,n=nobody,r=x"))).isNotEqualTo(challenge(start("n,,n=somebody,r=x")));
        // Without any SCRAM user: the default iteration count and salt length.
        assertThat(unb64(((Sasl.Challenge) Sasl.start("SCRAM-SHA-256", b64("n,,n=x,r=abc"))).base64()))
                .matches("r=abc[A-Za-z0-9+/]{24},s=[A-Za-z0-9+/]{22}==,i=4096");
    }

    @Test void aMatchingProofForAnUnknownUserStillFails() {
        // Belt and braces: even a store whose mock secrets were somebody's real ones does not let anybody in.
        Scram.Store careless = new Scram.Store() {
            @Override public Scram.Secrets scramSecrets(String user) { return null; }
            @Override public Scram.Secrets mockSecrets(String user) { return PENCIL; }
        };
        Sasl.Step first = Sasl.start("SCRAM-SHA-256", b64(CLIENT_FIRST), careless, () -> SERVER_NONCE);
        assertThat(challenge(first)).isEqualTo(SERVER_FIRST);
        assertThat(((Sasl.Challenge) first).next(b64(CLIENT_FINAL))).isEqualTo(new Sasl.Invalid("user"));
    }

    @Test void mockSecretsAreStableAcrossReloadsAndFollowTheFirstScramUser() {
        Scram.Secrets strong = Scram.secrets("x".toCharArray(), new byte[24], 10_000);
        PasswordFile a = PasswordFile.empty().withHash("a", PasswordHash.bcrypt("x".toCharArray(), 4), strong);
        PasswordFile b = PasswordFile.empty().withHash("a", PasswordHash.bcrypt("y".toCharArray(), 4), strong);
        assertThat(a.mockSecrets("ghost")).isEqualTo(b.mockSecrets("ghost"));
        assertThat(a.mockSecrets("ghost").iterations()).isEqualTo(10_000);
        assertThat(a.mockSecrets("ghost").salt()).hasSize(24);
        assertThat(a.mockSecrets("ghost")).isNotEqualTo(a.mockSecrets("ghost2"));
    }

    @Test void channelBindingIsRefusedAndYIsAccepted() {
        failed(start("p=tls-unique,,n=user,r=" + CLIENT_NONCE),
                "535 5.7.8 Channel binding is not supported: SCRAM-SHA-256-PLUS is not offered");
        failed(start("p=tls-exporter,a=user,n=user,r=" + CLIENT_NONCE),
                "535 5.7.8 Channel binding is not supported: SCRAM-SHA-256-PLUS is not offered");
        for (String gs2 : new String[] {"y,,", "n,a=user,", "y,a=user,"}) {
            ScramClient client = new ScramClient("user", "pencil", gs2, CLIENT_NONCE);
            Sasl.Step first = start(client.clientFirst());
            Sasl.Step last = ((Sasl.Challenge) first).next(b64(client.clientFinal(challenge(first))));
            assertThat(challenge(last)).as(gs2).isEqualTo(client.expectedServerFinal());
            assertThat(((Sasl.Challenge) last).next("")).isEqualTo(new Sasl.Authenticated("user"));
        }
    }

    @Test void theChannelBindingAttributeMustRepeatTheGs2Header() {
        // The client said "y,," but claims "n,," in c= (biws): a downgrade or a broken client.
        Sasl.Step first = start("y,,n=user,r=" + CLIENT_NONCE);
        failed(((Sasl.Challenge) first).next(b64(CLIENT_FINAL)),
                "535 5.7.8 Authentication credentials invalid: nonce or channel binding does not match");
        // The server's part of the nonce left out.
        first = start(CLIENT_FIRST);
        failed(((Sasl.Challenge) first).next(b64("c=biws,r=" + CLIENT_NONCE + ",p="
                + CLIENT_FINAL.substring(CLIENT_FINAL.indexOf("p=") + 2))),
                "535 5.7.8 Authentication credentials invalid: nonce or channel binding does not match");
    }

    @Test void anotherAuthorizationIdentityIsRefused() {
        failed(start("n,a=admin,n=user,r=" + CLIENT_NONCE), "535 5.7.8 Authentication credentials invalid: "
                + "authorization identity must be empty or equal to the user");
    }

    @Test void escapedNames() {
        Scram.Store store = new Scram.Store() {
            @Override public Scram.Secrets scramSecrets(String user) { return user.equals("a,b=c") ? PENCIL : null; }
            @Override public Scram.Secrets mockSecrets(String user) { return PENCIL; }
        };
        ScramClient client = new ScramClient("a,b=c", "pencil", "n,,", CLIENT_NONCE);
        assertThat(client.clientFirstBare()).startsWith("n=a=2Cb=3Dc,");
        Sasl.Step first = Sasl.start("SCRAM-SHA-256", b64(client.clientFirst()), store, () -> SERVER_NONCE);
        Sasl.Step last = ((Sasl.Challenge) first).next(b64(client.clientFinal(challenge(first))));
        assertThat(((Sasl.Challenge) last).next("")).isEqualTo(new Sasl.Authenticated("a,b=c"));
    }

    @Test void malformedClientFirst() {
        for (String m : new String[] {"x", "n", "n,", "n,,", "n,,n=user", "n,,r=abc", "n,,r=abc,n=user",
                "n,,n=,r=abc", "n,,n=user,r=", "n,,n=user,r=a b", "n,,n=u=2Xser,r=abc", "n,,n=user,r=abc,",
                "n,,n=user,r=abc,1=x", "n,,n=user,r=abc,xx", "x,,n=user,r=abc", "n,b=user,n=user,r=abc",
                "n,a=,n=user,r=abc", "N,,n=user,r=abc", "n,,n=us\u00e9r,r=r\u00e9"}) {
            failed(start(m), MALFORMED);
        }
        failed(start("n,,m=ext,n=user,r=abc"),
                "501 5.5.2 Malformed authentication response: mandatory SCRAM extensions are not supported");
        // Not UTF-8.
        failed(Sasl.start("SCRAM-SHA-256", Base64.getEncoder().encodeToString(
                "n,,n=j\u00f6rg,r=abc".getBytes(StandardCharsets.ISO_8859_1)), STORE), MALFORMED);
        failed(Sasl.start("SCRAM-SHA-256", "not base64!", STORE),
                "501 5.5.2 Cannot decode response: expected base64");
        failed(Sasl.start("SCRAM-SHA-256", "=", STORE), MALFORMED);
        // Extensions after the nonce are ignored.
        assertThat(challenge(start(CLIENT_FIRST + ",x=ext"))).isEqualTo(SERVER_FIRST);
    }

    @Test void malformedClientFinal() {
        String nonce = CLIENT_NONCE + SERVER_NONCE;
        String proof = CLIENT_FINAL.substring(CLIENT_FINAL.indexOf("p="));
        for (String m : new String[] {"", "c=biws", "c=biws,r=" + nonce, "r=" + nonce + "," + proof,
                "c=biws," + proof, "c=biws,r=" + nonce + ",p=", "c=biws,r=" + nonce + ",p=AAAA",
                "c=biws,r=" + nonce + ",p=!!", "c=!!,r=" + nonce + "," + proof, "c=biws,r=" + nonce + ",1=x," + proof,
                "c=biws,r=" + nonce + "," + proof + ",x=1", "c=biws,x=1,r=" + nonce + "," + proof}) {
            Sasl.Step first = start(CLIENT_FIRST);
            failed(((Sasl.Challenge) first).next(b64(m)), MALFORMED);
        }
        Sasl.Step first = start(CLIENT_FIRST);
        failed(((Sasl.Challenge) first).next("not base64!"), "501 5.5.2 Cannot decode response: expected base64");
        failed(((Sasl.Challenge) first).next("*"), "501 5.0.0 Authentication cancelled");
        // An extension between nonce and proof is part of AuthMessage: the RFC's proof no longer matches.
        assertThat(((Sasl.Challenge) first).next(b64("c=biws,r=" + nonce + ",x=1," + proof)))
                .isEqualTo(new Sasl.Invalid("user"));
    }

    @Test void theAnswerToTheServerSignatureMustBeEmpty() {
        Sasl.Step first = start(CLIENT_FIRST);
        Sasl.Challenge last = (Sasl.Challenge) ((Sasl.Challenge) first).next(b64(CLIENT_FINAL));
        failed(last.next(b64("x")), MALFORMED);
        failed(last.next("*"), "501 5.0.0 Authentication cancelled");
        assertThat(last.next("=")).as("'=' is no empty line; not base64 either").isInstanceOf(Sasl.Failed.class);
        assertThat(last.next("")).isEqualTo(new Sasl.Authenticated("user"));
    }

    @Test void secretsAgreeWithScramp() {
        // StoredKey and ServerKey from scramp 1.4.17 (Python, its own PBKDF2 and SASLprep on the stringprep tables),
        // ScramMechanism("SCRAM-SHA-256").make_auth_info(password, iteration_count=4096, salt=RFC 7677's salt).
        Map<String, String> scramp = Map.of(
                "pencil", "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
                "I\u00ADX", "jm4XkHvFe7q0xZ4vmAKJUiTKPr1F+7MXnYyksTUVeBE=:EqXM4c5+I7lQ5vHl5Ngu2rY8DBMM1XjG0dY6GEjwLx0=",
                "\u2168", "jm4XkHvFe7q0xZ4vmAKJUiTKPr1F+7MXnYyksTUVeBE=:EqXM4c5+I7lQ5vHl5Ngu2rY8DBMM1XjG0dY6GEjwLx0=",
                "p\u00e4ssw\u00f6rd", "dcgqTWLkt/QY/G2TTG2Kx054l2TY/d1/rrqpxFf42c8=:"
                        + "1J1wEQIBJAVfD0SDivXshqbZYR5KFg/C5ltFBHBSzbc=",
                "a\u00A0b", "XOy+aNogXQVyJeaGZa7wab3xltmM/loxEYYzoRCDlg4=:Quj1YswXpPWSBZzM1ofxmTeHS/PJ1sFplINhz8r1xIQ=");
        scramp.forEach((password, keys) -> assertThat(Scram.secrets(password.toCharArray(), SALT, 4096).format())
                .as(password).isEqualTo("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys));
    }

    @Test void saslPrep() {
        // RFC 4013 §3's examples.
        Map<String, String> ok = Map.of("I\u00ADX", "IX", "user", "user", "USER", "USER", "\u00AA", "a",
                "\u2168", "IX", "a\u00A0b", "a b", "\u0627\u0031\u0628", "\u0627\u0031\u0628");
        ok.forEach((in, out) -> assertThat(new String(Scram.saslPrep(in.toCharArray()), StandardCharsets.UTF_8))
                .as(in).isEqualTo(out));
        for (String bad : new String[] {"\u0007", "a\u0627", "\u0627\u0031", "x\uE000", "x\uD800"}) {
            assertThatThrownBy(() -> Scram.saslPrep(bad.toCharArray())).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        // Equivalent spellings give the same secrets: a client that prepares "\u2168" logs in with "IX".
        assertThat(Scram.secrets("\u2168".toCharArray(), SALT, 1)).isEqualTo(Scram.secrets("IX".toCharArray(), SALT, 1));
        assertThatThrownBy(() -> Scram.secrets("\u00AD".toCharArray(), SALT, 1)).hasMessage("empty password");
    }
}
