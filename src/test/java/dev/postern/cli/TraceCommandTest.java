package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.testkit.AuditFixtures;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern trace}: its arguments, each mistake one clear line (exit 2), and what it prints of what it finds. */
class TraceCommandTest {
    @TempDir Path dir;

    private Cli.Result trace(String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "trace";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--data";
        all[args.length + 2] = dir.resolve("data").toString();
        return Cli.run(all);
    }

    private static void oneLine(Cli.Result r, int exit, String line) {
        assertThat(r.exit()).as(r.toString()).isEqualTo(exit);
        assertThat(r.errLines()).as(r.toString()).containsExactly(line);
        assertThat(r.out()).isEmpty();
    }

    @Test void aMessageOrARecipientMustBeNamedOnce() {
        String expected = "postern: trace: expected a queue id or Message-ID, or --recipient ADDR (one of them)";
        oneLine(trace(), 2, expected);
        oneLine(trace("Q1", "--recipient", "b@bank.example"), 2, expected);
    }

    @Test void badSinceAndBadRecipientAreOneLineEach() {
        oneLine(trace("--recipient", "b@bank.example", "--since", "7x"), 2, "postern: --since: expected a duration "
                + "like 30s, 5m, 1h, 7d, 2w or PT5M, or a time like 2026-12-01T00:00Z or a date like 2026-12-01, "
                + "got \"7x\"");
        oneLine(trace("--recipient", "b@bank..example"), 2,
                "postern: --recipient: expected an address like b@bank.example, got \"b@bank..example\" (bad domain: empty label)");
        oneLine(trace("<>"), 2, "postern: trace: expected a queue id or Message-ID, got \"<>\"");
    }

    @Test void goodArgumentsReachTheStore() {
        // An empty store (made in the data directory on first use): a valid command finds nothing, in one line.
        oneLine(trace("Q1"), 1, "postern: no message Q1 on record");
        oneLine(trace("--recipient", "B@BÜCHER.example", "--since", "2026-12-01", "--json"), 1,
                "postern: no message to B@xn--bcher-kva.example on record since 2026-12-01 00:00:00Z");
    }

    @Test void addressesAndMessageIdsTakeTheRecordedForm() throws Exception {
        assertThat(TraceCommand.address("<Bob@BÜCHER.Example>")).isEqualTo("Bob@xn--bcher-kva.example");
        assertThat(TraceCommand.messageKey("<abc.123@partner.example>")).isEqualTo("abc.123@partner.example");
        assertThat(TraceCommand.messageKey("Q1A2B3")).isEqualTo("Q1A2B3");
    }

    @Test void printsTextOrJsonOfWhatWasFoundOrSaysNothingWas() throws Exception {
        var found = List.of(AuditFixtures.threeRecipients());
        assertThat(TraceCommand.text(found, "Q1A2B3", null, null, false))
                .startsWith("Message Q1A2B3 <abc.123@partner.example>, recorded by gw1.example\n  received from");
        assertThat(TraceCommand.text(found, "Q1A2B3", null, null, true))
                .startsWith("[ {").contains("\"queueId\" : \"Q1A2B3\"", "\"at\" : \"2026-12-02T10:31:05Z\"");
        assertThatThrownBy(() -> TraceCommand.text(found, "Q1A2B3", null, Instant.parse("2026-12-03T00:00:00Z"), false))
                .isInstanceOf(CliException.class)
                .hasMessage("postern: no message Q1A2B3 on record since 2026-12-03 00:00:00Z");
        assertThatThrownBy(() -> TraceCommand.text(List.of(), null, "b@bank.example",
                Instant.parse("2026-11-25T00:00:00Z"), false)).isInstanceOf(CliException.class)
                .hasMessage("postern: no message to b@bank.example on record since 2026-11-25 00:00:00Z");
    }
}
