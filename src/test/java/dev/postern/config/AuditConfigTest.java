package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [audit]}: defaults, every key, and one clear line naming file, key and expectation for each bad value. */
class AuditConfigTest {
    @TempDir Path dir;
    private ConfigFiles files;

    @BeforeEach void files() { files = new ConfigFiles(dir); }


    @Test void absentMeansSqliteInTheDataDirectoryWithTheDefaults() throws Exception {
        Config c = files.load((""));
        assertThat(c.audit()).isEqualTo(Config.Audit.DEFAULT);
        assertThat(c.audit()).isEqualTo(new Config.Audit(null, null, null, null, Duration.ofDays(400), 10_000,
                1L << 30));
    }

    @Test void everyKey() throws Exception {
        Path secret = dir.resolve("audit.password");
        Files.writeString(secret, "s3cret\n");
        Config c = files.load(("""
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
        assertThat(files.load(("[audit]\nurl = \"jdbc:sqlite:/var/lib/postern/audit.db\"\n"
                + "gateway_name = \"gw_paris-1\"\nspill_max = 1048576\n")).audit())
                .isEqualTo(new Config.Audit("jdbc:sqlite:/var/lib/postern/audit.db", null, null, "gw_paris-1",
                        Duration.ofDays(400), 10_000, 1L << 20));
    }

    @Test void eachBadValueIsOneLineNamingFileKeyAndExpectation() throws IOException {
        String url = "expected a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:, got ";
        String[][] cases = {
            {"url = \"mysql://db/postern\"", "audit.url: " + url + "\"mysql://db/postern\""},
            {"url = \"jdbc:sqlite:\"", "audit.url: " + url + "\"jdbc:sqlite:\""},
            {"url = 5", "audit.url: " + url + "5"},
            {"user = \"\"\nurl = \"jdbc:postgresql://db/p\"", "audit.user: expected a database user name, got \"\""},
            {"url = \"jdbc:postgresql://db/p\"\npassword_file = \"nope\"", "audit.password_file: expected a"
                    + " readable file, got \"nope\" (file not found: " + dir.resolve("nope") + ")"},
            {"gateway_name = \"my gateway\"", "audit.gateway_name: expected a name of 1 to 253 printable ASCII"
                    + " characters without spaces, like mx1.example.com, got \"my gateway\""},
            {"retention = \"forever\"", "audit.retention: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, got"
                    + " \"forever\""},
            {"retention = \"1h\"", "audit.retention: expected a duration from 1d to 3650d, got \"1h\""},
            {"retention = \"4000d\"", "audit.retention: expected a duration from 1d to 3650d, got \"4000d\""},
            {"queue_size = 10", "audit.queue_size: expected an integer from 100 to 10000000, got 10"},
            {"queue_size = \"1000\"", "audit.queue_size: expected an integer from 100 to 10000000, got \"1000\""},
            {"spill_max = \"lots\"", "audit.spill_max: expected a size like 1GB or 1073741824, got \"lots\""},
            {"spill_max = \"1KB\"", "audit.spill_max: expected a size from 1MB to 1024GB, got \"1KB\""},
            {"retension = \"30d\"", "audit.retension: unknown key (did you mean \"retention\"?)"},
        };
        for (String[] c : cases) {
            assertThat(files.problems("[audit]\n" + c[0])).as(c[0]).containsExactly("postern.toml: " + c[1]);
        }
        assertThat(files.problems("audit = \"sqlite\"")).containsExactly(
                "postern.toml: audit: expected a table [audit], got \"sqlite\"");
    }

    @Test void aPasswordInTheUrlIsRefusedWithoutRepeatingIt() throws IOException {
        List<String> lines = files.problems("[audit]\nurl = \"jdbc:postgresql://db/p?user=a&password=hunter2\"");
        assertThat(lines).containsExactly("postern.toml: audit.url: expected a JDBC URL starting with jdbc:sqlite:"
                + " or jdbc:postgresql: without a password (put it in password_file), got a URL with password=");
        assertThat(String.join("\n", lines)).doesNotContain("hunter2");
    }

    @Test void userAndPasswordOnlyWithPostgresql() throws IOException {
        Path secret = dir.resolve("pw");
        Files.writeString(secret, "x\n");
        assertThat(files.problems("[audit]\nuser = \"postern\"")).containsExactly(
                "postern.toml: audit.user: expected user only with a jdbc:postgresql: url (SQLite has no users), got"
                        + " \"postern\" with the default SQLite store");
        assertThat(files.problems("[audit]\nurl = \"jdbc:sqlite:a.db\"\npassword_file = \"pw\"")).containsExactly(
                "postern.toml: audit.password_file: expected password_file only with a jdbc:postgresql: url (SQLite"
                        + " has no users), got \"pw\" with jdbc:sqlite:a.db");
        assertThat(files.problems("[audit]\nurl = \"mysql:x\"\nuser = \"postern\"")).as("the url's line is enough")
                .hasSize(1);
    }
}
