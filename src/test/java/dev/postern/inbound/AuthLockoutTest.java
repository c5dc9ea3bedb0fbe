package dev.postern.inbound;

import static dev.postern.inbound.AuthTest.plain;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.auth.PasswordFile;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The AUTH limiter on a real gateway over STARTTLS, with {@code [auth]} limits: a user who mistypes is locked out
 * from that address (even with the right password), other users behind the same address are not; many failures from
 * one network lock the whole network. Each test uses its own loopback /24.
 */
class AuthLockoutTest {
    @TempDir static Path data;
    static Gateway gateway;
    static InetSocketAddress submission;

    static final String LOCKED = "454 4.7.0 Too many failed authentication attempts; try again later";

    @BeforeAll static void start() throws Exception {
        PasswordFile.empty().with("alice", "correct horse".toCharArray()).with("bob", "battery staple".toCharArray())
                .save(PasswordFile.defaultPath(data));
        Config c = TestConfigs.gateway(data, "gw.test", Set.of("postern.test"));
        // 3 failures per (address, user), then 10 minutes out; 6 failures per /24 lock the /24 for an hour; each
        // failure answered after 200 ms.
        c = c.withInbound(c.inbound().with(Map.of(), Config.RecipientVerification.DEFAULT, new Config.AuthLimits(3,
                Duration.ofMinutes(15), Duration.ofMinutes(10), Duration.ofHours(1), 6, Duration.ofHours(1), 24, 64,
                Duration.ofMillis(200))));
        gateway = Gateway.start(c);
        submission = gateway.boundAddresses().get(1);
    }

    @AfterAll static void stop() {
        gateway.close();
    }

    static SmtpTestClient tls(String from) throws Exception {
        return tls(submission, from);
    }

    /** A session from the loopback address {@code from} to {@code where}, inside TLS, after EHLO. */
    static SmtpTestClient tls(InetSocketAddress where, String from) throws Exception {
        SmtpTestClient c = SmtpTestClient.connect(where, InetAddress.getByName(from));
        c.read();
        c.command("EHLO client.test");
        c.startTls();
        c.command("EHLO client.test");
        return c;
    }

    @Test void typosLockOutOneUserNotTheOthersBehindTheSameNat() throws Exception {
        try (SmtpTestClient c = tls("127.0.1.1")) {
            for (int i = 0; i < 3; i++) {
                assertThat(c.command("AUTH PLAIN " + plain("alice", "typo" + i)).last()).startsWith("535 5.7.8");
            }
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).as("locked, right password")
                    .isEqualTo(LOCKED);
        }
        try (SmtpTestClient c = tls("127.0.1.1")) {
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).isEqualTo(LOCKED);
            // bob, behind the same NAT, logs in with his password.
            assertThat(c.command("AUTH PLAIN " + plain("bob", "battery staple")).last()).startsWith("235 2.7.0");
        }
        try (SmtpTestClient c = tls("127.0.1.2")) {
            assertThat(c.command("AUTH LOGIN").code()).isEqualTo(334);
            c.command(java.util.Base64.getEncoder().encodeToString("alice".getBytes()));
            assertThat(c.command(java.util.Base64.getEncoder().encodeToString("correct horse".getBytes())).last())
                    .as("alice from another address").startsWith("235 2.7.0");
        }
    }

    /** [auth] failure_delay: a failure waits for its answer, a success and a locked-out refusal do not. */
    @Test void aFailureIsAnsweredAfterTheDelay() throws Exception {
        try (SmtpTestClient c = tls("127.0.4.1")) {
            long t0 = System.nanoTime();
            assertThat(c.command("AUTH PLAIN " + plain("bob", "wrong")).last()).startsWith("535 5.7.8");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
            assertThat(c.command("AUTH PLAIN " + plain("bob", "battery staple")).last()).startsWith("235 2.7.0");
        }
    }

    @Test void guessingAcrossUsersLocksTheWholeNetwork() throws Exception {
        try (SmtpTestClient c = tls("127.0.2.1")) {
            for (String user : new String[] {"admin", "root", "info"}) {
                assertThat(c.command("AUTH PLAIN " + plain(user, "123456")).last()).startsWith("535 5.7.8");
            }
        }
        try (SmtpTestClient c = tls("127.0.2.2")) {
            for (String user : new String[] {"sales", "test"}) {
                assertThat(c.command("AUTH PLAIN " + plain(user, "123456")).last()).startsWith("535 5.7.8");
            }
            assertThat(c.command("AUTH PLAIN " + plain("bob", "battery staple")).last()).as("5 failures: not yet")
                    .startsWith("235 2.7.0");
        }
        try (SmtpTestClient c = tls("127.0.2.3")) {
            assertThat(c.command("AUTH PLAIN " + plain("office", "123456")).last()).startsWith("535 5.7.8");
            // Six failures in the /24: the whole network is out, right at the AUTH command.
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).isEqualTo(LOCKED);
        }
        try (SmtpTestClient c = tls("127.0.2.99")) {
            assertThat(c.command("AUTH PLAIN").last()).as("refused before any exchange").isEqualTo(LOCKED);
        }
        try (SmtpTestClient c = tls("127.0.3.1")) {
            assertThat(c.command("AUTH PLAIN " + plain("alice", "correct horse")).last()).as("another /24")
                    .startsWith("235 2.7.0");
        }
    }
}
