package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code import postfix-tls-policy} given something that is no policy table: a file of gigabytes (a disk image, a
 * log named by mistake) or an endless device. One line and exit 2, never an OutOfMemoryError's stack trace.
 */
class PostfixTlsPolicyHugeTest {
    @TempDir Path dir;

    @Test @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aHugeFileOrAnEndlessDeviceIsRefusedInOneLine() throws Exception {
        Path huge = dir.resolve("tls_policy");
        try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(3L << 30); // sparse: no disk used
        }
        for (Path p : new Path[] {huge, Path.of("/dev/zero")}) {
            Cli.Result r = Cli.run("import", "postfix-tls-policy", p.toString());
            assertThat(r.exit()).as("%s", r).isEqualTo(2);
            assertThat(r.errLines()).as("%s", r).hasSize(1);
            assertThat(r.err()).contains(p.toString()).contains("MiB");
        }
        // As the command runs for an administrator: its own JVM, with the heap scripts/jvm.options gives it.
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "import", "postfix-tls-policy", "/dev/zero").redirectOutput(dir.resolve("out").toFile())
                .redirectError(dir.resolve("err").toFile()).start();
        assertThat(p.waitFor(25, TimeUnit.SECONDS)).isTrue();
        String err = Files.readString(dir.resolve("err"));
        assertThat(p.exitValue()).as(err).isEqualTo(2);
        assertThat(err.lines().toList()).as(err).hasSize(1);
    }
}
