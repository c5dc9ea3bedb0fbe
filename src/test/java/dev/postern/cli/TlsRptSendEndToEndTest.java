package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsRptGroup;
import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import dev.postern.dns.TestDnsServer;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tlsrpt.TlsRptSender;
import dev.postern.tlsrpt.TlsRptSenderTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SMTP TLS reports made from real deliveries: a gateway (configured from a TOML file, as an administrator would)
 * delivers to four loopback SMTP servers (good TLS under verify; no STARTTLS under encrypt; a certificate for another
 * name under verify; DANE with TLSA records that match nothing), each domain asks for reports by mail to a local
 * Maildir ({@code _smtp._tls} TXT on a loopback DNS server), the day's reports are made, land in the Maildir as
 * RFC 8460 mail, and are not sent again by a second run or after a restart.
 */
class TlsRptSendEndToEndTest {
    @TempDir Path dir;

    @Test void reportsOfRealDeliveriesReachTheirRuaOnce() throws Exception {
        Path pki = Files.createDirectories(dir.resolve("pki"));
        KeyMaterial ca = Certificates.certificateAuthority("Partner CA", Certificates.KeyType.EC_P256,
                Duration.ofDays(30));
        Path caFile = pki.resolve("ca.pem");
        Pem.write(ca, caFile, pki.resolve("ca.key"));
        KeyMaterial good = cert(ca, "mx.good.example"), wrong = cert(ca, "other.example"),
                dane = cert(ca, "mx.dane.example");
        byte[] otherKey = MessageDigest.getInstance("SHA-256").digest("not the server's key".getBytes());

        try (TestDnsServer dns = TestDnsServer.start();
             ScriptedSmtpServer goodMx = ScriptedSmtpServer.create().hostname("mx.good.example").starttls(good).start();
             ScriptedSmtpServer plainMx = ScriptedSmtpServer.create().hostname("mx.plain.example").noStartTls().start();
             ScriptedSmtpServer wrongMx = ScriptedSmtpServer.create().hostname("mx.wrong.example").starttls(wrong)
                     .start();
             ScriptedSmtpServer daneMx = ScriptedSmtpServer.create().hostname("mx.dane.example").starttls(dane)
                     .start()) {
            Map<String, ScriptedSmtpServer> mx = Map.of("good", goodMx, "plain", plainMx, "wrong", wrongMx, "dane",
                    daneMx);
            StringBuilder routes = new StringBuilder();
            mx.forEach((name, server) -> {
                dns.a("mx." + name + ".example", "127.0.0.1");
                dns.txt("_smtp._tls." + name + ".example", "v=TLSRPTv1; rua=mailto:tlsrpt@a.example");
                routes.append('"').append(name).append(".example\" = \"[mx.").append(name).append(".example]:")
                        .append(server.port()).append("\"\n");
            });
            dns.tlsa("_" + daneMx.port() + "._tcp.mx.dane.example", 3, 1, 1, otherKey)
                    .tlsa("_25._tcp.mx.dane.example", 3, 1, 1, otherKey)
                    .authentic("mx.dane.example", "_" + daneMx.port() + "._tcp.mx.dane.example",
                            "_25._tcp.mx.dane.example");
            Path file = dir.resolve("postern.toml");
            Files.writeString(file, """
                    hostname = "gw.a.example"
                    data_dir = "data"
                    local_domains = ["a.example"]
                    relay_domains = ["good.example", "plain.example", "wrong.example", "dane.example"]

                    [[listeners]]
                    address = "127.0.0.1:%d"
                    role = "mx"

                    [routes]
                    %s
                    [queue]
                    retry_first = "1s"
                    retry_max = "2s"

                    [dns]
                    servers = ["127.0.0.1:%d"]
                    timeout = "2s"
                    trust_ad = true

                    [mta_sts]
                    enabled = false

                    [admin]
                    listen = ""

                    [outbound_tls."good.example"]
                    level = "verify"
                    ca_file = "%s"

                    [outbound_tls."wrong.example"]
                    level = "verify"
                    ca_file = "%s"

                    [outbound_tls."plain.example"]
                    level = "encrypt"

                    [outbound_tls."dane.example"]
                    level = "dane"

                    [tls_rpt]
                    send = true
                    organization = "A Example"
                    from = "reports@a.example"
                    """.formatted(GatewayProcess.freePort(), routes, dns.address().getPort(), caFile, caFile));
            Config config = ConfigLoader.load(file);
            LocalDate today = LocalDate.now(ZoneOffset.UTC);
            Path maildir = config.dataDir().resolve("mail/a.example/tlsrpt/new");

            try (Gateway gw = Gateway.start(config)) {
                for (String name : mx.keySet()) DomainsCommandTest.deliver(gw, "bob@" + name + ".example");
                await().atMost(Duration.ofSeconds(30)).until(() -> goodMx.delivered().size() == 1);
                // every domain attempted, and its failures recorded (the audit store is written behind mail)
                try (JdbcAuditStore store = AuditDatabase.open(config)) {
                    Instant start = today.atStartOfDay(ZoneOffset.UTC).toInstant();
                    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() ->
                            store.tlsRptGroups(start, start.plus(Duration.ofDays(1))).stream()
                                    .map(TlsRptGroup::resultType).distinct().toList(),
                            types -> types.containsAll(java.util.Arrays.asList(null, "starttls-not-supported",
                                    "certificate-host-mismatch", "tlsa-invalid")));
                }
                List<TlsRptSender.Outcome> sent = gw.tlsRpt().run(today, false);
                assertThat(sent).extracting(TlsRptSender.Outcome::domain)
                        .containsExactly("dane.example", "good.example", "plain.example", "wrong.example");
                assertThat(sent).allSatisfy(o -> assertThat(o.targets()).singleElement().asString()
                        .startsWith("mailto:tlsrpt@a.example: queued (queue id "));

                Map<String, JsonNode> reports = awaitReports(maildir, 4);
                JsonNode goodReport = reports.get("good.example");
                assertThat(goodReport.get("organization-name").asText()).isEqualTo("A Example");
                assertThat(goodReport.get("contact-info").asText()).isEqualTo("postmaster@gw.a.example");
                assertThat(goodReport.get("date-range").get("start-datetime").asText())
                        .isEqualTo(today + "T00:00:00Z");
                JsonNode goodPolicy = goodReport.get("policies").get(0);
                assertThat(goodPolicy.get("policy").get("policy-type").asText()).isEqualTo("no-policy-found");
                assertThat(goodPolicy.get("summary").get("total-successful-session-count").asLong()).isEqualTo(1);
                assertThat(goodPolicy.get("summary").get("total-failure-session-count").asLong()).isZero();

                assertFailure(reports.get("plain.example"), "no-policy-found", "starttls-not-supported",
                        "mx.plain.example");
                assertFailure(reports.get("wrong.example"), "no-policy-found", "certificate-host-mismatch",
                        "mx.wrong.example");
                JsonNode danePolicy = assertFailure(reports.get("dane.example"), "tlsa", "tlsa-invalid",
                        "mx.dane.example");
                assertThat(danePolicy.get("policy").get("policy-string").get(0).asText())
                        .isEqualTo("3 1 1 " + java.util.HexFormat.of().formatHex(otherKey));
                assertThat(danePolicy.get("policy").get("mx-host").get(0).asText()).isEqualTo("mx.dane.example");

                // a second run: nothing more
                assertThat(gw.tlsRpt().run(today, false)).allSatisfy(o -> assertThat(o.note())
                        .startsWith("made before"));

                // the CLI: a day under way is refused; a dry run of yesterday goes through the running gateway
                Cli.Result early = Cli.withConfig(file, List.of("tlsrpt", "send"), "--day", today.toString());
                assertThat(early.exit()).as(early.toString()).isEqualTo(2);
                assertThat(early.err()).contains("--day " + today + ": expected a day that has ended (UTC)");
                Cli.Result dry = Cli.withConfig(file, List.of("tlsrpt", "send"), "--dry-run");
                assertThat(dry.exit()).as(dry.toString()).isZero();
                assertThat(dry.out()).contains("no domain was delivered to that day: no report");
            }
            // a restart: the same day's run sends nothing again
            try (Gateway gw = Gateway.start(config)) {
                assertThat(gw.tlsRpt().run(today, false)).hasSize(4).allSatisfy(o -> assertThat(o.note())
                        .startsWith("made before"));
                Thread.sleep(1500); // what would have been queued has had time to land
                assertThat(list(maildir)).hasSize(4);
            }
            // no gateway running: a dry run reads the store itself; sending needs the gateway's queue
            Cli.Result offline = Cli.withConfig(file, List.of("tlsrpt", "send"), "--dry-run");
            assertThat(offline.exit()).as(offline.toString()).isZero();
            assertThat(offline.out()).contains("no domain was delivered to that day: no report");
            Cli.Result stopped = Cli.withConfig(file, List.of("tlsrpt", "send"));
            assertThat(stopped.exit()).as(stopped.toString()).isEqualTo(1);
            assertThat(stopped.err()).contains("no gateway is running with data directory", "use --dry-run");
            Cli.Result bad = Cli.withConfig(file, List.of("tlsrpt", "send"), "--day", "2026-13-01");
            assertThat(bad.exit()).isEqualTo(2);
            assertThat(bad.err().strip()).isEqualTo("postern: --day 2026-13-01: expected a day like 2026-12-02");
        }
    }

    static KeyMaterial cert(KeyMaterial ca, String name) {
        return Certificates.issue(ca, List.of(name), Certificates.KeyType.EC_P256, Instant.now().minusSeconds(60),
                Duration.ofDays(10));
    }

    /** The policy entry of a report with one failure detail of {@code resultType} at {@code host}. */
    static JsonNode assertFailure(JsonNode report, String policyType, String resultType, String host) {
        JsonNode p = report.get("policies").get(0);
        assertThat(p.get("policy").get("policy-type").asText()).isEqualTo(policyType);
        assertThat(p.get("summary").get("total-successful-session-count").asLong()).isZero();
        long failed = p.get("summary").get("total-failure-session-count").asLong();
        assertThat(failed).isPositive();
        JsonNode d = p.get("failure-details").get(0);
        assertThat(d.get("result-type").asText()).isEqualTo(resultType);
        assertThat(d.get("receiving-mx-hostname").asText()).isEqualTo(host);
        assertThat(d.get("receiving-ip").asText()).isEqualTo("127.0.0.1");
        assertThat(d.get("receiving-mx-helo").asText()).isEqualTo(host);
        long details = 0;
        for (JsonNode x : p.get("failure-details")) details += x.get("failed-session-count").asLong();
        assertThat(details).as("the details add up to the summary").isEqualTo(failed);
        return p;
    }

    /** Waits for {@code n} reports in the Maildir: each a §5.3 mail whose gzip part holds the report JSON. */
    static Map<String, JsonNode> awaitReports(Path maildir, int n) throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> list(maildir).size() == n);
        Map<String, JsonNode> out = new HashMap<>();
        for (Path p : list(maildir)) {
            String mail = Files.readString(p, StandardCharsets.US_ASCII);
            assertThat(mail).contains("Content-Type: multipart/report; report-type=\"tlsrpt\";",
                    "TLS-Report-Submitter: gw.a.example", "From: <reports@a.example>");
            JsonNode report = RecordCodec.mapper().readTree(TlsRptSenderTest.reportOf(mail));
            String domain = report.get("policies").get(0).get("policy").get("policy-domain").asText();
            assertThat(mail).contains("TLS-Report-Domain: " + domain, "Subject: Report Domain: " + domain);
            out.put(domain, report);
        }
        return out;
    }

    static List<Path> list(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
