package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** A start-up that takes too long gets a thread dump showing where it is stuck; a quick one gets nothing. */
class StartupWatchdogTest {
    @TempDir Path dir;
    private final Logger logger = (Logger) LoggerFactory.getLogger(StartupWatchdog.class);
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach void capture() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach void release() {
        logger.detachAppender(logged);
    }

    private List<String> messages() {
        synchronized (logged) {
            return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }

    /** Stands for a start-up step waiting on a lock another thread keeps. */
    private static void stuckStartupStep(ReentrantLock lock) {
        lock.lock();
        lock.unlock();
    }

    @Test void aSlowStartUpIsReportedWithEveryThreadAndTheLockItWaitsFor() throws Exception {
        ReentrantLock lock = new ReentrantLock();
        Thread holder = Thread.ofPlatform().name("lock-holder").start(() -> {
            lock.lock();
            try {
                Thread.sleep(3000); // well past the bound, even on a busy machine
            } catch (InterruptedException ignored) {
                // done
            } finally {
                lock.unlock();
            }
        });
        await().until(lock::isLocked);
        try (StartupWatchdog w = new StartupWatchdog(Duration.ofMillis(300), dir)) {
            stuckStartupStep(lock);
            await().atMost(Duration.ofSeconds(5)).until(() -> !messages().isEmpty());
        }
        holder.join();
        String report = messages().getFirst();
        assertThat(report).startsWith("start-up has taken more than 300 ms and is still in thread \""
                + Thread.currentThread().getName() + "\"");
        assertThat(report).contains("stuckStartupStep").contains("\"lock-holder\"")
                .contains("owned by \"lock-holder\"");
        try (Stream<Path> files = Files.list(dir)) {
            Path dump = files.filter(p -> p.getFileName().toString().startsWith("startup-threads-")).findFirst()
                    .orElseThrow();
            assertThat(Files.readString(dump)).contains("stuckStartupStep");
            // A file under the data directory like every other (issue 11 item 19), whatever the umask.
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dump)))
                    .isEqualTo("rw-------");
        }
    }

    @Test void aQuickStartUpLogsNothing() throws Exception {
        try (StartupWatchdog w = new StartupWatchdog(Duration.ofMillis(200), dir)) {
            Thread.sleep(50);
        }
        Thread.sleep(400);
        assertThat(messages()).isEmpty();
    }
}
