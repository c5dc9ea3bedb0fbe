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
        assertThat(Files.exists(huge)).isTrue();
    }
}
