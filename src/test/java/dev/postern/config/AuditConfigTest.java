package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [audit]}: defaults, every key, and one clear line naming file, key and expectation for each bad value. */
class AuditConfigTest {
    @TempDir Path dir;

    private Path write(String toml) throws IOException {
        Path file = dir.resolve("postern.toml");
        Files.writeString(file, toml);
        return file;
    }

    /** The problem lines, with the file's path shortened to postern.toml. */
    private List<String> problems(String toml) throws IOException {
        Path file = write(toml);
        try {
            ConfigLoader.load(file);
        } catch (ConfigException e) {
            return e.problems().stream().map(p -> {
                assertThat(p).startsWith(file + ": ");
                return "postern.toml: " + p.substring(file.toString().length() + 2);
            }).toList();
        }
        throw new AssertionError("expected a ConfigException for:\n" + toml);
    }

    @Test void absentMeansSqliteInTheDataDirectoryWithTheDefaults() throws Exception {
        Config c = ConfigLoader.load(write(""));
        assertThat(c.audit()).isEqualTo(Config.Audit.DEFAULT);
        assertThat(c.audit()).isEqualTo(new Config.Audit(null, null, null, null, Duration.ofDays(400), 10_000,
                1L << 30));
    }

    @Test void everyKey() throws Exception {
        Path secret = dir.resolve("audit.password");
        Files.writeString(secret, "s3cret\n");
        Config c = ConfigLoader.load(write("""
                [audit]
                url = "jdbc:postgresql://db.example.com:5432/postern?sslmode=verify-full"
                user = "postern"
                password_file = "audit.password"
                gateway_name = "mx1.example.com"
                retention = "730d"
                queue_size = 50000
                spill_max = "512MB"
                """));
        assertThat(c.audit()).isEqualTo(new Config.Audit(
                "jdbc:postgresql://db.example.com:5432/postern?sslmode=verify-full", "postern", secret,
                "mx1.example.com", Duration.ofDays(730), 50_000, 512L << 20));
        assertThat(ConfigLoader.load(write("[audit]\nurl = \"jdbc:sqlite:/var/lib/postern/audit.db\"\n"
                + "gateway_name = \"gw_paris-1\"\nspill_max = 1048576\n")).audit())
                .isEqualTo(new Config.Audit("jdbc:sqlite:/var/lib/postern/audit.db", null, null, "gw_paris-1",
                        Duration.ofDays(400), 10_000, 1L << 20));
    }

    @Test void eachBadValueIsOneLineNamingFileKeyAndExpectation() throws IOException {
        assertThat(problems("[audit]\nurl = \"mysql://db/postern\"")).containsExactly(
                "postern.toml: audit.url: expected a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:, got"
                        + " \"mysql://db/postern\"");
        assertThat(problems("[audit]\nurl = \"jdbc:sqlite:\"")).containsExactly(
                "postern.toml: audit.url: expected a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:, got"
                        + " \"jdbc:sqlite:\"");
        assertThat(problems("[audit]\nurl = 5")).containsExactly(
                "postern.toml: audit.url: expected a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:, got 5");
        assertThat(problems("[audit]\nuser = \"\"\nurl = \"jdbc:postgresql://db/p\"")).containsExactly(
                "postern.toml: audit.user: expected a database user name, got \"\"");
        assertThat(problems("[audit]\nurl = \"jdbc:postgresql://db/p\"\npassword_file = \"nope\"")).containsExactly(
                "postern.toml: audit.password_file: expected a readable file, got \"nope\" (file not found: "
                        + dir.resolve("nope") + ")");
        assertThat(problems("[audit]\ngateway_name = \"my gateway\"")).containsExactly(
                "postern.toml: audit.gateway_name: expected a name of 1 to 253 printable ASCII characters without"
                        + " spaces, like mx1.example.com, got \"my gateway\"");
        assertThat(problems("[audit]\nretention = \"forever\"")).containsExactly(
                "postern.toml: audit.retention: expected a duration like 30s, 5m, 1h, 5d or PT5M, got \"forever\"");
        assertThat(problems("[audit]\nretention = \"1h\"")).containsExactly(
                "postern.toml: audit.retention: expected a duration from 1d to 3650d, got \"1h\"");
        assertThat(problems("[audit]\nretention = \"4000d\"")).containsExactly(
                "postern.toml: audit.retention: expected a duration from 1d to 3650d, got \"4000d\"");
        assertThat(problems("[audit]\nqueue_size = 10")).containsExactly(
                "postern.toml: audit.queue_size: expected an integer from 100 to 10000000, got 10");
        assertThat(problems("[audit]\nqueue_size = \"1000\"")).containsExactly(
                "postern.toml: audit.queue_size: expected an integer from 100 to 10000000, got \"1000\"");
        assertThat(problems("[audit]\nspill_max = \"lots\"")).containsExactly(
                "postern.toml: audit.spill_max: expected a size like 1GB or 1073741824, got \"lots\"");
        assertThat(problems("[audit]\nspill_max = \"1KB\"")).containsExactly(
                "postern.toml: audit.spill_max: expected a size from 1MB to 1024GB, got \"1KB\"");
        assertThat(problems("[audit]\nretension = \"30d\"")).containsExactly(
                "postern.toml: audit.retension: unknown key (did you mean \"retention\"?)");
        assertThat(problems("audit = \"sqlite\"")).containsExactly(
                "postern.toml: audit: expected a table [audit], got \"sqlite\"");
    }

    @Test void aPasswordInTheUrlIsRefusedWithoutRepeatingIt() throws IOException {
        List<String> lines = problems("[audit]\nurl = \"jdbc:postgresql://db/p?user=a&password=hunter2\"");
        assertThat(lines).containsExactly("postern.toml: audit.url: expected a JDBC URL starting with jdbc:sqlite:"
                + " or jdbc:postgresql: without a password (put it in password_file), got a URL with password=");
        assertThat(String.join("\n", lines)).doesNotContain("hunter2");
    }

    @Test void userAndPasswordOnlyWithPostgresql() throws IOException {
        Path secret = dir.resolve("pw");
        Files.writeString(secret, "x\n");
        assertThat(problems("[audit]\nuser = \"postern\"")).containsExactly(
                "postern.toml: audit.user: expected user only with a jdbc:postgresql: url (SQLite has no users), got"
                        + " \"postern\" with the default SQLite store");
        assertThat(problems("[audit]\nurl = \"jdbc:sqlite:a.db\"\npassword_file = \"pw\"")).containsExactly(
                "postern.toml: audit.password_file: expected password_file only with a jdbc:postgresql: url (SQLite"
                        + " has no users), got \"pw\" with jdbc:sqlite:a.db");
        assertThat(problems("[audit]\nurl = \"mysql:x\"\nuser = \"postern\"")).as("the url's line is enough")
                .hasSize(1);
    }
}
