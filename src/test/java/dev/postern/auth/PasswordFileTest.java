package dev.postern.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PasswordFileTest {
    @TempDir Path dir;

    /** Cost 4: the lowest bcrypt allows, so the suite stays fast. */
    private static String hash(String password) { return PasswordHash.bcrypt(password.toCharArray(), 4); }

    private static byte[] bytes(String s) { return s.getBytes(UTF_8); }

    @Test void bcryptRoundTrip() {
        String h = hash("correct horse");
        assertThat(h).startsWith("$2b$04$").hasSize(60);
        assertThat(PasswordHash.verify(h, bytes("correct horse"))).isTrue();
        assertThat(PasswordHash.verify(h, bytes("correct horsE"))).isFalse();
        assertThat(PasswordHash.verify(h, bytes(""))).isFalse();
    }

    @Test void bcryptHashesAreSalted() {
        assertThat(hash("same")).isNotEqualTo(hash("same"));
    }

    @Test void utf8Passwords() {
        String h = hash("pässwörd");
        assertThat(PasswordHash.verify(h, bytes("pässwörd"))).isTrue();
        assertThat(PasswordHash.verify(h, "pässwörd".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1))).isFalse();
    }

    @Test void argon2idRoundTrip() {
        String h = PasswordHash.argon2id("secret".toCharArray(), 64, 1, 1);
        assertThat(h).matches("\\$argon2id\\$v=19\\$m=64,t=1,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}");
        assertThat(PasswordHash.isWellFormed(h)).isTrue();
        assertThat(PasswordHash.verify(h, bytes("secret"))).isTrue();
        assertThat(PasswordHash.verify(h, bytes("Secret"))).isFalse();
    }

    @Test void argon2idAgreesWithTheReferenceImplementation() {
        // argon2-cffi's documented example (the C reference implementation underneath): 64 MiB, t=3, p=4.
        String reference = "$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$"
                + "YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg";
        assertThat(PasswordHash.verify(reference, bytes("correct horse battery staple"))).isTrue();
        assertThat(PasswordHash.verify(reference, bytes("Tr0ub4dor&3"))).isFalse();
    }

    @Test void refusesPasswordsBcryptWouldCut() {
        assertThatThrownBy(() -> PasswordHash.bcrypt("x".repeat(73).toCharArray(), 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("72 bytes");
        assertThat(PasswordHash.verify(hash("x".repeat(72)), bytes("x".repeat(72) + "more"))).isFalse();
        assertThatThrownBy(() -> PasswordHash.bcrypt(new char[0], 4)).hasMessage("empty password");
        assertThatThrownBy(() -> PasswordHash.bcrypt("a\0b".toCharArray(), 4)).hasMessageContaining("NUL");
        assertThatThrownBy(() -> PasswordHash.bcrypt("ok".toCharArray(), 3)).hasMessageContaining("cost");
    }

    @Test void malformedHashesNeverVerify() {
        for (String h : new String[] {"", "plain", "$2b$04$short", "$2b$03$" + "a".repeat(53), "$1$abc$def",
                "$argon2id$v=19$m=999999999,t=1,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"}) {
            assertThat(PasswordHash.isWellFormed(h)).as(h).isFalse();
            assertThat(PasswordHash.verify(h, bytes("x"))).as(h).isFalse();
        }
    }

    @Test void verifyKnownAndUnknownUsers() {
        PasswordFile f = PasswordFile.empty().withHash("alice", hash("a-secret")).withHash("bob", hash("b-secret"));
        assertThat(f.verify("alice", bytes("a-secret"))).isTrue();
        assertThat(f.verify("bob", bytes("b-secret"))).isTrue();
        assertThat(f.verify("alice", bytes("b-secret"))).isFalse();
        assertThat(f.verify("carol", bytes("a-secret"))).isFalse();
        assertThat(f.verify("Alice", bytes("a-secret"))).as("names are case-sensitive").isFalse();
        assertThat(f.verify(null, bytes("a-secret"))).isFalse();
        assertThat(f.verify(new Credentials("bob", bytes("b-secret")))).isTrue();
        assertThat(PasswordFile.empty().verify("alice", bytes("a-secret"))).isFalse();
    }

    @Test void unknownUserCostsAsMuchAsAKnownOne() {
        PasswordFile f = PasswordFile.empty().withHash("alice", PasswordHash.bcrypt("pw".toCharArray(), 9));
        long known = Long.MAX_VALUE;
        long unknown = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) { // the fastest of three, against JIT warm-up and noise
            long t0 = System.nanoTime();
            f.verify("alice", bytes("wrong"));
            long t1 = System.nanoTime();
            f.verify("nobody", bytes("wrong"));
            long t2 = System.nanoTime();
            known = Math.min(known, t1 - t0);
            unknown = Math.min(unknown, t2 - t1);
        }
        // Without the dummy check an unknown user takes microseconds; cost 9 takes milliseconds.
        assertThat(unknown).isGreaterThan(known / 3);
    }

    @Test void userNames() {
        assertThat(PasswordFile.isValidName("alice")).isTrue();
        assertThat(PasswordFile.isValidName("a.b_c-d+e@example.org")).isTrue();
        assertThat(PasswordFile.isValidName("x".repeat(64))).isTrue();
        assertThat(PasswordFile.isValidName("x".repeat(65))).isFalse();
        assertThat(PasswordFile.isValidName("")).isFalse();
        assertThat(PasswordFile.isValidName("a:b")).isFalse();
        assertThat(PasswordFile.isValidName("a b")).isFalse();
        assertThat(PasswordFile.isValidName("#root")).isFalse();
        assertThat(PasswordFile.isValidName("jörg")).isFalse();
        assertThatThrownBy(() -> PasswordFile.empty().withHash("a:b", hash("x")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test void missingFileIsEmpty() throws IOException {
        assertThat(PasswordFile.load(dir.resolve("users")).users()).isEmpty();
    }

    @Test void saveAndLoad() throws IOException {
        Path file = dir.resolve("users");
        PasswordFile.empty().withHash("alice", hash("a")).withHash("bob", hash("b")).save(file);
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        PasswordFile loaded = PasswordFile.load(file);
        assertThat(loaded.users()).containsExactly("alice", "bob");
        assertThat(loaded.verify("bob", bytes("b"))).isTrue();
        assertThat(Files.readString(file)).startsWith("# ").contains("\nalice:$2b$04$");
        try (var files = Files.list(dir)) {
            assertThat(files).as("no temporary file left").containsExactly(file);
        }
    }

    @Test void saveMakesAnOpenFilePrivate() throws IOException {
        Path file = dir.resolve("users");
        Files.writeString(file, "alice:" + hash("a") + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        PasswordFile.load(file).without("alice").save(file);
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }

    @Test void changesKeepCommentsAndOrder() throws IOException {
        Path file = dir.resolve("users");
        Files.writeString(file, "# our users\n\ncarol:" + hash("c") + "\n# the admin\nalice:" + hash("a") + "\n");
        PasswordFile f = PasswordFile.load(file);
        String newHash = hash("a2");
        f.withHash("alice", newHash).withHash("bob", hash("b")).without("carol").save(file);
        assertThat(Files.readAllLines(file)).hasSize(5).startsWith("# our users", "", "# the admin",
                "alice:" + newHash);
        PasswordFile again = PasswordFile.load(file);
        assertThat(again.users()).containsExactly("alice", "bob");
        assertThat(again.verify("alice", bytes("a2"))).isTrue();
        assertThat(again.verify("alice", bytes("a"))).isFalse();
        assertThat(f.users()).as("immutable").containsExactly("carol", "alice");
    }

    @Test void badLinesAreNamed() throws IOException {
        Path file = dir.resolve("users");
        String h = hash("a");
        String[][] cases = {
                {"alice " + h, ":1: expected name:hash"},
                {"# ok\nal ice:" + h, ":2: expected a user name"},
                {"alice:secret", ":1: expected a bcrypt ($2b$...) or Argon2id"},
                {"alice:" + h + "\nalice:" + h, ":2: user alice appears twice"},
        };
        for (String[] c : cases) {
            Files.writeString(file, c[0]);
            assertThatThrownBy(() -> PasswordFile.load(file)).as(c[0]).isInstanceOf(IOException.class)
                    .hasMessageStartingWith(file + c[1]);
        }
        Files.write(file, new byte[] {'a', ':', (byte) 0xff});
        assertThatThrownBy(() -> PasswordFile.load(file)).hasMessage(file + ": expected UTF-8 text");
    }

    @Test void scramSecretsInTheThirdField() throws IOException {
        Path file = dir.resolve("users");
        String h = hash("pencil");
        Scram.Secrets secrets = Scram.secrets("pencil".toCharArray(), 4096);
        // An old two-field line and an RFC 5803 three-field line, side by side.
        Files.writeString(file, "# mixed\nold:" + h + "\nnew:" + h + ":" + secrets.format() + "\n");
        PasswordFile f = PasswordFile.load(file);
        assertThat(f.users()).containsExactly("old", "new");
        assertThat(f.hasScram("old")).isFalse();
        assertThat(f.scramSecrets("old")).isNull();
        assertThat(f.scramSecrets("new")).isEqualTo(secrets);
        assertThat(f.scramSecrets("nobody")).isNull();
        assertThat(f.verify("old", bytes("pencil"))).isTrue();
        assertThat(f.verify("new", bytes("pencil"))).as("PLAIN still uses the hash").isTrue();

        f.without("old").save(file);
        assertThat(Files.readAllLines(file)).containsExactly("# mixed", "new:" + h + ":" + secrets.format());
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }

    @Test void withWritesHashAndScramSecrets() throws IOException {
        Path file = dir.resolve("users");
        PasswordFile.empty().with("alice", "correct horse".toCharArray()).save(file);
        String text = Files.readString(file);
        assertThat(text).startsWith("# Postern users: name:hash[:SCRAM-SHA-256$i:salt$StoredKey:ServerKey]")
                .containsPattern("\nalice:\\$2b\\$12\\$[./A-Za-z0-9]{53}:SCRAM-SHA-256\\$4096:[A-Za-z0-9+/]{22}==\\$"
                        + "[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=\n")
                .doesNotContain("correct horse");
        PasswordFile f = PasswordFile.load(file);
        Scram.Secrets s = f.scramSecrets("alice");
        assertThat(Scram.secrets("correct horse".toCharArray(), s.salt(), s.iterations())).isEqualTo(s);
        // A new hash without secrets drops the old secrets: they belong to the old password.
        assertThat(f.withHash("alice", hash("other")).hasScram("alice")).isFalse();
        // A password SASLprep refuses gets no secrets, but still a hash.
        PasswordFile bell = PasswordFile.empty().with("bob", "ring\u0007".toCharArray());
        assertThat(bell.hasScram("bob")).isFalse();
        assertThat(bell.verify("bob", bytes("ring\u0007"))).isTrue();
    }

    @Test void badScramFieldsAreNamed() throws IOException {
        Path file = dir.resolve("users");
        String h = hash("a");
        String good = Scram.secrets("a".toCharArray(), 4096).format();
        for (String bad : new String[] {"", "x", good.replace("SHA-256", "SHA-1"), good.replace("$4096:", "$0:"),
                good.substring(0, good.lastIndexOf(':')), good + "AAAA", good + ":extra"}) {
            Files.writeString(file, "alice:" + h + ":" + bad + "\n");
            assertThatThrownBy(() -> PasswordFile.load(file)).as(bad).isInstanceOf(IOException.class)
                    .hasMessage(file + ":1: expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> "
                            + "(iterations 1-10000000, base64, keys of 32 bytes) after the hash for alice");
        }
    }

    @Test void watcherSeesChanges() throws IOException {
        Path file = dir.resolve("users");
        PasswordFile.Watcher w = new PasswordFile.Watcher(file);
        assertThat(w.current().users()).isEmpty();

        PasswordFile.load(file).withHash("alice", hash("a")).save(file);
        assertThat(w.verify("alice", bytes("a"))).isTrue();

        PasswordFile.load(file).withHash("alice", hash("a2")).save(file);
        assertThat(w.verify("alice", bytes("a"))).isFalse();
        assertThat(w.verify(new Credentials("alice", bytes("a2")))).isTrue();

        Files.writeString(file, "alice:not-a-hash\n"); // a half-finished edit: keep what worked
        assertThat(w.verify("alice", bytes("a2"))).isTrue();

        Files.delete(file);
        assertThat(w.current().users()).isEmpty();
    }

    @Test void watcherRefusesABadFileAtStart() throws IOException {
        Path file = dir.resolve("users");
        Files.writeString(file, "garbage\n");
        assertThatThrownBy(() -> new PasswordFile.Watcher(file)).hasMessageContaining(":1: expected name:hash");
    }

    @Test void scramIsAdvertisedOnlyWhenEveryUserHasSecrets() throws Exception {
        assertThat(PasswordFile.empty().mechanisms()).containsExactly("PLAIN", "LOGIN");
        PasswordFile scram = PasswordFile.empty().with("alice", "pw one".toCharArray());
        assertThat(scram.mechanisms()).containsExactly("SCRAM-SHA-256", "PLAIN", "LOGIN");
        PasswordFile mixed = scram.withHash("bob", PasswordHash.bcrypt("pw two".toCharArray(), 4));
        assertThat(mixed.mechanisms()).containsExactly("PLAIN", "LOGIN");
    }
}
