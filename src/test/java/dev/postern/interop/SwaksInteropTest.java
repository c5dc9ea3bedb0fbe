package dev.postern.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.testkit.TestConfigs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * swaks (and, for BDAT, openssl s_client) as real clients of an in-process Postern: STARTTLS, relay denial,
 * PIPELINING, CHUNKING, the submission listener's TLS requirement, and implicit TLS on the submissions listener.
 *
 * <p>swaks 20201014 (Debian bookworm's) has no BDAT/CHUNKING option ({@code swaks --help} knows only DATA), so the
 * BDAT test drives {@code openssl s_client -starttls smtp -quiet} through its stdin and stdout.
 */
class SwaksInteropTest {
    static final String HOST = "gw.postern.test";

    @TempDir static Path data;
    static Gateway gateway;
    static InetSocketAddress mx;
    static InetSocketAddress submission;
    static InetSocketAddress submissions;

    @BeforeAll static void start() throws Exception {
        Peers.swaks();
        gateway = Gateway.start(TestConfigs.gateway(data, HOST, Set.of("postern.test")));
        List<InetSocketAddress> bound = gateway.boundAddresses();
        mx = bound.get(0);
        submission = bound.get(1);
        submissions = bound.get(2);
    }

    @AfterAll static void stop() {
        if (gateway != null) gateway.close();
    }

    /** swaks with the options every test uses: our listener, fixed names (no hostname or DNS lookups), a timeout. */
    private static Run.Result swaks(InetSocketAddress server, String to, String... more) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Peers.swaks().toString(), "--server",
                "127.0.0.1:" + server.getPort(), "--helo", "client.test", "--from", "sender@client.test", "--to", to,
                "--timeout", "15", "--header", "Subject: swaks to Postern"));
        cmd.addAll(List.of(more));
        return Run.run(Run.TIMEOUT, cmd);
    }

    private static String delivered(String rcpt, Run.Result r) throws IOException {
        return Mail.awaitOne(Mail.posternMaildir(data, rcpt), r::toString);
    }

    @Test void startTlsOnTheMxListener() throws Exception {
        Run.Result r = swaks(mx, "swaks-tls@postern.test", "--tls");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.output()).as(r.toString()).contains(" -> STARTTLS", "<-  220 ")
                .containsPattern("=== TLS started with cipher TLSv1\\.[23]")
                .containsPattern("<~  250 2\\.0\\.0 .*queued");
        String stored = delivered("swaks-tls@postern.test", r);
        assertThat(stored).as(stored).containsPattern("^Delivered-To: swaks-tls@postern\\.test\r\nReceived: from "
                + "client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\r\n\t\\(using TLSv1\\.[23] with cipher \\S+ \\(\\d+/\\d+ bits\\)\\)"
                + "\r\n\tby gw\\.postern\\.test \\(Postern\\) with ESMTPS id ")
                .contains("Subject: swaks to Postern\r\n", "X-Mailer: swaks");
    }

    @Test void mxListenerIsNoOpenRelay() throws Exception {
        Run.Result r = swaks(mx, "victim@elsewhere.example", "--tls");
        assertThat(r.output()).as(r.toString()).containsPattern("<~\\* 554 5\\.7\\.1 Relay access denied");
        assertThat(r.exit()).as("swaks exit 24: no recipient accepted\n" + r).isEqualTo(24);
        assertThat(r.output()).as(r.toString()).doesNotContain(" ~> DATA");
    }

    @Test void pipelining() throws Exception {
        Run.Result r = swaks(mx, "pipelined@postern.test", "--pipeline", "--tls");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.output()).as(r.toString()).contains("250-PIPELINING").containsPattern("<~  250 2\\.0\\.0 .*queued");
        // In pipelining mode swaks sends MAIL, RCPT and DATA together and only then reads the three replies.
        assertThat(r.output()).as(r.toString()).containsPattern(
                " ~> MAIL FROM:<sender@client\\.test>\\R ~> RCPT TO:<pipelined@postern\\.test>\\R ~> DATA\\R<~  250 ");
        assertThat(delivered("pipelined@postern.test", r)).contains("X-Mailer: swaks");
    }

    /** swaks cannot BDAT; openssl s_client does the STARTTLS and passes our bytes through. */
    @Test void chunkingWithBdatOverStartTls() throws Exception {
        String body = "From: sender@client.test\r\nTo: chunky@postern.test\r\nSubject: BDAT\r\n\r\n"
                + ".a dot line, not stuffed in BDAT\r\n..two dots stay two\r\nsplit across chunks: CR|LF\r\nend\r\n";
        int split = body.indexOf("CR|LF\r\n") + "CR|LF\r".length(); // first chunk ends between CR and LF
        byte[] first = body.substring(0, split).getBytes(StandardCharsets.US_ASCII);
        byte[] second = body.substring(split).getBytes(StandardCharsets.US_ASCII);
        try (Interactive s = Interactive.start(List.of(Peers.openssl().toString(), "s_client", "-connect",
                "127.0.0.1:" + mx.getPort(), "-starttls", "smtp", "-name", "client.test", "-quiet"), data)) {
            // s_client has read the greeting, sent its EHLO and STARTTLS, and shaken hands; the session is ours.
            List<String> ehlo = s.command("EHLO client.test");
            assertThat(ehlo).as(s.transcript()).contains("250-CHUNKING").last().asString().startsWith("250 ");
            assertThat(s.command("MAIL FROM:<sender@client.test>").getLast()).as(s.transcript()).startsWith("250 ");
            assertThat(s.command("RCPT TO:<chunky@postern.test>").getLast()).as(s.transcript()).startsWith("250 ");
            s.send(("BDAT " + first.length + "\r\n").getBytes(StandardCharsets.US_ASCII), first);
            assertThat(s.reply().getLast()).as(s.transcript()).startsWith("250 ");
            s.send(("BDAT " + second.length + " LAST\r\n").getBytes(StandardCharsets.US_ASCII), second);
            assertThat(s.reply().getLast()).as(s.transcript()).startsWith("250 2.0.0");
            assertThat(s.command("QUIT").getLast()).as(s.transcript()).startsWith("221 ");
            String stored = Mail.awaitOne(Mail.posternMaildir(data, "chunky@postern.test"), s::transcript);
            assertThat(stored).as(stored).endsWith(body).contains("\r\n\tby gw.postern.test (Postern) with ESMTPS id ")
                    .containsPattern("\\(using TLSv1\\.[23] with cipher ");
        }
    }

    @Test void submissionWithoutTlsIsRefused() throws Exception {
        Run.Result r = swaks(submission, "anyone@postern.test");
        assertThat(r.output()).as(r.toString()).containsPattern("<\\*\\* 530 5\\.7\\.0 ");
        assertThat(r.exit()).as("swaks exit 23: MAIL FROM refused\n" + r).isEqualTo(23);
        assertThat(Mail.count(Mail.posternMaildir(data, "anyone@postern.test").resolve("new"))).isZero();
    }

    @Test void implicitTlsOnTheSubmissionsListener() throws Exception {
        Run.Result r = swaks(submissions, "implicit@postern.test", "--tls-on-connect");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.output()).as(r.toString()).containsPattern("=== TLS started with cipher TLSv1\\.[23]")
                .containsPattern("<~  220 gw\\.postern\\.test ESMTP").doesNotContain("STARTTLS\n ~>");
        String stored = delivered("implicit@postern.test", r);
        assertThat(stored).as(stored).containsPattern("\\(using TLSv1\\.[23] with cipher ")
                .contains("\tby gw.postern.test (Postern) with ESMTPS id ");
    }

    /** A command-line client driven through its stdin and stdout, killed after 30 s whatever happens. */
    static final class Interactive implements AutoCloseable {
        private final Process process;
        private final BufferedReader out;
        private final OutputStream in;
        private final Path stderr;
        private final StringBuilder transcript = new StringBuilder();

        private Interactive(Process process, Path stderr) {
            this.process = process;
            this.stderr = stderr;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = process.getOutputStream();
        }

        static Interactive start(List<String> command, Path dir) throws IOException {
            Path err = Files.createTempFile(dir, "stderr-", ".txt");
            Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
            Thread.ofVirtual().start(() -> {
                try {
                    if (!p.waitFor(Run.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) Run.kill(p.toHandle());
                } catch (InterruptedException ignored) {
                    Run.kill(p.toHandle());
                }
            });
            Interactive i = new Interactive(p, err);
            i.transcript.append("$ ").append(String.join(" ", command)).append('\n');
            return i;
        }

        void send(byte[]... parts) throws IOException {
            for (byte[] part : parts) {
                in.write(part);
                String shown = new String(part, StandardCharsets.UTF_8).replace("\r\n", "\\r\\n\n");
                transcript.append("C: ").append(shown).append(shown.endsWith("\n") ? "" : "\n");
            }
            in.flush();
        }

        List<String> command(String line) throws IOException {
            send((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            return reply();
        }

        /** One SMTP reply, all its lines; fails with the transcript if the client ends first. */
        List<String> reply() throws IOException {
            List<String> lines = new ArrayList<>();
            while (true) {
                String line = out.readLine();
                if (line == null) throw new AssertionError("client ended before a full reply\n" + transcript());
                transcript.append("S: ").append(line).append('\n');
                lines.add(line);
                if (line.length() < 4 || line.charAt(3) == ' ') return lines;
            }
        }

        String transcript() {
            String err;
            try {
                err = Files.readString(stderr, StandardCharsets.UTF_8);
            } catch (IOException e) {
                err = e.toString();
            }
            return transcript + "--- stderr\n" + err;
        }

        @Override public void close() throws IOException {
            in.close();
            try {
                if (!process.waitFor(Duration.ofSeconds(10).toMillis(), TimeUnit.MILLISECONDS)) {
                    Run.kill(process.toHandle());
                }
            } catch (InterruptedException e) {
                Run.kill(process.toHandle());
                Thread.currentThread().interrupt();
            }
        }
    }
}
