package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Everything Postern writes under the data directory is private whatever the umask: with umask 000, users, the policy
 * overrides and their log, the generated certificates and keys, the spool, the Maildirs, the lock file and the control
 * socket are all mode 0600, and every directory 0700. The umask of a JVM cannot be changed from inside, so the
 * commands and the gateway run as child processes of a shell that set it.
 */
class FileModesTest {
    @TempDir Path dir;

    @Test @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void everythingUnderDataIsPrivateWithUmask000() throws Exception {
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, """
                hostname = "gw.modes.test"
                data_dir = "data"
                local_domains = ["modes.test"]
                relay_domains = ["far.test"]

                [[listeners]]
                address = "127.0.0.1:%d"
                role = "mx"

                [routes]
                "far.test" = "[127.0.0.1]:%d"
                """.formatted(freePort(), freePort())); // nobody listens on the route: the message stays queued
        Path data = dir.resolve("data");

        Cli.Result user = GatewayProcess.runCommandWithUmask(dir, "000", "a long enough password\n", "user", "add",
                "bob", "--password-stdin", "--cost", "4", "--config", config.toString());
        assertThat(user.exit()).as(user.toString()).isZero();
        Cli.Result override = GatewayProcess.runCommandWithUmask(dir, "000", "", "policy", "override", "far.test",
                "--level", "encrypt", "--until", "2h", "--reason", "umask test", "--config", config.toString());
        assertThat(override.exit()).as(override.toString()).isZero();

        try (GatewayProcess gw = GatewayProcess.startWithUmask(dir, dir.resolve("logs"), "gateway", "000", "serve",
                "--config", config.toString())) {
            InetSocketAddress mx = gw.awaitListening(Duration.ofSeconds(30)).get("mx");
            assertThat(mx).as("mx listener\n%s", gw.output()).isNotNull();
            send(mx, "alice@modes.test");
            send(mx, "carol@far.test");
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() ->
                    count(data.resolve("mail/modes.test/alice/new")) == 1
                            && count(data.resolve("queue/deferred")) == 1);

            TreeMap<String, String> modes = modes(data);
            // what must be there for the check to mean something
            assertThat(modes).containsKeys("", "users", "policy/overrides", "admin.log",
                    "tls/self-signed.key", "tls/self-signed.crt", "tls/self-signed-rsa.key", "postern.lock",
                    "control.sock", "queue/messages", "queue/deferred", "mail/modes.test/alice/cur");
            List<String> wrong = new ArrayList<>();
            modes.forEach((path, mode) -> {
                boolean directory = mode.startsWith("d");
                String want = directory ? "d rwx------" : mode.charAt(0) + " rw-------";
                if (!mode.equals(want)) wrong.add(path + " " + mode + " (want " + want + ")");
            });
            assertThat(wrong).as("modes under %s: %s", data, modes).isEmpty();
            assertThat(modes.keySet()).anyMatch(p -> p.startsWith("mail/modes.test/alice/new/"))
                    .anyMatch(p -> p.startsWith("queue/messages/") && p.endsWith(".eml"))
                    .anyMatch(p -> p.startsWith("queue/deferred/") && p.endsWith(".env"));
            assertThat(gw.stop()).isIn(0, 143);
        }
    }

    /** A umask that takes the owner's own bits: the owner's bits are put back, nobody else's are added. */
    @Test @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aUmaskThatTakesTheOwnersBitsStillGives0600And0700() throws Exception {
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, "data_dir = \"data\"\n");
        Cli.Result user = GatewayProcess.runCommandWithUmask(dir, "0277", "a long enough password\n", "user", "add",
                "bob", "--password-stdin", "--cost", "4", "--config", config.toString());
        assertThat(user.exit()).as(user.toString()).isZero();
        Cli.Result override = GatewayProcess.runCommandWithUmask(dir, "0277", "", "policy", "override", ".far.test",
                "--level", "encrypt", "--until", "2h", "--reason", "umask test", "--config", config.toString());
        assertThat(override.exit()).as(override.toString()).isZero();
        assertThat(modes(dir.resolve("data"))).containsExactly(java.util.Map.entry("", "d rwx------"),
                java.util.Map.entry("admin.log", "f rw-------"), java.util.Map.entry("policy", "d rwx------"),
                java.util.Map.entry("policy/overrides", "f rw-------"), java.util.Map.entry("users", "f rw-------"));
    }

    /** "d rwx------", "f rw-------", "s rw-------" (socket) by path relative to {@code root} ("" for root itself). */
    private static TreeMap<String, String> modes(Path root) throws IOException {
        TreeMap<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String type = a.isDirectory() ? "d" : a.isRegularFile() ? "f" : a.isOther() ? "s" : "l";
                out.put(root.relativize(p).toString(), type + " " + PosixFilePermissions.toString(a.permissions()));
            }
        }
        return out;
    }

    private static void send(InetSocketAddress mx, String rcpt) throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(mx)) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<sender@client.test>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: modes\r\n\r\nhello\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
            c.command("QUIT");
        }
    }

    private static long count(Path d) throws IOException {
        if (!Files.isDirectory(d)) return 0;
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
