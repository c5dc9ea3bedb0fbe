package dev.postern.inbound;

import static dev.postern.testkit.ScramClient.b64;
import static dev.postern.testkit.ScramClient.unb64;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.auth.PasswordFile;
import dev.postern.auth.PasswordHash;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.ScramClient;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SMTP AUTH SCRAM-SHA-256 on a real gateway over STARTTLS, with the test's own SCRAM client. Each test connects from
 * its own loopback address, so that the failures of one do not lock out another (the limiter counts per address).
 */
class ScramAuthTest {
    @TempDir static Path data;
    static Gateway gateway;
    static InetSocketAddress submission;

    @BeforeAll static void start() throws Exception {
        PasswordFile.empty()
                .with("alice", "correct horse".toCharArray())  // bcrypt and SCRAM secrets, as 'postern user add'
                .withHash("bob", PasswordHash.bcrypt("battery staple".toCharArray(), 4)) // an old user: bcrypt only
                .save(PasswordFile.defaultPath(data));
        Config c = TestConfigs.gateway(data, "gw.test", Set.of("postern.test"));
        // No relay networks: only AUTH opens relaying here.
        c = new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                List.of(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), c.routes());
        gateway = Gateway.start(c);
        submission = gateway.boundAddresses().get(1);
    }

    @AfterAll static void stop() {
        gateway.close();
    }

    /** EHLO, STARTTLS, EHLO on the submission listener, from 127.0.0.{@code host}. */
    static SmtpTestClient tls(int host) throws Exception {
        SmtpTestClient c = SmtpTestClient.connect(submission, InetAddress.getByName("127.0.0." + host));
        c.read();
        c.command("EHLO client.test");
        c.startTls();
        // bob has no SCRAM secrets, so SCRAM is not advertised (a SCRAM-preferring client would lock him out), but a
        // client that asks for it still gets it.
        assertThat(c.command("EHLO client.test").lines()).contains("250-AUTH PLAIN LOGIN");
        return c;
    }

    /** A whole exchange with an initial response; returns the final reply (after the empty line, if asked). */
    static String exchange(SmtpTestClient c, ScramClient client) throws Exception {
        SmtpTestClient.Response first = c.command("AUTH SCRAM-SHA-256 " + b64(client.clientFirst()));
        assertThat(first.last()).startsWith("334 ");
        String serverFirst = unb64(first.last().substring(4));
        SmtpTestClient.Response last = c.command(b64(client.clientFinal(serverFirst)));
        if (last.code() != 334) return last.last();
        assertThat(unb64(last.last().substring(4))).as("the server proves it knows the secrets")
                .isEqualTo(client.expectedServerFinal());
        return c.command("").last();
    }

    @Test void rightPasswordAuthenticatesAndRelays() throws Exception {
        try (SmtpTestClient c = tls(10)) {
            c.command("MAIL FROM:<alice@postern.test>");
            assertThat(c.command("RCPT TO:<bob@far.example>").last()).isEqualTo("554 5.7.1 Relay access denied");
            c.command("RSET");
            assertThat(exchange(c, new ScramClient("alice", "correct horse"))).startsWith("235 2.7.0");
            assertThat(c.command("MAIL FROM:<alice@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<bob@far.example>").code()).as("authUser is set").isEqualTo(250);
            assertThat(c.command("RSET").code()).isEqualTo(250);
            assertThat(c.command("AUTH SCRAM-SHA-256").last()).startsWith("503 5.5.1 Already authenticated");
        }
    }

    @Test void withoutInitialResponseAndWithY() throws Exception {
        try (SmtpTestClient c = tls(11)) {
            ScramClient client = new ScramClient("alice", "correct horse", "y,,", ScramClient.randomNonce());
            assertThat(c.command("AUTH scram-sha-256").last()).isEqualTo("334 ");
            SmtpTestClient.Response first = c.command(b64(client.clientFirst()));
            assertThat(first.code()).isEqualTo(334);
            SmtpTestClient.Response last = c.command(b64(client.clientFinal(unb64(first.last().substring(4)))));
            assertThat(last.last()).isEqualTo("334 " + b64(client.expectedServerFinal()));
            assertThat(c.command("").last()).isEqualTo("235 2.7.0 Authentication successful");
        }
    }

    @Test void wrongPasswordUnknownUserAndBcryptOnlyUserFailAfterTheSameRoundTrips() throws Exception {
        try (SmtpTestClient c = tls(12)) {
            String i = null;
            for (String[] userAndPassword : new String[][] {{"alice", "wrong horse"}, {"mallory", "correct horse"},
                    {"bob", "battery staple"}}) {
                ScramClient client = new ScramClient(userAndPassword[0], userAndPassword[1]);
                SmtpTestClient.Response first = c.command("AUTH SCRAM-SHA-256 " + b64(client.clientFirst()));
                assertThat(first.code()).as(userAndPassword[0]).isEqualTo(334);
                String serverFirst = unb64(first.last().substring(4));
                assertThat(serverFirst).matches("r=[^,]+,s=[A-Za-z0-9+/]{22}==,i=4096");
                assertThat(c.command(b64(client.clientFinal(serverFirst))).last()).as(userAndPassword[0])
                        .isEqualTo("535 5.7.8 Authentication credentials invalid");
            }
            // bob still has PLAIN.
            assertThat(c.command("AUTH PLAIN " + AuthTest.plain("bob", "battery staple")).last())
                    .startsWith("235 2.7.0");
        }
    }

    @Test void failedProofsCountTowardsTheLockout() throws Exception {
        try (SmtpTestClient c = tls(13)) {
            for (int n = 0; n < 5; n++) {
                assertThat(exchange(c, new ScramClient("alice", "guess" + n))).startsWith("535 5.7.8");
            }
            // Locked out: even the right proof fails, and without the server signature that would confirm it.
            ScramClient right = new ScramClient("alice", "correct horse");
            SmtpTestClient.Response first = c.command("AUTH SCRAM-SHA-256 " + b64(right.clientFirst()));
            assertThat(first.code()).isEqualTo(334);
            assertThat(c.command(b64(right.clientFinal(unb64(first.last().substring(4))))).last())
                    .isEqualTo("454 4.7.0 Too many failed authentication attempts; try again later");
            // bob, behind the same address, is not locked out.
            assertThat(c.command("AUTH PLAIN " + AuthTest.plain("bob", "battery staple")).last())
                    .startsWith("235 2.7.0");
        }
        try (SmtpTestClient c = tls(14)) {
            assertThat(exchange(c, new ScramClient("alice", "correct horse"))).as("another address")
                    .startsWith("235 2.7.0");
        }
    }

    @Test void malformedMessagesAndChannelBinding() throws Exception {
        try (SmtpTestClient c = tls(15)) {
            assertThat(c.command("AUTH SCRAM-SHA-256 " + b64("hello")).last())
                    .isEqualTo("501 5.5.2 Malformed authentication response");
            assertThat(c.command("AUTH SCRAM-SHA-256 !!!").last()).startsWith("501 5.5.2");
            assertThat(c.command("AUTH SCRAM-SHA-256 " + b64("n,,n=alice")).last()).startsWith("501 5.5.2");
            assertThat(c.command("AUTH SCRAM-SHA-256 " + b64("p=tls-unique,,n=alice,r=abcdef")).last())
                    .isEqualTo("535 5.7.8 Channel binding is not supported: SCRAM-SHA-256-PLUS is not offered");
            assertThat(c.command("AUTH SCRAM-SHA-256-PLUS " + b64("p=tls-unique,,n=alice,r=abcdef")).last())
                    .startsWith("504 5.5.4");
            // A malformed client-final-message.
            assertThat(c.command("AUTH SCRAM-SHA-256 " + b64("n,,n=alice,r=abcdef")).code()).isEqualTo(334);
            assertThat(c.command(b64("c=biws,p=AAAA")).last()).startsWith("501 5.5.2");
            // A non-empty answer to the server signature.
            ScramClient client = new ScramClient("alice", "correct horse");
            SmtpTestClient.Response first = c.command("AUTH SCRAM-SHA-256 " + b64(client.clientFirst()));
            assertThat(c.command(b64(client.clientFinal(unb64(first.last().substring(4))))).code()).isEqualTo(334);
            assertThat(c.command(b64("v=ok")).last()).startsWith("501 5.5.2");
            // Cancelled.
            assertThat(c.command("AUTH SCRAM-SHA-256").last()).isEqualTo("334 ");
            assertThat(c.command("*").last()).startsWith("501 5.0.0");
            // None of that was a failed proof: the client may still log in (and no lockout after 7 errors).
            assertThat(exchange(c, new ScramClient("alice", "correct horse"))).startsWith("235 2.7.0");
        }
    }

    @Test void onlyInsideTls() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(submission, InetAddress.getByName("127.0.0.16"))) {
            c.read();
            assertThat(c.command("EHLO client.test").lines()).noneMatch(l -> l.contains("AUTH"));
            assertThat(c.command("AUTH SCRAM-SHA-256 " + b64(new ScramClient("alice", "x").clientFirst())).last())
                    .startsWith("538 5.7.11");
        }
    }
}
