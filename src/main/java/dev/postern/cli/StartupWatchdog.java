package dev.postern.cli;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.postern.files.DurableFiles;
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a full thread dump when a gateway's start-up takes longer than a bound (issue 11: one start in 173 hung after
 * spool recovery with no listener, and nothing showed where). The dump goes to the log (platform threads, every frame,
 * the locks each holds and waits for, and any deadlock the JVM finds) and, with virtual threads too, to a file in the
 * data directory. A platform thread of its own, so a start-up stuck on virtual-thread carriers cannot hold it up.
 */
final class StartupWatchdog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StartupWatchdog.class);
    static final Duration BOUND = Duration.ofSeconds(30);

    private final Thread thread;
    private volatile boolean done;

    /** @param dumpDir where the file with every thread (virtual ones too) goes; null: log only */
    StartupWatchdog(Duration bound, Path dumpDir) {
        Thread starter = Thread.currentThread();
        this.thread = Thread.ofPlatform().daemon().name("startup-watchdog").start(() -> {
            try {
                Thread.sleep(bound);
            } catch (InterruptedException e) {
                return; // start-up finished
            }
            if (!done) report(bound, starter, dumpDir);
        });
    }

    private void report(Duration bound, Thread starter, Path dumpDir) {
        StringBuilder dump = new StringBuilder();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long[] deadlocked = threads.findDeadlockedThreads();
        if (deadlocked != null) {
            dump.append("DEADLOCK between ").append(deadlocked.length).append(" threads:\n");
            for (ThreadInfo t : threads.getThreadInfo(deadlocked, true, true)) append(dump, t);
        }
        for (ThreadInfo t : threads.dumpAllThreads(true, true)) append(dump, t);
        String file = "";
        if (dumpDir != null) {
            Path out = dumpDir.resolve("startup-threads-" + Instant.now().toEpochMilli() + ".txt").toAbsolutePath();
            try {
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                        .dumpThreads(out.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
                // The JDK creates it with the umask and refuses an existing file, so no DurableFiles here: made
                // private right after (inside the 0700 data directory, nobody else can open it meanwhile).
                if (out.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                    Files.setPosixFilePermissions(out, DurableFiles.PRIVATE_FILE);
                }
                file = "; all threads, virtual ones too, in " + out;
            } catch (Exception | LinkageError e) {
                file = "; no dump file: " + e;
            }
        }
        log.error("start-up has taken more than {} ms and is still in thread \"{}\"{}; thread dump:\n{}",
                bound.toMillis(), starter.getName(), file, dump);
    }

    /** ThreadInfo.toString() stops after eight frames; this prints them all. */
    private static void append(StringBuilder b, ThreadInfo t) {
        b.append('"').append(t.getThreadName()).append("\" #").append(t.getThreadId())
                .append(t.isDaemon() ? " daemon" : "").append(' ').append(t.getThreadState());
        LockInfo waitingOn = t.getLockInfo();
        if (waitingOn != null) b.append(" on ").append(waitingOn);
        if (t.getLockOwnerName() != null) {
            b.append(" owned by \"").append(t.getLockOwnerName()).append("\" #").append(t.getLockOwnerId());
        }
        b.append('\n');
        StackTraceElement[] frames = t.getStackTrace();
        for (int i = 0; i < frames.length; i++) {
            b.append("\tat ").append(frames[i]).append('\n');
            for (MonitorInfo m : t.getLockedMonitors()) {
                if (m.getLockedStackDepth() == i) b.append("\t- locked ").append(m).append('\n');
            }
        }
        for (LockInfo l : t.getLockedSynchronizers()) b.append("\t- holds ").append(l).append('\n');
        b.append('\n');
    }

    /** Start-up is over (done or failed): no dump. */
    @Override public void close() {
        done = true;
        thread.interrupt();
    }
}
