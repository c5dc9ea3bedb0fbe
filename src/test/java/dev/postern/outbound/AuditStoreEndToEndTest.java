package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.stuff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.audit.AuditWriter;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.MessageTrace;
import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.AuditDatabase;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.testkit.PartnerPki;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestPostgres;
import dev.postern.tls.KeyMaterial;
import dev.postern.trace.TraceText;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 end to end: a gateway with its real audit writer and store, real SMTP traffic over STARTTLS in and out,
 * and what the store then answers (trace, report). Then the store is a real PostgreSQL that is killed while mail
 * flows: mail goes on, the records wait in the spill, and every one of them is in the store once it is back.
 */
class AuditStoreEndToEndTest {
    @TempDir Path data;
    @TempDir static Path pki;
    static KeyMaterial mxCert;
    static Path caFile;

    @BeforeAll static void certificates() throws Exception {
        PartnerPki bank = PartnerPki.create("Bank CA", "mx.b.example", Duration.ofDays(10), pki);
        mxCert = bank.server();
        caFile = bank.caFile();
    }

    /** b.example routed to {@code server} under "verify" against its CA (a static entry). */
    Config gateway(ScriptedSmtpServer server) {
        TlsPolicy verify = new TlsPolicy(TlsLevel.VERIFY, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                TlsPolicy.LEVEL_KEY_FLOOR, List.of("mx.b.example"), caFile, List.of(), null, null);
        return Outbound.relayingTo(data, server.port(), "b.example").withOutboundTls(new Config.OutboundTls(
                TlsPolicy.of(TlsLevel.MAY), Map.of("b.example", verify)));
    }

    /** One message over STARTTLS from client.test; returns its queue id. */
    static String submitOverTls(Gateway gw, int n) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            c.startTls();
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(c.command("MAIL FROM:<alice@a.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<bob@b.example>").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send(stuff("Message-ID: <m" + n + "@a.example>\r\n" + body("message " + n, "Hello")) + ".\r\n");
            SmtpTestClient.Response done = c.read();
            assertThat(done.code()).isEqualTo(250);
            c.command("QUIT");
            return done.last().substring(done.last().lastIndexOf(' ') + 1);
        }
    }

    static MessageTrace awaitTrace(JdbcAuditStore store, String id) {
        // A read may fail once after the server came back (the reader's connection was cut): it reconnects.
        return await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(
                () -> store.message(id).orElse(null),
                t -> t != null && t.inbound() != null
                        && t.deliveries().stream().anyMatch(d -> d.outcome() == DeliveryRecord.Outcome.DELIVERED));
    }

    @Test void traceAndReportOfRealTrafficFromTheEmbeddedStore() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(mxCert).start()) {
            Config config = gateway(server);
            List<String> ids = new ArrayList<>();
            try (Gateway gw = Gateway.start(config)) {
                for (int i = 0; i < 3; i++) ids.add(submitOverTls(gw, i));
                awaitEmptySpool(gw);
            }
            try (JdbcAuditStore store = AuditDatabase.open(config)) {
                MessageTrace t = awaitTrace(store, ids.getFirst());
                assertThat(t.message().messageId()).isEqualTo("m0@a.example");
                assertThat(t.inbound().protocol()).isEqualTo("TLSv1.3");
                DeliveryRecord d = t.deliveries().getFirst();
                TlsSessionRecord out = t.sessions().get(d.tlsSessionId());
                assertThat(out.verification()).isEqualTo(TlsSessionRecord.Verification.VERIFIED);
                assertThat(out.peerChain().getFirst().pem()).contains("BEGIN CERTIFICATE");
                String text = TraceText.render(List.of(t));
                System.out.println(text); // the note quotes it
                assertThat(text).contains("received from client.test [127.0.0.1] over TLS 1.3",
                        "delivered to", "policy verify (static)", "m0@a.example");
                assertThat(store.trace("<m2@a.example>")).extracting(m -> m.message().queueId())
                        .containsExactly(ids.get(2));

                TlsReport report = store.report(Instant.now().minus(Duration.ofHours(1)), null, null);
                System.out.println(report);
                TlsReport.Part outbound = report.directions().stream()
                        .filter(p -> p.direction() == TlsSessionRecord.Direction.OUT).findFirst().orElseThrow();
                assertThat(outbound.messages().total()).isEqualTo(3);
                assertThat(outbound.messages().verified()).isEqualTo(3);
                assertThat(outbound.messages().clear()).isZero();
                TlsReport.Part inbound = report.directions().stream()
                        .filter(p -> p.direction() == TlsSessionRecord.Direction.IN).findFirst().orElseThrow();
                assertThat(inbound.messages().total()).isEqualTo(3);
                assertThat(inbound.messages().clear()).isZero();
                assertThat(inbound.messages().unverified()).as("no client certificate").isEqualTo(3);
            }
        }
    }

    @Test void aStoreKilledMidTrafficReceivesEveryRecordWhenItReturns() throws Exception {
        TestPostgres pg = TestPostgres.get();
        String url = pg.newDatabase();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().starttls(mxCert).start()) {
            Config config = gateway(server).withAudit(new Config.Audit(url, null, null, "gw-e2e",
                    Duration.ofDays(400), 10_000, 1L << 30));
            List<String> ids = new ArrayList<>();
            try (Gateway gw = Gateway.start(config);
                 JdbcAuditStore reader = JdbcAuditStore.open(url, null, null, "gw-e2e")) {
                for (int i = 0; i < 5; i++) ids.add(submitOverTls(gw, i));
                awaitTrace(reader, ids.getLast());

                pg.stop();
                try {
                    // Mail goes on while the store is away; its records go to the spill.
                    for (int i = 5; i < 15; i++) ids.add(submitOverTls(gw, i));
                    awaitEmptySpool(gw);
                    AuditWriter.Stats down = await().atMost(Duration.ofSeconds(30)).until(gw::auditStats,
                            s -> !s.storeUp() && s.spilled() > 0 && s.queued() == 0);
                    assertThat(down.dropped()).isZero();
                } finally {
                    pg.start();
                }
                for (String id : ids) {
                    MessageTrace t = awaitTrace(reader, id);
                    assertThat(t.gateway()).isEqualTo("gw-e2e");
                    assertThat(t.sessions()).as(id).hasSize(1);
                }
                AuditWriter.Stats up = await().atMost(Duration.ofSeconds(30)).until(gw::auditStats,
                        s -> s.storeUp() && s.spillBytes() == 0);
                assertThat(up.replayed()).isPositive();
                assertThat(up.dropped()).isZero();
                TlsReport report = reader.report(Instant.now().minus(Duration.ofHours(1)), "b.example",
                        TlsSessionRecord.Direction.OUT);
                assertThat(report.directions().getFirst().messages().verified()).as("each delivery once")
                        .isEqualTo(15);
            }
        }
    }
}
