package dev.postern.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.SmtpTestClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;

/** Sending a message with the plain test client, and finding it in a Maildir. */
final class Mail {
    private Mail() {}

    /**
     * One transaction: EHLO, optionally STARTTLS and EHLO again, MAIL (BODY=8BITMIME), RCPT, DATA with dot-stuffing.
     * Returns the reply to the end of data; every reply is checked on the way.
     */
    static SmtpTestClient.Response send(InetSocketAddress to, boolean startTls, String from, String rcpt, String body)
            throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(to)) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            if (startTls) {
                c.startTls();
                assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            }
            SmtpTestClient.Response r = c.command("MAIL FROM:<" + from + "> BODY=8BITMIME");
            assertThat(r.code()).as(r.text()).isEqualTo(250);
            r = c.command("RCPT TO:<" + rcpt + ">");
            assertThat(r.code()).as(r.text()).isEqualTo(250);
            r = c.command("DATA");
            assertThat(r.code()).as(r.text()).isEqualTo(354);
            c.send(dotStuff(body) + ".\r\n");
            r = c.read();
            assertThat(r.code()).as(r.text()).isEqualTo(250);
            c.command("QUIT");
            return r;
        }
    }

    static String dotStuff(String body) {
        StringBuilder stuffed = new StringBuilder();
        for (String line : body.split("\r\n", -1)) {
            if (!stuffed.isEmpty()) stuffed.append("\r\n");
            stuffed.append(line.startsWith(".") ? "." + line : line);
        }
        return stuffed.toString();
    }

    /** Postern's Maildir for {@code rcpt} under a gateway data directory. */
    static Path posternMaildir(Path data, String rcpt) {
        int at = rcpt.indexOf('@');
        return data.resolve("mail").resolve(rcpt.substring(at + 1)).resolve(rcpt.substring(0, at));
    }

    /** Waits up to 20 s for exactly one message in {@code maildir/new} and returns it; {@code why} explains a miss. */
    static String awaitOne(Path maildir, Supplier<String> why) throws IOException {
        Path dir = maildir.resolve("new");
        try {
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> count(dir) > 0);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("no message in " + dir + " within 20 s\n" + why.get(), e);
        }
        List<Path> files = list(dir);
        assertThat(files).as(() -> "messages in " + dir + "\n" + why.get()).hasSize(1);
        return Files.readString(files.getFirst(), StandardCharsets.UTF_8);
    }

    static long count(Path dir) throws IOException {
        return Files.isDirectory(dir) ? list(dir).size() : 0;
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
