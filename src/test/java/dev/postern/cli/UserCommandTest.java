package dev.postern.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.auth.PasswordFile;
import dev.postern.auth.Scram;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.parallel.Resources;

@ResourceLock("java.lang.System.in")
@ResourceLock(Resources.SYSTEM_OUT)
@ResourceLock(Resources.SYSTEM_ERR)
class UserCommandTest {
    @TempDir Path data;

    private record Result(int exit, String out, String err) {}

    /** Runs the CLI in-process with {@code stdin} as standard input; bcrypt cost 4 where a password is set. */
    private Result run(String stdin, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--data", data.toString()));
        if (args.length > 1 && args[1].equals("add")) all.addAll(List.of("--cost", "4"));
        InputStream oldIn = System.in;
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setIn(new ByteArrayInputStream(stdin.getBytes(UTF_8)));
            System.setOut(new PrintStream(out, true, UTF_8));
            System.setErr(new PrintStream(err, true, UTF_8));
            int exit = Main.run(all.toArray(String[]::new));
            return new Result(exit, out.toString(UTF_8), err.toString(UTF_8));
        } finally {
            System.setIn(oldIn);
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private PasswordFile users() throws Exception { return PasswordFile.load(data.resolve("users")); }

    @Test void addListRemove() throws Exception {
        Result added = run("s3cret-Passw0rd\n", "user", "add", "alice@example.org", "--password-stdin");
        assertThat(added.exit()).as(added.err()).isZero();
        assertThat(added.out()).isEqualTo("user alice@example.org added to " + data.resolve("users") + "\n");
        assertThat(run("other\r\n", "user", "add", "bob", "--password-stdin").exit()).isZero();

        Path file = data.resolve("users");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(file)).doesNotContain("s3cret");
        assertThat(users().verify("alice@example.org", "s3cret-Passw0rd".getBytes(UTF_8))).isTrue();
        assertThat(users().verify("bob", "other".getBytes(UTF_8))).as("CRLF is not part of the password").isTrue();

        Result list = run("", "user", "list");
        assertThat(list.exit()).isZero();
        assertThat(list.out()).isEqualTo("alice@example.org\nbob\n");

        Result removed = run("", "user", "remove", "alice@example.org");
        assertThat(removed.exit()).isZero();
        assertThat(removed.out()).startsWith("user alice@example.org removed");
        assertThat(run("", "user", "list").out()).isEqualTo("bob\n");
        assertThat(run("", "user", "remove", "bob").exit()).isZero();
        assertThat(run("", "user", "list").out()).isEqualTo("No users.\n");
    }

    @Test void addAgainChangesThePassword() throws Exception {
        run("first\n", "user", "add", "alice", "--password-stdin");
        Result changed = run("second\n", "user", "add", "alice", "--password-stdin");
        assertThat(changed.exit()).isZero();
        assertThat(changed.out()).startsWith("password of alice changed in ");
        assertThat(users().users()).containsExactly("alice");
        assertThat(users().verify("alice", "first".getBytes(UTF_8))).isFalse();
        assertThat(users().verify("alice", "second".getBytes(UTF_8))).isTrue();
    }

    @Test void argon2id() throws Exception {
        assertThat(run("pw\n", "user", "add", "carol", "--password-stdin", "--argon2id").exit()).isZero();
        assertThat(Files.readString(data.resolve("users"))).contains("carol:$argon2id$v=19$m=19456,t=2,p=1$");
        assertThat(users().verify("carol", "pw".getBytes(UTF_8))).isTrue();
    }

