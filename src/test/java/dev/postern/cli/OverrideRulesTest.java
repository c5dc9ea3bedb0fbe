package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.AdminLog;
import dev.postern.audit.AdminRecord.Action;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 15: overrides refuse fingerprint without pins and durations past [policy] max_override; name the operator. */
class OverrideRulesTest {
    private static final String PIN = "ab" + "cd".repeat(31);

    @TempDir Path dir;

    private Path config(String extra) throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, """
                data_dir = "data"
                [outbound_tls."pinned.example"]
                level = "fingerprint"
                fingerprints = ["%s"]
                """.formatted(PIN) + extra);
        return f;
    }

    @Test void fingerprintNeedsPinsAndTheDurationIsBounded() throws Exception {
        String cfg = config("").toString();
        Cli.Result noPins = Cli.run("policy", "override", "Other.Example", "--level", "fingerprint", "--until", "2h",
                "--reason", "r", "--config", cfg);
        assertThat(noPins.exit()).isEqualTo(2);
        assertThat(noPins.out()).isEmpty();
        assertThat(noPins.errLines()).containsExactly("postern: --level fingerprint: other.example has no pins "
                + "(expected fingerprints in [outbound_tls.\"other.example\"])");
        Cli.Result pinned = Cli.run("policy", "override", "pinned.example", "--level", "fingerprint", "--until", "2h",
                "--reason", "r", "--config", cfg);
        assertThat(pinned.exit()).as("%s", pinned).isZero();

        Cli.Result tooLong = Cli.run("policy", "override", "x.example", "--level", "may", "--until", "31d",
                "--reason", "r", "--config", cfg);
        assertThat(tooLong.exit()).isEqualTo(2);
        assertThat(tooLong.errLines()).singleElement().asString().startsWith(
                "postern: --until: expected at most 30d from now ([policy] max_override in " + cfg + "), got 20");
        assertThat(Cli.run("policy", "override", "x.example", "--level", "may", "--until", "30d", "--reason", "r",
                "--config", cfg).exit()).isZero();

        String shorter = config("[policy]\nmax_override = \"2h\"\n").toString();
        Cli.Result threeHours = Cli.run("policy", "override", "y.example", "--level", "may", "--until", "3h",
                "--reason", "r", "--config", shorter);
        assertThat(threeHours.exit()).isEqualTo(2);
        assertThat(threeHours.err()).contains("expected at most 2h from now ([policy] max_override in ");
        assertThat(Cli.run("policy", "override", "y.example", "--level", "may", "--until", "1h", "--reason", "r",
                "--config", shorter).exit()).isZero();
    }

    @Test void aBadMaxOverrideIsOneLineNamingTheKey() throws Exception {
        for (var bad : List.of("max_override = \"forever\"", "max_override = \"10s\"", "max_ovride = \"1d\"")) {
            String cfg = config("[policy]\n" + bad + "\n").toString();
            Cli.Result r = Cli.run("config", "check", cfg);
            assertThat(r.exit()).as("%s: %s", bad, r).isEqualTo(2);
            assertThat(r.err()).as(bad).contains("policy.max_");
        }
    }

    @Test void overridesAndClearsNameTheOperatorInTheAdminLog() throws Exception {
        String cfg = config("").toString();
        Path data = dir.resolve("data");
        assertThat(Cli.run("policy", "override", "a.example", "--level", "may", "--until", "2h", "--reason",
                "ticket 1", "--by", "grace", "--config", cfg).exit()).isZero();
        assertThat(Cli.run("policy", "override", "b.example", "--level", "encrypt", "--until", "1d", "--reason",
                "ticket 2", "--config", cfg).exit()).isZero();
        byte[] before = Files.readAllBytes(data.resolve("admin.log"));
        Cli.Result clear = Cli.run("policy", "clear", "a.example", "--by", "heidi", "--config", cfg);
        assertThat(clear.exit()).as("%s", clear).isZero();
        byte[] after = Files.readAllBytes(data.resolve("admin.log"));
        assertThat(new String(after, 0, before.length)).isEqualTo(new String(before));
        assertThat(AdminLog.in(data).read()).extracting(e -> e.action() + " " + e.target() + " by " + e.by())
                .containsExactly("POLICY_OVERRIDE_SET a.example by grace",
                        "POLICY_OVERRIDE_SET b.example by " + PolicyCommand.who(),
                        "POLICY_OVERRIDE_CLEARED a.example by heidi");
        assertThat(AdminLog.in(data).read().getFirst().detail()).startsWith("level may until ").endsWith(": ticket 1");
        assertThat(AdminLog.in(data).last(Action.POLICY_OVERRIDE_CLEARED, "a.example")).get()
                .extracting(AdminLog.Entry::by).isEqualTo("heidi");
    }
}
