package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.queue.Envelope;
import dev.postern.queue.Spool;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.awaitility.core.ConditionFactory;
import org.slf4j.LoggerFactory;

/**
 * Shared steps of the outbound tests: a gateway "gw.a.example" (local domain a.example) relaying b.example (and any
 * other given domains) to a static next hop, a plain SMTP submission through its MX listener, and looks into its
 * spool and Maildirs.
 */
final class Outbound {
    private Outbound() {}

    static final String HOSTNAME = "gw.a.example";

    /** Awaitility with a short poll interval. */
    static ConditionFactory eventually() {
        return await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20)).pollDelay(Duration.ZERO);
    }

    /** A gateway config routing every domain in {@code relayDomains} to 127.0.0.1:{@code port}. */
    static Config relayingTo(Path data, int port, String... relayDomains) {
        Map<String, Config.Route> routes = new java.util.HashMap<>();
        for (String d : relayDomains) routes.put(d, new Config.Route("127.0.0.1", port, false));
        return TestConfigs.withRelay(TestConfigs.gateway(data, HOSTNAME, Set.of("a.example")), Set.of(relayDomains),
                routes);
    }

    static Config withQueue(Config c, Duration lifetime, Duration delayWarning) {
        Config.Queue q = c.queue();
        return TestConfigs.withQueue(c, new Config.Queue(q.retryFirst(), q.retryMax(), lifetime, delayWarning));
    }

    /** The same config with these outbound concurrency limits and timeouts (smtp_port kept). */
    static Config withDelivery(Config c, int concurrency, int perDestination, Duration commandTimeout,
                               Duration dataTimeout) {
        Config.Delivery d = c.delivery();
        return new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                c.relayNetworks(), c.tls(), c.limits(), c.queue(), new Config.Delivery(concurrency, perDestination,
                d.connectTimeout(), commandTimeout, dataTimeout, d.smtpPort(), d.tlsProvider()), c.dns(), c.routes(), c.outboundTls(),
                c.inbound());
    }

    /** A port on 127.0.0.1 that nobody listens on (it was free a moment ago). */
    static int closedPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByAddress(new byte[] {127, 0, 0, 1}))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A port nobody listens on at any of {@code ips} (loopback addresses) right now: MX hosts on one smtp_port. */
    static int freeOnAll(List<String> ips) throws IOException {
        for (int round = 0; round < 20; round++) {
            List<ServerSocket> held = new java.util.ArrayList<>();
            try {
                int p = 0;
                for (String ip : ips) {
                    ServerSocket s = new ServerSocket();
                    held.add(s);
                    s.setReuseAddress(true);
                    s.bind(new java.net.InetSocketAddress(ip, p));
                    p = s.getLocalPort();
                }
                return p;
            } catch (java.net.BindException taken) {
                // another process has that port on one of the addresses: try another
            } finally {
                for (ServerSocket s : held) s.close();
            }
        }
        throw new IOException("no port free on all of " + ips);
    }

    /**
     * Submits a message over plain SMTP to the gateway's MX listener; {@code mailParameters} go after MAIL FROM.
     * Returns the queue id from the 250 reply.
     */
    static String submit(Gateway gw, String from, List<String> rcpts, String body, String mailParameters)
            throws IOException {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            String params = mailParameters == null || mailParameters.isEmpty() ? "" : " " + mailParameters;
            assertThat(c.command("MAIL FROM:<" + from + ">" + params).code()).isEqualTo(250);
            for (String r : rcpts) assertThat(c.command("RCPT TO:<" + r + ">").code()).as(r).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send(stuff(body) + ".\r\n");
            SmtpTestClient.Response done = c.read();
            assertThat(done.code()).isEqualTo(250);
            c.command("QUIT");
            String last = done.last();
            return last.substring(last.lastIndexOf(' ') + 1);
        }
    }

    static String submit(Gateway gw, String from, List<String> rcpts, String body) throws IOException {
        return submit(gw, from, rcpts, body, "");
    }

    /** A message body (CRLF lines) as it goes over the wire: lines starting with '.' get one more. */
    static String stuff(String body) {
        StringBuilder out = new StringBuilder();
        for (String line : body.split("\r\n", -1)) {
            if (!out.isEmpty()) out.append("\r\n");
            out.append(line.startsWith(".") ? "." + line : line);
        }
        if (!body.endsWith("\r\n")) out.append("\r\n");
        return out.toString();
    }

    static String body(String subject, String text) {
        return "From: alice@a.example\r\nTo: someone@b.example\r\nSubject: " + subject + "\r\n"
                + "Message-ID: <" + subject.replace(' ', '-') + "@a.example>\r\n\r\n" + text + "\r\n";
    }

    /** The envelope of a queued message, if it is still in the spool. */
    static Optional<Spool.Entry> entry(Gateway gw, String id) {
        try {
            return gw.spool().find(id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Envelope.Recipient recipient(Envelope env, String address) {
        return env.recipients().stream().filter(r -> r.address().equals(address)).findFirst().orElseThrow();
    }

    /** Waits until the message's envelope on disk satisfies {@code condition}, and returns it. */
    static Envelope awaitEnvelope(Gateway gw, String id, Predicate<Envelope> condition) {
        Envelope[] found = new Envelope[1];
        eventually().until(() -> {
            Optional<Spool.Entry> e = entry(gw, id);
            if (e.isPresent() && condition.test(e.get().envelope())) {
                found[0] = e.get().envelope();
                return true;
            }
            return false;
        });
        return found[0];
    }

    /** Waits until the spool is empty: every message (bounces included) is done. */
    static void awaitEmptySpool(Gateway gw) {
        eventually().until(() -> gw.spool().list().isEmpty() && gw.scheduler().size() == 0);
    }

    /** The messages in a local recipient's Maildir (new/), oldest name first. */
    static List<String> mailbox(Path data, String rcpt) {
        return dev.postern.testkit.Maildirs.mailbox(data, rcpt);
    }

    /** Waits for {@code count} messages in a local Maildir and returns them. */
    static List<String> awaitMailbox(Path data, String rcpt, int count) {
        eventually().until(() -> mailbox(data, rcpt).size() >= count);
        return mailbox(data, rcpt);
    }

    /** Collects what the scheduler logs while the returned handle is open. */
    static final class SchedulerLog implements AutoCloseable {
        private final Logger logger = (Logger) LoggerFactory.getLogger(Scheduler.class);
        private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

        SchedulerLog() {
            appender.start();
            logger.addAppender(appender);
        }

        List<String> lines() {
            synchronized (appender) { // AppenderBase.doAppend holds this lock
                return appender.list.stream().map(SchedulerLog::line).toList();
            }
        }

        /** "msg key=value ...": the message and the event's own fields as the logfmt encoder writes them. */
        static String line(ILoggingEvent e) {
            return dev.postern.testkit.LogLines.line(e);
        }

        @Override public void close() {
            logger.detachAppender(appender);
            appender.stop();
        }
    }
}
