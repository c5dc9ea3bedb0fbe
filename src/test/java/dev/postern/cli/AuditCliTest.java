package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.audit.AuditRecord;
import dev.postern.audit.CertificateSummary;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.config.ConfigLoader;
import dev.postern.testkit.AuditSamples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern report tls} and {@code postern certs seen} end to end, against the default SQLite store. */
class AuditCliTest {
    @TempDir Path data;
    private String since;
    private Instant now;

    @BeforeEach void fill() throws Exception {
        now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        List<AuditRecord> records = new ArrayList<>(AuditSamples.knownTraffic());
        // two certificates relative to now: one expiring in 10 days, one in 100
        records.add(session("soon", "mx.soon.example", now.plus(Duration.ofDays(10))));
        records.add(session("late", "mx.late.example", now.plus(Duration.ofDays(100))));
        try (JdbcAuditStore store = AuditDatabase.open(ConfigLoader.defaults(data))) {
            store.write(records);
        }
        since = AuditSamples.SINCE.toString();
    }

    private TlsSessionRecord session(String id, String host, Instant notAfter) {
        TlsSessionRecord t = AuditSamples.out(id, now, host, true, "verify");
        CertificateSummary leaf = AuditSamples.leaf(host, notAfter);
        return new TlsSessionRecord(t.id(), t.at(), t.direction(), t.endpoint(), t.peerIp(), t.peerPort(),
                t.ehloName(), t.reverseDns(), t.protocol(), t.cipher(), t.cipherBits(), t.keyExchangeGroup(),
                t.resumed(), t.sni(), List.of(leaf), t.verification(), t.verificationReason(), t.clientCertificate(),
                t.noTls(), t.noTlsDetail(), t.policy());
    }

