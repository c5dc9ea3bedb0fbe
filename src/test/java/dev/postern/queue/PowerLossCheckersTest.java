package dev.postern.queue;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkers of PowerLossTest can fail: hand-made strace output in Postern's write-ahead order passes both, and each
 * broken order (a missing fsync, a rename too early, a directory not fsynced, a removal out of order) is caught by the
 * order check, and where it could lose or tear an acknowledged message, by the crash replay too.
 */
class PowerLossCheckersTest {
    private static final String SPOOL = "/q/data/queue";

    @TempDir Path temp;
    private Path scratch;

    @org.junit.jupiter.api.BeforeEach void scratch() throws IOException {
        scratch = CrashReplay.scratch(temp.resolve("states"));
    }

    @org.junit.jupiter.api.AfterEach void removeScratch() throws IOException {
        Files.deleteIfExists(scratch); // every state is deleted after its check
    }

    enum Fault { NO_CONTENT_SYNC, ENVELOPE_RENAMED_BEFORE_SYNC, NO_ENVELOPE_SYNC, ACTIVE_SYNCED_BEFORE_RENAME, NO_MESSAGES_SYNC,
        CONTENT_UNLINKED_FIRST, PARENT_NOT_SYNCED }

    @Test void postersOrderPassesBothChecks() throws IOException {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.noneOf(Fault.class)));
        WriteAheadCheck.Result r = WriteAheadCheck.check(ops, SPOOL, "/q/data", null);
        assertThat(r.violations()).isEmpty();
        assertThat(r.acks()).hasSize(2);
        assertThat(r.removals()).isEqualTo(1);
        CrashReplay.Result replay = CrashReplay.run(ops, SPOOL, scratch, 1);
        assertThat(replay.violations()).isEmpty();
        assertThat(replay.distinctStates()).isGreaterThan(20);
    }

    @Test void aMissingContentFsyncIsCaughtByBoth() throws IOException {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.of(Fault.NO_CONTENT_SYNC)));
        assertThat(WriteAheadCheck.check(ops, SPOOL, "/q/data", null).violations())
                .anyMatch(v -> v.contains("content: no fsync/fdatasync after its last write"));
        assertThat(CrashReplay.run(ops, SPOOL, scratch, 1).violations())
                .anyMatch(v -> v.contains("recovered with content of"));
    }

    @Test void anEnvelopeRenamedBeforeItsFsyncIsCaught() throws IOException {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.of(Fault.ENVELOPE_RENAMED_BEFORE_SYNC)));
        assertThat(WriteAheadCheck.check(ops, SPOOL, "/q/data", null).violations())
                .anyMatch(v -> v.contains("envelope renamed into active/ before its fsync returned"));
        // synced before the 250 all the same: a torn envelope can only be one never acknowledged, which recovery
        // moves to corrupt/, so the replay rightly finds nothing lost
        assertThat(CrashReplay.run(ops, SPOOL, scratch, 1).violations()).isEmpty();
    }

    @Test void aMissingEnvelopeFsyncIsCaughtByBoth() throws IOException {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.of(Fault.NO_ENVELOPE_SYNC)));
        assertThat(WriteAheadCheck.check(ops, SPOOL, "/q/data", null).violations())
                .anyMatch(v -> v.contains("envelope: no fsync/fdatasync after its last write"));
        // the envelope's rename durable, its bytes not: recovery moves it to corrupt/, and the 250 was a lie
        assertThat(CrashReplay.run(ops, SPOOL, scratch, 1).violations())
                .anyMatch(v -> v.contains("acknowledged but not recovered"));
    }

    @Test void aDirectoryFsyncBeforeTheRenameIsCaughtByBoth() throws IOException {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.of(Fault.ACTIVE_SYNCED_BEFORE_RENAME)));
        assertThat(WriteAheadCheck.check(ops, SPOOL, "/q/data", null).violations())
                .anyMatch(v -> v.contains("no fsync of active/ between the envelope's rename and the 250"));
        assertThat(CrashReplay.run(ops, SPOOL, scratch, 1).violations())
                .anyMatch(v -> v.contains("acknowledged but not recovered"));
    }

    @Test void anEnvelopeNamingContentNotYetDurableIsCaughtByBoth() throws IOException {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.of(Fault.NO_MESSAGES_SYNC)));
        assertThat(WriteAheadCheck.check(ops, SPOOL, "/q/data", null).violations())
                .anyMatch(v -> v.contains("no fsync of messages/"));
        assertThat(CrashReplay.run(ops, SPOOL, scratch, 1).violations())
                .anyMatch(v -> v.contains("acknowledged but not recovered"));
    }

    @Test void contentUnlinkedBeforeTheEnvelopeUnlinkIsDurableIsCaught() {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.of(Fault.CONTENT_UNLINKED_FIRST)));
        assertThat(WriteAheadCheck.check(ops, SPOOL, "/q/data", null).violations())
                .anyMatch(v -> v.contains("content unlinked before the unlink of"));
    }

    @Test void aDirectoryUsedBeforeItsParentIsFsyncedIsCaught() {
        List<SyscallTrace.Op> ops = SyscallTrace.parse(trace(EnumSet.of(Fault.PARENT_NOT_SYNCED)));
        assertThat(WriteAheadCheck.check(ops, SPOOL, "/q/data", null).violations())
                .anyMatch(v -> v.contains("directory made but its parent not fsynced before it was used"));
    }

    @Test void stringsCutByStraceAreRefused() {
        String line = "7 10:00:00.000001 write(5<" + hex("/q/x") + ">, \"" + hex("abc") + "\"..., 9) = 9";
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SyscallTrace.parse(List.of(line)))
                .hasMessageContaining("raise -s");
    }

    /** Two messages committed in Postern's order (but for the fault), the first one then removed. */
    static List<String> trace(Set<Fault> faults) {
        Strace t = new Strace();
        for (String d : List.of("incoming", "messages", "active", "deferred", "hold", "corrupt")) {
            t.call("mkdir(\"" + hex(SPOOL + "/" + d) + "\", 0700) = 0");
        }
        if (!faults.contains(Fault.PARENT_NOT_SYNCED)) t.fsyncDir(SPOOL);
        List<String> ids = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            String id = QueueIds.next();
            ids.add(id);
            String content = SPOOL + "/incoming/" + id + ".eml";
            String envelope = SPOOL + "/incoming/" + id + ".env";
            int c = t.create(content);
            byte[] body = ("Received: by gw id " + id + "\r\n\r\n" + "line of the body\r\n".repeat(200 * (n + 1)))
                    .getBytes(UTF_8);
            t.write(c, content, java.util.Arrays.copyOf(body, 1000));
            t.write(c, content, java.util.Arrays.copyOfRange(body, 1000, body.length));
            if (!faults.contains(Fault.NO_CONTENT_SYNC)) t.call("fdatasync(" + c + "<" + hex(content) + ">) = 0");
            int e = t.create(envelope);
            t.call("pwrite64(" + e + "<" + hex(envelope) + ">, \"" + hex(envelope(id)) + "\", "
                    + envelope(id).length + ", 0) = " + envelope(id).length);
            boolean early = faults.contains(Fault.ENVELOPE_RENAMED_BEFORE_SYNC);
            if (!early && !faults.contains(Fault.NO_ENVELOPE_SYNC)) t.call("fsync(" + e + "<" + hex(envelope) + ">) = 0");
            t.rename(content, SPOOL + "/messages/" + id + ".eml");
            if (!faults.contains(Fault.NO_MESSAGES_SYNC)) t.fsyncDir(SPOOL + "/messages");
            if (faults.contains(Fault.ACTIVE_SYNCED_BEFORE_RENAME)) t.fsyncDir(SPOOL + "/active");
            t.rename(envelope, SPOOL + "/active/" + id + ".env");
            // -y shows the name the file has when the call is made
            if (early) t.call("fsync(" + e + "<" + hex(SPOOL + "/active/" + id + ".env") + ">) = 0");
            if (!faults.contains(Fault.ACTIVE_SYNCED_BEFORE_RENAME)) {
                // as strace shows a call another thread interrupts: unfinished, then resumed
                t.raw("12 10:00:01.000000 fsync(40<" + hex(SPOOL + "/active") + "> <unfinished ...>");
                t.raw("13 10:00:01.000001 futex(0x7f, FUTEX_WAIT, 0, NULL <unfinished ...>");
                t.raw("12 10:00:01.000002 <... fsync resumed>) = 0");
            }
            t.call("write(33<TCP:[127.0.0.1:25->127.0.0.1:40000]>, \"" + hex("250 2.0.0 Ok: queued as " + id + "\r\n")
                    + "\", 52) = 52");
        }
        String first = ids.getFirst();
        boolean misordered = faults.contains(Fault.CONTENT_UNLINKED_FIRST);
        t.call("unlink(\"" + hex(SPOOL + "/active/" + first + ".env") + "\") = 0");
        if (misordered) t.call("unlink(\"" + hex(SPOOL + "/messages/" + first + ".eml") + "\") = 0");
        t.fsyncDir(SPOOL + "/active");
        if (!misordered) t.call("unlink(\"" + hex(SPOOL + "/messages/" + first + ".eml") + "\") = 0");
        return t.lines;
    }

    private static byte[] envelope(String id) {
        return EnvelopeCodec.encode(new Envelope(id, "a@example.org",
                List.of(Envelope.Recipient.pending("b@example.com")), Instant.parse("2026-12-03T10:00:00Z"), "c",
                "7BIT", false, 100, Instant.parse("2026-12-03T10:00:00Z"), false, 1));
    }

    static String hex(String s) { return hex(s.getBytes(ISO_8859_1)); }

    static String hex(byte[] b) {
        StringBuilder out = new StringBuilder();
        for (byte x : b) out.append("\\x").append(HexFormat.of().toHexDigits(x));
        return out.toString();
    }

    /** Writes strace -f -tt -yy -xx lines. */
    private static final class Strace {
        final List<String> lines = new ArrayList<>();
        private int fd = 20;
        private int tick;

        void raw(String line) { lines.add(line); }

        void call(String text) { lines.add("11 10:00:00." + String.format("%06d", tick++) + " " + text); }

        int create(String path) {
            int f = fd++;
            call("openat(AT_FDCWD<" + hex("/q") + ">, \"" + hex(path) + "\", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = "
                    + f + "<" + hex(path) + ">");
            return f;
        }

        void write(int f, String path, byte[] bytes) {
            call("write(" + f + "<" + hex(path) + ">, \"" + hex(bytes) + "\", " + bytes.length + ") = " + bytes.length);
        }

        void fsyncDir(String dir) {
            int f = fd++;
            call("openat(AT_FDCWD<" + hex("/q") + ">, \"" + hex(dir) + "\", O_RDONLY|O_CLOEXEC) = " + f + "<" + hex(dir) + ">");
            call("fsync(" + f + "<" + hex(dir) + ">) = 0");
        }

        void rename(String from, String to) {
            call("rename(\"" + hex(from) + "\", \"" + hex(to) + "\") = 0");
        }
    }
}
