package dev.postern.cli;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * The signals {@code postern serve} answers itself: SIGTERM and SIGINT stop the gateway in order (exit 0), SIGHUP
 * reloads its configuration. Left to the JVM, SIGTERM and SIGINT run the shutdown hooks and end the process with
 * status 143 or 130, which a service manager reports as a failure, and SIGHUP terminates it. {@code sun.misc.Signal}
 * (module {@code jdk.unsupported}, exported and still supported) is the JDK's only way to handle a signal; its
 * handlers run on a thread of the JVM's, so they only queue the event for the serving thread. A second SIGTERM or
 * SIGINT while the first is being answered (a graceful stop waits up to {@code shutdown_grace}) ends the process at
 * once with status 1, as an administrator pressing Ctrl-C twice expects.
 */
final class Signals {
    enum Event { STOP, RELOAD }

    private static final Logger log = LoggerFactory.getLogger(Signals.class);

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final AtomicBoolean stopping = new AtomicBoolean();

    private Signals() {}

    /** Installs the handlers; from now on these signals are events for {@link #next}. */
    static Signals install() {
        Signals s = new Signals();
        s.handle("TERM", Event.STOP);
        s.handle("INT", Event.STOP);
        s.handle("HUP", Event.RELOAD);
        return s;
    }

    private void handle(String name, Event event) {
        Signal.handle(new Signal(name), signal -> {
            if (event == Event.STOP && !stopping.compareAndSet(false, true)) {
                log.warn("second signal: exiting now");
                // halt, not exit: nothing (a hook, the stop under way) may make the administrator wait again
                Runtime.getRuntime().halt(1);
            }
            events.add(event);
        });
    }

    /** Waits for the next signal. */
    Event next() throws InterruptedException {
        return events.take();
    }
}