    @Test void theStoreIsPrivate() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("audit"))))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("audit/audit.db"))))
                .isEqualTo("rw-------");
    }

    @Test void timelineAddsUpToTheReport() throws Exception {
        // a week by day from the samples' window: the day of T0 holds the report since SINCE, plus "now"'s two
        Cli.Result j = Cli.run("report", "timeline", "--since", since, "--bucket", "7d", "--format", "json",
                "--data", data.toString());
        assertThat(j.exit()).as("%s", j).isZero();
        JsonNode t = new ObjectMapper().readTree(j.out());
        long in = 0, out = 0;
        for (JsonNode b : t.get("buckets")) {
            in += b.get("in").get("total").asLong();
            out += b.get("out").get("total").asLong();
        }
        Cli.Result r = Cli.run("report", "tls", "--since", t.get("since").asText(), "--format", "json", "--data",
                data.toString());
        JsonNode report = new ObjectMapper().readTree(r.out());
        assertThat(in).isEqualTo(report.get("directions").get(0).get("messages").get("total").asLong());
        assertThat(out).isEqualTo(report.get("directions").get(1).get("messages").get("total").asLong());
        assertThat(out).isEqualTo(21); // the samples' 20 (and one early), the two made now carry no delivery
        Cli.Result text = Cli.run("report", "timeline", "--since", since, "--bucket", "7d", "--data",
                data.toString());
        assertThat(text.outLines().getLast()).isEqualTo("  total                 " + String.format("%-27s  %-27s",
                "3 / 3 / 4 / 0", "3 / 6 / 11 / 1").stripTrailing());
        Cli.Result bad = Cli.run("report", "timeline", "--bucket", "10s", "--data", data.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--bucket: expected at least 1m");
        Cli.Result many = Cli.run("report", "timeline", "--since", "400d", "--bucket", "1m", "--data",
                data.toString());
        assertThat(many.exit()).isEqualTo(2);
        assertThat(many.err()).contains("--bucket: ").contains("expected at most 2000").doesNotContain("Exception");
    }

    @Test void reportAsText() {
        Cli.Result r = Cli.run("report", "tls", "--since", since, "--data", data.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.err()).isEmpty();
        // the two sessions made "now" are after --since too: 18 + 2 outbound sessions, 12 verified
        assertThat(r.outLines()).contains(
                "Outbound: recipients delivered (domain: the recipient's), sessions to next hops",
                "  messages                               20  3 (15.0%)        6 (30.0%)        10 (50.0%)       1 (5.0%)",
                "  sessions                               20  2 (10.0%)        6 (30.0%)        12 (60.0%)       0 (0.0%)",
                "    bank.example                         10  0 (0.0%)         0 (0.0%)         10 (100.0%)      0 (0.0%)",
                "    TLSv1.3                                          16 / 18",
                "    bank.example                          13         10        3           0",
                "    total                                 14         11        3           1",
                "    old.example                    3 of 3 messages",
                "    spam.example                   2 of 2 messages",
                "  messages                                9  2 (22.2%)        3 (33.3%)        4 (44.4%)        0 (0.0%)");
    }

    @Test void reportAsJsonAndCsvForOneDomainAndDirection() throws Exception {
        Cli.Result j = Cli.run("report", "tls", "--since", since, "--domain", "BANK.example", "--direction", "out",
                "--format", "json", "--data", data.toString());
        assertThat(j.exit()).as("%s", j).isZero();
        JsonNode report = new ObjectMapper().readTree(j.out());
        assertThat(report.get("domain").asText()).isEqualTo("bank.example");
        assertThat(report.get("since").asText()).isEqualTo(since);
        assertThat(report.get("directions")).hasSize(1);
        JsonNode out = report.get("directions").get(0);
        assertThat(out.get("direction").asText()).isEqualTo("OUT");
        assertThat(out.get("messages").get("verified").asLong()).isEqualTo(10);
        assertThat(out.get("messages").get("total").asLong()).isEqualTo(10);
        assertThat(out.get("enforced").get(0).get("failed").asLong()).isEqualTo(3);

        Cli.Result c = Cli.run("report", "tls", "--since", since, "--format", "csv", "--data", data.toString());
        assertThat(c.exit()).as("%s", c).isZero();
        assertThat(c.outLines().getFirst()).isEqualTo("direction,figure,name,measure,value");
        assertThat(c.outLines()).contains("out,messages,,total,20", "out,messages,,verified,10",
                "out,domain,partner.example,unknown,1", "out,protocol,TLSv1.3,messages,16",
                "out,enforced,test.example,would_fail,1", "out,top_clear,old.example,clear,3",
                "in,messages,,clear,2", "in,sessions,,total,5", "in,cipher,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
                        + "sessions,3");
    }

    @Test void certsSeen() throws Exception {
        Cli.Result all = Cli.run("certs", "seen", "--data", data.toString());
        assertThat(all.exit()).as("%s", all).isZero();
        assertThat(all.out()).contains("CN=mx.soon.example  expires ", "(in 9 days)", "CN=mx.late.example",
                "  names:   mx.soon.example, *.mx.soon.example", "  issuer:  CN=Test CA,O=Example",
                "  seen:    out mx.soon.example:25 [192.0.2.10] by ", ", 1 session, ",
                "CN=mx.bank.example  EXPIRED 2026-06-30 10:00:00Z")
                .endsWith("-- 6 certificate(s)\n");

        Cli.Result soon = Cli.run("certs", "seen", "--expiring", "30d", "--json", "--data", data.toString());
        assertThat(soon.exit()).as("%s", soon).isZero();
        JsonNode list = new ObjectMapper().readTree(soon.out());
        List<String> subjects = new ArrayList<>();
        list.forEach(n -> subjects.add(n.get("subject").asText()));
        // the expired ones (sample traffic of 2026-05) and the one expiring in 10 days, not the one in 100
        assertThat(subjects).contains("CN=mx.soon.example", "CN=mx.bank.example").doesNotContain("CN=mx.late.example")
                .hasSize(5);
        assertThat(list.get(4).get("notAfter").asText()).isEqualTo(now.plus(Duration.ofDays(10)).toString());
        assertThat(list.get(4).get("peers").get(0).get("sessions").asLong()).isEqualTo(1);
    }

    @Test void badInputIsOneLineAndExitTwo() {
        String d = data.toString();
        expectUsage(Cli.run("report", "tls", "--since", "7x", "--data", d), "postern: --since: expected a duration "
                + "like 30s, 5m, 1h, 7d, 2w or PT5M, or a time like 2026-12-01T00:00Z or a date like 2026-12-01, "
                + "got \"7x\"");
        expectUsage(Cli.run("report", "tls", "--direction", "sideways", "--data", d),
                "postern: --direction: expected in or out, got \"sideways\"");
        expectUsage(Cli.run("report", "tls", "--format", "xml", "--data", d),
                "postern: --format: expected text or json or csv, got \"xml\"");
        expectUsage(Cli.run("report", "tls", "--domain", "nodots", "--data", d),
                "postern: expected a domain like partner.example, got \"nodots\" (a single label)");
        expectUsage(Cli.run("certs", "seen", "--expiring", "soon", "--data", d),
                "postern: --expiring: expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, got \"soon\"");
    }

    private static void expectUsage(Cli.Result r, String line) {
        assertThat(r.exit()).as("%s", r).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(line);
        assertThat(r.out()).isEmpty();
    }
}
