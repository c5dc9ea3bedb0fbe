package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicyCache;
import dev.postern.mtasts.PublishedPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern mta-sts policy / show}, and {@code postern policy show} naming a cached MTA-STS policy. */
class MtaStsCommandTest {
    @TempDir Path dir;

    private Path config() throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, """
                hostname = "mx.example.com"
                data_dir = "data"
                local_domains = ["example.com"]
                relay_domains = ["example.org"]
                """);
        return f;
    }

    @Test void policyPrintsTheFileAndATxtRecordPerServedDomain() throws Exception {
        Path f = config();
        Cli.Result r = Cli.run("mta-sts", "policy", "--mode", "enforce", "--max-age", "1d", "--config", f.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        String id = new PublishedPolicy(Policy.Mode.ENFORCE, List.of("mx.example.com"), 86400).id();
        assertThat(id).matches("[0-9a-f]{32}");
        assertThat(r.out()).contains("https://mta-sts.example.com/.well-known/mta-sts.txt",
                "https://mta-sts.example.org/.well-known/mta-sts.txt",
                "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n",
                "_mta-sts.example.com. IN TXT \"v=STSv1; id=" + id + "\"",
                "_mta-sts.example.org. IN TXT \"v=STSv1; id=" + id + "\"");
        // the body the admin server will serve parses as the policy it describes
        Policy served = Policy.parse(new PublishedPolicy(Policy.Mode.ENFORCE, List.of("mx.example.com"), 86400)
                .body());
        assertThat(served.mx()).containsExactly("mx.example.com");

        Cli.Result testing = Cli.run("mta-sts", "policy", "--domain", "Other.Example", "--mx", "*.Example.NET",
                "--mx", "mx2.example.net", "--config", f.toString());
        assertThat(testing.out()).contains("mode: testing\nmx: *.example.net\nmx: mx2.example.net\nmax_age: 604800\n",
                "_mta-sts.other.example. IN TXT").doesNotContain("example.com").doesNotContain("id=" + id);
    }

    @Test void badOptionsAreOneLine() throws Exception {
        Path f = config();
        Cli.Result mode = Cli.run("mta-sts", "policy", "--mode", "strict", "--config", f.toString());
        assertThat(mode.exit()).isEqualTo(2);
        assertThat(mode.errLines()).containsExactly(
                "postern: --mode: expected enforce, testing or none, got \"strict\"");
        Cli.Result age = Cli.run("mta-sts", "policy", "--max-age", "400d", "--config", f.toString());
        assertThat(age.exit()).isEqualTo(2);
        assertThat(age.errLines()).hasSize(1).first().asString().startsWith("postern: --max-age: expected at most");
        Cli.Result mx = Cli.run("mta-sts", "policy", "--mx", "not a host", "--config", f.toString());
        assertThat(mx.errLines()).hasSize(1).first().asString().startsWith("postern: --mx: expected a host name");
    }

    @Test void showAndPolicyShowReadTheCache() throws Exception {
        Path f = config();
        Instant now = Instant.now();
        Policy p = Policy.parse("version: STSv1\r\nmode: enforce\r\nmx: *.partner.example\r\nmax_age: 86400\r\n");
        PolicyCache.open(dir.resolve("data/mta-sts"), 10).put(new CachedPolicy("partner.example", "abc123", p,
                now, now.plus(Duration.ofDays(1)), "HTTP status \"500\", expected 200", now));
        Cli.Result show = Cli.run("mta-sts", "show", "Partner.Example", "--config", f.toString());
        assertThat(show.exit()).as(show.toString()).isZero();
        assertThat(show.out()).contains("MTA-STS of partner.example", "policy id:  abc123", "mode:       enforce",
                "mx:         *.partner.example", "last error: ", "500");
        assertThat(Cli.run("mta-sts", "show", "nobody.example", "--config", f.toString()).out())
                .contains("no cached MTA-STS policy");
        Cli.Result policy = Cli.run("policy", "show", "partner.example", "--config", f.toString());
        assertThat(policy.out()).contains("source:          mta-sts policy id=abc123 mode=enforce",
                "level:           verify", "mta-sts mx:      *.partner.example (other MX hosts are not used)");
    }
}
