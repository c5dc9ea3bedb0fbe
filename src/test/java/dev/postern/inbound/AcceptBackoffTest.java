package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.auth.AuthLimiter;
import dev.postern.auth.PasswordFile;
import dev.postern.queue.Spool;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ServerSocketFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 11 item 17: accept() failing (EMFILE once the process is out of file descriptors) must neither spin nor flood
 * the log, and clients are served again as soon as accept() works. The failure is injected through the listening
 * socket (a real one, bound on loopback, whose accept() fails while the test says so): exhausting descriptors for real
 * would starve the test JVM as well.
 */
class AcceptBackoffTest {
    @TempDir Path data;

    /** Listening sockets whose accept() fails with EMFILE's message while {@code failing} is set. */
    private static final class FailingSockets extends ServerSocketFactory {
        final AtomicBoolean failing = new AtomicBoolean();
        final AtomicInteger failures = new AtomicInteger();

        @Override public ServerSocket createServerSocket() throws IOException {
            return new ServerSocket() {
                @Override public Socket accept() throws IOException {
                    if (failing.get()) {
                        failures.incrementAndGet();
                        throw new IOException("Too many open files");
                    }
                    return super.accept();
                }
            };
        }

        @Override public ServerSocket createServerSocket(int port) { throw new UnsupportedOperationException(); }
        @Override public ServerSocket createServerSocket(int port, int backlog) {
            throw new UnsupportedOperationException();
        }
        @Override public ServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress) {
            throw new UnsupportedOperationException();
        }
    }

    @Test void failingAcceptBacksOffLogsInSummaryAndRecovers() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(InboundServer.class);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        FailingSockets sockets = new FailingSockets();
        var config = TestConfigs.gateway(data, "gw.test", Set.of("postern.test"));
        try (Spool spool = Spool.open(data.resolve("queue"));
             InboundServer server = new InboundServer(config, () -> null, spool,
                     new Authentication(new PasswordFile.Watcher(data.resolve("users")),
                             new AuthLimiter(Clock.systemUTC())), e -> { }, RecipientPolicy.CATCH_ALL, sockets)) {
            sockets.failing.set(true);
            server.start();
            var mx = server.boundAddresses().getFirst();
            // A client waits in the listen queue while accept() fails for two seconds.
            Socket waiting = new Socket();
            waiting.connect(mx, 5000);
            Thread.sleep(2000);
            int failures = sockets.failures.get();
            // Three listeners, each waiting 10 ms doubling to 1 s: about eight attempts each, not millions.
            assertThat(failures).isBetween(3, 3 * 12);
            List<String> warnings;
            synchronized (logged) {
                warnings = logged.list.stream().map(ILoggingEvent::getFormattedMessage)
                        .filter(m -> m.startsWith("accept failed")).toList();
            }
            assertThat(warnings).hasSizeBetween(3, 3 * 4); // at most one line a second per listener
            assertThat(warnings.getFirst()).contains("Too many open files");

            sockets.failing.set(false);
            long t0 = System.nanoTime();
            try (waiting; SmtpTestClient later = SmtpTestClient.connect(mx)) {
                waiting.setSoTimeout(5000);
                byte[] code = waiting.getInputStream().readNBytes(3);
                assertThat(new String(code, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("220");
                assertThat(later.read().code()).isEqualTo(220);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(2500));
        } finally {
            logger.detachAppender(logged);
        }
    }
}
