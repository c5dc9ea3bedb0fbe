package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.testkit.TestConfigs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control socket is 0600, and behind that the gateway checks who connects (SO_PEERCRED), which also covers the
 * moment between bind(2) and the chmod: a user who can reach and open the socket is still refused.
 */
class ControlSocketTest {
    @TempDir Path dir;

    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @Test void anotherUserIsRefusedEvenWhenTheSocketIsOpenToAll() throws Exception {
        Path probe = Files.createTempFile(dir, "uid", "");
        assumeTrue((Integer) Files.getAttribute(probe, "unix:uid") == 0, "needs root to act as another user");
        assumeTrue(Files.isExecutable(SETPRIV) && Files.isExecutable(PYTHON), "needs setpriv and python3");

        Path data = dir.resolve("data");
        try (Gateway gw = Gateway.start(TestConfigs.gateway(data, "gw.control.test", Set.of("control.test")))) {
            Path socket = data.resolve("control.sock");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            assertThat(ask(socket, List.of())).startsWith("ok ");

            // as if the chmod had not happened yet, or an administrator opened everything up
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
            Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwx--x--x"));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
            assertThat(ask(socket, List.of(SETPRIV.toString(), "--reuid=65534", "--regid=65534", "--clear-groups")))
                    .isEqualTo("error not allowed");
            assertThat(ask(socket, List.of())).as("root still may").startsWith("ok ");
        }
    }

    /** Sends "flush" to the socket from a child process (run through {@code prefix}) and returns the answer line. */
    private String ask(Path socket, List<String> prefix) throws IOException, InterruptedException {
        var command = new java.util.ArrayList<>(prefix);
        command.addAll(List.of(PYTHON.toString(), "-c", """
                import socket, sys
                s = socket.socket(socket.AF_UNIX)
                s.connect(sys.argv[1])
                try:
                    s.sendall(b"flush\\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a refusal may come before the request is sent; it is still there to read
                print(s.makefile().readline().strip())
                """, socket.toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
