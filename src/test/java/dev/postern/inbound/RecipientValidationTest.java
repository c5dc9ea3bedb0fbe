package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recipient validation on a real gateway: routing tricks refused for local domains as for relay domains, and
 * recipients files (known accepted, unknown 550 5.1.1 at RCPT, changes picked up while running).
 */
class RecipientValidationTest {
    @TempDir static Path dir;
    static Path list;
    static Gateway gateway;
    static InetSocketAddress mx;

    @BeforeAll static void start() throws Exception {
        list = dir.resolve("recipients.txt");
        Files.writeString(list, """
                # the people of postern.test
                alice
                Bob@postern.test
                "john doe"
                @other.test
                """);
        Config c = TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test", "other.test",
                "localhost"));
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort(); // nobody listens there afterwards: every probe fails at once
        }
        c = TestConfigs.withRelay(c, Set.of("relay.example", "unverifiable.example"),
                Map.of("unverifiable.example", new Config.Route("127.0.0.1", closed, false)));
        c = c.withInbound(c.inbound().with(Map.of(
                        "unverifiable.example", new Config.DomainRecipients(null, true),
                        "postern.test", new Config.DomainRecipients(list, false),
                        "other.test", new Config.DomainRecipients(list, false)),
                Config.RecipientVerification.DEFAULT, Config.AuthLimits.DEFAULT));
        gateway = Gateway.start(c);
        mx = gateway.boundAddresses().get(0);
    }

    @AfterAll static void stop() {
        gateway.close();
    }

    private static SmtpTestClient transaction() throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(mx);
        c.read();
        c.command("EHLO client.test");
        assertThat(c.command("MAIL FROM:<someone@sender.example>").code()).isEqualTo(250);
        return c;
    }

    static final String TRICK = "554 5.7.1 Source routes, %-hacks and quoted @ are not relayed";

    @Test void routingTricksAreRefusedForLocalDomainsAsForRelayDomains() throws Exception {
        try (SmtpTestClient c = transaction()) {
            assertThat(c.command("RCPT TO:<\"victim@relay.example\"@relay.example>").last()).isEqualTo(TRICK);
            assertThat(c.command("RCPT TO:<\"victim@relay.example\"@localhost>").last()).isEqualTo(TRICK);
            assertThat(c.command("RCPT TO:<\"victim%relay.example\"@localhost>").last()).isEqualTo(TRICK);
            assertThat(c.command("RCPT TO:<\"relay.example!victim\"@localhost>").last()).isEqualTo(TRICK);
            assertThat(c.command("RCPT TO:<victim%relay.example@localhost>").last()).isEqualTo(TRICK);
            assertThat(c.command("RCPT TO:<@localhost:victim@localhost>").last()).isEqualTo(TRICK);
            // A quoted local part without routing characters is an ordinary mailbox.
            assertThat(c.command("RCPT TO:<\"any body\"@localhost>").last()).startsWith("250 2.1.5");
            assertThat(c.command("RCPT TO:<anybody@localhost>").last()).as("no list: catch-all")
                    .startsWith("250 2.1.5");
        }
    }

    @Test void aRecipientsFileDecidesAtRcpt() throws Exception {
        try (SmtpTestClient c = transaction()) {
            assertThat(c.command("RCPT TO:<alice@postern.test>").last()).startsWith("250 2.1.5");
            assertThat(c.command("RCPT TO:<ALICE@Postern.Test>").last()).as("case-insensitive").startsWith("250");
            assertThat(c.command("RCPT TO:<\"alice\"@postern.test>").last()).as("quoted").startsWith("250");
            assertThat(c.command("RCPT TO:<bob@postern.test>").last()).startsWith("250 2.1.5");
            assertThat(c.command("RCPT TO:<\"John Doe\"@postern.test>").last()).startsWith("250 2.1.5");
            assertThat(c.command("RCPT TO:<anyone@other.test>").last()).as("@other.test line").startsWith("250");
            assertThat(c.command("RCPT TO:<mallory@postern.test>").last())
                    .isEqualTo("550 5.1.1 <mallory@postern.test>: Recipient address rejected: User unknown");
            assertThat(c.command("RCPT TO:<alice.x@postern.test>").code()).isEqualTo(550);
            // RFC 5321 §4.5.1: postmaster is always accepted, listed or not.
            assertThat(c.command("RCPT TO:<PostMaster@postern.test>").last()).startsWith("250 2.1.5");
            assertThat(c.command("RCPT TO:<Postmaster>").last()).startsWith("250 2.1.5");
            assertThat(c.command("RCPT TO:<john@postern.test>").code()).isEqualTo(550);
            // The transaction goes on with the recipients that were accepted.
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: x\r\n\r\nhi\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
        }
        Path mail = dir.resolve("data/mail");
        // Three spellings of alice (as three envelope recipients) reach one Maildir.
        Map<String, Integer> expected = Map.of("postern.test/alice", 3, "postern.test/bob", 1,
                "postern.test/postmaster", 1,
                "postern.test/john%20doe", 1, "other.test/anyone", 1);
        expected.forEach((box, n) -> {
            Path fresh = mail.resolve(box).resolve("new");
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.isDirectory(fresh) && count(fresh) == n);
        });
        assertThat(count(mail.resolve("postern.test"))).as("one Maildir per mailbox, not per spelling").isEqualTo(4);
    }

    private static long count(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test void aChangedFileIsUsedWithoutRestart() throws Exception {
        Path other = dir.resolve("other-list.txt");
        Files.writeString(other, "carol\n");
        Config base = TestConfigs.gateway(dir.resolve("data2"), "gw2.test", Set.of("postern.test"));
        base = base.withInbound(base.inbound().with(Map.of("postern.test", new Config.DomainRecipients(other, false)),
                Config.RecipientVerification.DEFAULT, Config.AuthLimits.DEFAULT));
        try (Gateway g = Gateway.start(base)) {
            InetSocketAddress where = g.boundAddresses().get(0);
            try (SmtpTestClient c = SmtpTestClient.connect(where)) {
                c.read();
                c.command("EHLO client.test");
                c.command("MAIL FROM:<a@sender.example>");
                assertThat(c.command("RCPT TO:<carol@postern.test>").code()).isEqualTo(250);
                assertThat(c.command("RCPT TO:<dave@postern.test>").code()).isEqualTo(550);

                // An editor's way: write a new file, rename it over the old one.
                Path tmp = dir.resolve("other-list.tmp");
                Files.writeString(tmp, "carol\ndave\n");
                Files.move(tmp, other, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                assertThat(c.command("RCPT TO:<dave@postern.test>").code()).as("added while running").isEqualTo(250);

                // In place, as `echo >>` does.
                Files.writeString(other, "erin\n", java.nio.file.StandardOpenOption.APPEND);
                assertThat(c.command("RCPT TO:<erin@postern.test>").code()).isEqualTo(250);

                // A broken version is not used: the last good one stays.
                Files.writeString(other, "carol\nbad line with spaces\n");
                assertThat(c.command("RCPT TO:<dave@postern.test>").code()).isEqualTo(250);
                assertThat(c.command("RCPT TO:<frank@postern.test>").code()).isEqualTo(550);
                // Removed: the last good version stays too (a missing file must not refuse everybody).
                Files.delete(other);
                assertThat(c.command("RCPT TO:<carol@postern.test>").code()).isEqualTo(250);
            }
        }
    }

    /**
     * Each RCPT for a verified domain may cost a probe of its next hop, and a 450 is not a client error: without a
     * bound one session could go on asking for ever (distinct addresses are never cached). They count as junk.
     */
    @Test void endlessUnverifiableRecipientsEndTheSession() throws Exception {
        try (SmtpTestClient c = transaction()) {
            String last = null;
            int i = 0;
            for (; i < 300; i++) {
                last = c.command("RCPT TO:<user" + i + "@unverifiable.example>").last();
                if (!last.startsWith("450 4.1.1")) break;
            }
            assertThat(last).isEqualTo("421 4.7.0 gw.test Error: too many junk commands");
            assertThat(i).isLessThanOrEqualTo(Config.Limits.DEFAULT_JUNK_COMMANDS);
        }
    }
}
