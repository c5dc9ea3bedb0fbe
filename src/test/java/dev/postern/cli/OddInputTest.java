package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Odd arguments to the audit commands: one clear line on stderr, exit 1 or 2, never a stack trace. */
class OddInputTest {
    @TempDir Path dir;

    private Cli.Result run(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--data";
        all[args.length + 1] = dir.resolve("data").toString();
        return Cli.run(all);
    }

    private static void oneLine(Cli.Result r) {
        assertThat(r.exit()).as(r.toString()).isIn(1, 2);
        assertThat(r.errLines()).as(r.toString()).hasSize(1);
        assertThat(r.err()).as(r.toString()).doesNotContain("Exception", "\tat ");
    }

    @Test void oddArgumentsAreOneLineEach() throws Exception {
        oneLine(run("trace", ""));
        oneLine(run("trace", "--recipient", "b@bank.example", "--since", "99999999d"));
        oneLine(run("trace", "--recipient", "b@bank.example", "--since", "999999999999999999999d"));
        // 270,000 years back is a time like any other (the report covers everything); a value past what a time can
        // hold is one line (above)
        assertThat(run("report", "tls", "--since", "99999999d").exit()).isZero();
        oneLine(run("report", "tls", "--domain", "x;drop"));
        oneLine(run("certs", "seen", "--expiring", "-5d"));
        assertThat(run("certs", "seen", "--expiring", "999999w").exit()).isZero(); // far, but a time
        byte[] junk = new byte[4096];
        new Random(1).nextBytes(junk);
        Path bin = Files.write(dir.resolve("junk.bin"), junk);
        oneLine(run("receipt", "verify", bin.toString()));
        Path huge = dir.resolve("huge.jws");
        Files.write(huge, new byte[64 << 20]);
        oneLine(run("receipt", "verify", huge.toString()));
        oneLine(run("receipt", "verify", dir.resolve("missing").toString()));
    }
}
