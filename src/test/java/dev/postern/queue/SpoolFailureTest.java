package dev.postern.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.cli.Gateway;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 17: a spool that cannot take a message is answered in the session (451 before any 354; 451/452 after
 * the data, read to its end so the session stays in step), and a failed envelope update leaves no temporary behind.
 * In this package for the spool's fault hooks; the sessions are real, over loopback.
 */
class SpoolFailureTest {
    @TempDir Path data;

    /** Content writes past {@code limit} bytes fail as they do on a full disk. */
    private static final class FullDisk extends FilterOutputStream {
        private final long limit;
        private long written;

        FullDisk(OutputStream out, long limit) {
            super(out);
            this.limit = limit;
        }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            if (written + len > limit) throw new IOException("No space left on device");
            written += len;
            out.write(b, off, len);
        }

        @Override public void write(int b) throws IOException { write(new byte[] {(byte) b}, 0, 1); }
    }

    private Gateway start() throws Exception {
        return Gateway.start(TestConfigs.gateway(data, "gw.test", Set.of("postern.test")));
    }

    private SmtpTestClient transaction(Gateway g) throws IOException {
        SmtpTestClient c = SmtpTestClient.connect(g.boundAddresses().getFirst());
        assertThat(c.read().code()).isEqualTo(220);
        assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
        startMail(c);
        return c;
    }

    private static void startMail(SmtpTestClient c) throws IOException {
        assertThat(c.command("MAIL FROM:<a@client.test>").code()).isEqualTo(250);
        assertThat(c.command("RCPT TO:<user@postern.test>").code()).isEqualTo(250);
    }

    private static String message(int bytes) {
        StringBuilder b = new StringBuilder("Subject: big\r\n\r\n");
        String line = "x".repeat(78) + "\r\n";
        while (b.length() < bytes) b.append(line);
        return b.toString();
    }

    /** Local delivery into the temporary directory must be over before the gateway and the directory go. */
    private static void awaitDelivered(Gateway g) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> g.spool().list().isEmpty());
    }

    private List<Path> incomingFiles() throws IOException {
        Path incoming = data.resolve("queue/incoming");
        if (!Files.isDirectory(incoming)) return List.of();
        try (Stream<Path> s = Files.list(incoming)) {
            return s.toList();
        }
    }

    @Test void aSpoolThatCannotOpenTheMessageGets451AndNo354() throws Exception {
        try (Gateway g = start(); SmtpTestClient c = transaction(g)) {
            // incoming/ replaced by a plain file: creating the message's file fails (even for root)
            Path incoming = data.resolve("queue/incoming");
            Files.delete(incoming);
            Files.createFile(incoming);
            assertThat(c.command("DATA").last()).startsWith("451 4.3.0");
            // No 354 was sent, so nothing the client sends next is taken for message data.
            assertThat(c.command("NOOP").code()).isEqualTo(250);
            startMail(c);
            c.send("BDAT 7 LAST\r\nhello\r\n");
            assertThat(c.read().last()).startsWith("451 4.3.0");
            assertThat(c.command("NOOP").code()).isEqualTo(250);

            Files.delete(incoming);
            Files.createDirectory(incoming);
            startMail(c);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            assertThat(c.command("Subject: ok\r\n\r\nbody\r\n.").last()).startsWith("250 2.0.0");
            awaitDelivered(g);
        }
    }

    @Test void aDiskThatFillsDuringALargeMessageGetsAReplyAndTheSessionGoesOn() throws Exception {
        try (Gateway g = start(); SmtpTestClient c = transaction(g)) {
            g.spool().contentStream = out -> new FullDisk(out, 100_000);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            // 300 KB: well past the spool's 64 KiB buffer, so the failure comes in the middle of the data
            String reply = c.command(message(300_000) + ".").last();
            assertThat(reply).matches("(451 4\\.3\\.0|452 4\\.3\\.1) .*");
            assertThat(incomingFiles()).isEmpty();
            assertThat(g.spool().list()).isEmpty();

            // The same with BDAT: the failing chunk is answered, later ones are read and refused, LAST ends it.
            startMail(c);
            String chunk = message(100_000);
            List<String> replies = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                c.send("BDAT " + chunk.length() + (i == 2 ? " LAST" : "") + "\r\n" + chunk);
                replies.add(c.read().last());
            }
            assertThat(replies).anySatisfy(r -> assertThat(r).matches("(451 4\\.3\\.0|452 4\\.3\\.1) .*"));
            assertThat(replies).noneSatisfy(r -> assertThat(r).startsWith("250 2.0.0 Ok: queued"));
            assertThat(incomingFiles()).isEmpty();

            g.spool().contentStream = out -> out;
            startMail(c);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            assertThat(c.command(message(300_000) + ".").last()).startsWith("250 2.0.0");
            awaitDelivered(g);
        }
    }

    @Test void aFailedEnvelopeUpdateLeavesNoTemporaryBehind() throws Exception {
        try (Spool spool = Spool.open(data.resolve("queue"))) {
            spool.recover();
            Spool.Incoming in = spool.receive();
            in.body().write("Subject: x\r\n\r\nbody\r\n".getBytes());
            Instant now = Instant.now();
            Envelope env = new Envelope(in.id(), "a@client.test", List.of(Envelope.Recipient.pending("u@x.example")),
                    now, "client", "7BIT", false, 20, now, false, 0);
            in.commit(env);
            spool.envelopeWriter = (file, bytes) -> {
                Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2)); // half written, then ENOSPC
                throw new IOException("No space left on device");
            };
            assertThatThrownBy(() -> spool.update(env, QueueState.DEFERRED)).hasMessageContaining("No space left");
            assertThat(incomingFiles()).isEmpty();
            assertThat(spool.find(env.id())).get().extracting(Spool.Entry::state).isEqualTo(QueueState.ACTIVE);
        }
    }
}
