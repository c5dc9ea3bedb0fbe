package dev.postern.interop;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds the real peers the interop tests talk to (Postfix, swaks, openssl from Debian). A missing peer skips the test
 * on a developer machine, but fails it when the environment variable {@code CI} is set: CI installs the peers
 * ({@code .ci/run}), so a missing one there is a broken pipeline, not a reason to go green.
 */
final class Peers {
    private Peers() {}

    static Path swaks() {
        return need("swaks", "/usr/bin/swaks");
    }

    static Path testssl() {
        return need("testssl", "/usr/bin/testssl");
    }

    static Path openssl() {
        return need("openssl", "/usr/bin/openssl");
    }

    /** The postfix command; a private instance needs root (the postfix command is reserved for the superuser). */
    static Path postfix() {
        Path p = need("postfix", "/usr/sbin/postfix");
        if (!"root".equals(System.getProperty("user.name"))) {
            unavailable("a private Postfix instance needs root: 'postfix' is reserved for the superuser");
        }
        return p;
    }

    private static Path need(String name, String usual) {
        Path p = Path.of(usual);
        if (Files.isExecutable(p)) return p;
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) return candidate;
            }
        }
        unavailable(name + " is not installed (apt-get install " + name + ")");
        throw new AssertionError("unreachable");
    }

    private static void unavailable(String why) {
        if (System.getenv("CI") != null) {
            fail(why + "; CI is set, so this is a failure, not a skip (.ci/run installs the peers)");
        }
        Assumptions.abort(why);
    }

    /** A loopback port that was free a moment ago (for a peer that cannot be told to use port 0). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }
}