    @Test void scramSecrets() throws Exception {
        assertThat(run("s3cret\n", "user", "add", "alice", "--password-stdin").exit()).isZero();
        assertThat(Files.readString(data.resolve("users"))).containsPattern("\nalice:\\$2b\\$04\\$[^:]{53}"
                + ":SCRAM-SHA-256\\$4096:[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}\n");
        Scram.Secrets s = users().scramSecrets("alice");
        assertThat(Scram.secrets("s3cret".toCharArray(), s.salt(), 4096)).as("from the same password").isEqualTo(s);

        Result more = run("s3cret\n", "user", "add", "alice", "--password-stdin", "--scram-iterations", "8192");
        assertThat(more.exit()).as(more.err()).isZero();
        assertThat(users().scramSecrets("alice").iterations()).isEqualTo(8192);

        assertThat(run("pw\n", "user", "add", "bob", "--password-stdin", "--argon2id").exit()).isZero();
        assertThat(users().hasScram("bob")).as("with Argon2id too").isTrue();

        assertThat(run("pw\n", "user", "add", "alice", "--password-stdin", "--no-scram").exit()).isZero();
        assertThat(users().hasScram("alice")).isFalse();
        assertThat(Files.readString(data.resolve("users"))).containsPattern(
                "\nalice:\\$2b\\$04\\$[^:]{53}\n");

        Result few = run("pw\n", "user", "add", "carol", "--password-stdin", "--scram-iterations", "1000");
        assertThat(few.exit()).isEqualTo(2);
        assertThat(few.err()).isEqualTo("postern: --scram-iterations: expected 4096 to 10000000, got 1000\n");

        Result bell = run("ring\u0007\n", "user", "add", "carol", "--password-stdin");
        assertThat(bell.exit()).isZero();
        assertThat(bell.err()).startsWith("postern: warning: no SCRAM-SHA-256 for carol (password contains a character"
                + " SASLprep prohibits (U+0007)); PLAIN and LOGIN only");
        assertThat(users().hasScram("carol")).isFalse();
        assertThat(users().verify("carol", "ring\u0007".getBytes(UTF_8))).isTrue();
    }

    @Test void badNames() {
        for (String name : new String[] {"a b", "a:b", "x".repeat(65), "jörg", "#x"}) {
            Result r = run("pw\n", "user", "add", name, "--password-stdin");
            assertThat(r.exit()).as(name).isEqualTo(2);
            assertThat(r.err()).isEqualTo("postern: expected a user name of 1-64 characters A-Z a-z 0-9 . _ @ + -, "
                    + "got \"" + name + "\"\n");
        }
        assertThat(run("", "user", "remove", "a b").exit()).isEqualTo(2);
        assertThat(Files.exists(data.resolve("users"))).isFalse();
    }

    @Test void badPasswords() {
        Result empty = run("\n", "user", "add", "alice", "--password-stdin");
        assertThat(empty.exit()).isEqualTo(2);
        assertThat(empty.err()).isEqualTo("postern: empty password\n");
        Result nothing = run("", "user", "add", "alice", "--password-stdin");
        assertThat(nothing.exit()).isEqualTo(2);
        Result tooLong = run("y".repeat(73) + "\n", "user", "add", "alice", "--password-stdin");
        assertThat(tooLong.exit()).isEqualTo(2);
        assertThat(tooLong.err()).startsWith("postern: password longer than 72 bytes").doesNotContain("yyy");
        Result cost = run("pw\n", "user", "add", "alice", "--password-stdin", "--cost", "3");
        assertThat(cost.exit()).isEqualTo(2);
        assertThat(Files.exists(data.resolve("users"))).isFalse();
    }

    @Test void noTerminalAndNoStdinFlag() {
        Result r = run("pw\n", "user", "add", "alice");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("postern: no terminal to ask for the password; use --password-stdin\n");
    }

    @Test void removeUnknownUser() {
        Result r = run("", "user", "remove", "nobody");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("postern: no user nobody in " + data.resolve("users") + "\n");
    }

    @Test void brokenFileIsReportedNotOverwritten() throws Exception {
        Files.writeString(data.resolve("users"), "garbage\n");
        Result r = run("pw\n", "user", "add", "alice", "--password-stdin");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("postern: " + data.resolve("users") + ":1: expected name:hash[:scram]\n");
        assertThat(Files.readString(data.resolve("users"))).isEqualTo("garbage\n");
        assertThat(run("", "user", "list").exit()).isEqualTo(1);
    }
}
