package dev.postern.audit;

import static dev.postern.testkit.AuditSamples.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.audit.TlsReport.DomainShares;
import dev.postern.audit.TlsReport.Enforced;
import dev.postern.audit.TlsReport.Part;
import dev.postern.audit.TlsReport.Shares;
import dev.postern.audit.TlsReport.Usage;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.testkit.AuditSamples;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every figure of the TLS report and of "certificates seen", from a store filled with known traffic. */
class TlsReportTest {
    @TempDir Path dir;

    static final Instant SINCE = T0.minus(Duration.ofHours(1));

    /** The traffic; see each block for what it must count as. */
    static List<AuditRecord> knownTraffic() {
        List<AuditRecord> r = new ArrayList<>();
        Instant at = T0;
        // OUT: 10 recipients at bank.example delivered over verified TLS (policy verify), one session each
        for (int i = 0; i < 10; i++) {
            r.add(AuditSamples.out("bank" + i, at, "mx.bank.example", true, "verify"));
            r.add(AuditSamples.delivered("QB" + i, at, "u" + i + "@bank.example", "bank" + i));
        }
        // ... and 3 attempts to bank.example that failed the TLS requirement before any session: enforced failures
        r.add(AuditSamples.failed("QBF0", at, "f0@bank.example", 1, Outcome.DEFERRED, "4.7.5",
                "TLS required by policy: certificate not verified"));
        r.add(AuditSamples.failed("QBF0", at, "f0@bank.example", 2, Outcome.DEFERRED, "4.7.5",
                "TLS required by policy: certificate not verified"));
        r.add(AuditSamples.failed("QBF1", at, "f1@bank.example", 1, Outcome.BOUNCED, "5.7.10",
                "TLS required by policy: STARTTLS not offered"));
        // OUT: 5 delivered to partner.example encrypted but not verified (policy may)
        for (int i = 0; i < 5; i++) {
            r.add(AuditSamples.out("partner" + i, at, "mx.partner.example", false, "may"));
            r.add(AuditSamples.delivered("QP" + i, at, "u" + i + "@partner.example", "partner" + i));
        }
        // ... and 1 whose session record is missing: unknown
        r.add(AuditSamples.delivered("QP9", at, "u9@partner.example", "gone"));
        // OUT: 1 to test.example, unverified, under verify in testing mode that would have failed
        TlsSessionRecord t = AuditSamples.out("test0", at, "mx.test.example", false, "verify");
        r.add(new TlsSessionRecord(t.id(), t.at(), t.direction(), t.endpoint(), t.peerIp(), t.peerPort(),
                t.ehloName(), t.reverseDns(), t.protocol(), t.cipher(), t.cipherBits(), t.keyExchangeGroup(),
                t.resumed(), t.sni(), t.peerChain(), t.verification(), t.verificationReason(), t.clientCertificate(),
                t.noTls(), t.noTlsDetail(), new PolicyApplied("verify", "static", null, "testing",
                List.of("certificate not verified"))));
        r.add(AuditSamples.delivered("QT0", at, "u@test.example", "test0"));
        // OUT: 3 to old.example in clear text: 2 over sessions without STARTTLS, 1 naming no session
        r.add(AuditSamples.outClear("old0", at, "mx.old.example"));
        r.add(AuditSamples.outClear("old1", at, "mx.old.example"));
        r.add(AuditSamples.delivered("QO0", at, "a@old.example", "old0"));
        r.add(AuditSamples.delivered("QO1", at, "b@old.example", "old1"));
        r.add(AuditSamples.delivered("QO2", at, "c@old.example", null));
        // not counted: a deferral for another reason, a local delivery, and traffic before --since
        r.add(AuditSamples.failed("QO3", at, "d@old.example", 1, Outcome.DEFERRED, "4.4.1", null));
        r.add(new DeliveryRecord(at, "QL0", "x@gw.example", 1, "local", -1, null, -1, null, null, List.of(),
                Outcome.DELIVERED, "2.0.0", "delivered to Maildir", null, List.of()));
        Instant before = SINCE.minusSeconds(1);
        r.add(AuditSamples.out("early", before, "mx.bank.example", true, "verify"));
        r.add(AuditSamples.delivered("QE0", before, "e@bank.example", "early"));
        r.add(AuditSamples.in("early-in", before, "mx.spam.example", false, false));
        r.add(AuditSamples.message("QE1", before, "s@spam.example", List.of("x@gw.example"), "early-in"));

        // IN: 4 messages from partner.example in 2 verified sessions
        for (int i = 0; i < 2; i++) {
            r.add(AuditSamples.in("pin" + i, at, "mx.partner.example", true, true));
            for (int j = 0; j < 2; j++) {
                r.add(AuditSamples.message("QIP" + i + j, at, "a@partner.example", List.of("x@gw.example"),
                        "pin" + i));
            }
        }
        // IN: 3 from client.example in one TLS session without a verified certificate
        r.add(AuditSamples.in("cin", at, "client.example", true, false));
        for (int j = 0; j < 3; j++) {
            r.add(AuditSamples.message("QIC" + j, at, "b@client.example", List.of("x@gw.example"), "cin"));
        }
        // IN: 2 from spam.example in clear text, and a clear session that sent nothing
        r.add(AuditSamples.in("sin", at, "mx.spam.example", false, false));
        r.add(AuditSamples.message("QIS0", at, "s@spam.example", List.of("x@gw.example"), "sin"));
        r.add(AuditSamples.message("QIS1", at, "t@spam.example", List.of("y@gw.example"), "sin"));
        r.add(AuditSamples.in("scan", at, "scanner.example", false, false));
        // not a received message: a DSN made here
        r.add(new MessageRecord(at, "QD0", null, "", List.of("a@partner.example"), 100, null, null, null, null, null,
                false, "bounce of QIP00"));
        return r;
    }

    private static JdbcAuditStore filled(Backend backend, Path dir) throws Exception {
        JdbcAuditStore store = JdbcAuditStore.open(backend.newUrl(dir), null, null, "gw-a");
        store.write(knownTraffic());
        return store;
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void everyFigureOfTheReport(Backend backend) throws Exception {
        try (JdbcAuditStore store = filled(backend, dir)) {
            TlsReport report = store.report(SINCE, null, null);
            assertThat(report.since()).isEqualTo(SINCE);
            assertThat(report.domain()).isNull();
            assertThat(report.directions()).extracting(Part::direction).containsExactly(Direction.IN, Direction.OUT);

            Part in = report.directions().get(0);
            assertThat(in.messages()).isEqualTo(new Shares(9, 2, 3, 4, 0));
            assertThat(in.sessions()).isEqualTo(new Shares(5, 2, 1, 2, 0));
            assertThat(in.domains()).containsExactly(new DomainShares("partner.example", new Shares(4, 0, 0, 4, 0)),
                    new DomainShares("client.example", new Shares(3, 0, 3, 0, 0)),
                    new DomainShares("spam.example", new Shares(2, 2, 0, 0, 0)));
            assertThat(in.protocols()).containsExactly(new Usage("TLSv1.2", 7, 3));
            assertThat(in.ciphers()).containsExactly(new Usage("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 7, 3));
            assertThat(in.enforced()).isEmpty();
            assertThat(in.topClear()).containsExactly(new DomainShares("spam.example", new Shares(2, 2, 0, 0, 0)));

            Part out = report.directions().get(1);
            assertThat(out.messages()).isEqualTo(new Shares(20, 3, 6, 10, 1));
            assertThat(out.messages().percent(10)).isEqualTo(50.0);
            assertThat(out.sessions()).isEqualTo(new Shares(18, 2, 6, 10, 0));
            assertThat(out.domains()).containsExactly(
                    new DomainShares("bank.example", new Shares(10, 0, 0, 10, 0)),
                    new DomainShares("partner.example", new Shares(6, 0, 5, 0, 1)),
                    new DomainShares("old.example", new Shares(3, 3, 0, 0, 0)),
                    new DomainShares("test.example", new Shares(1, 0, 1, 0, 0)));
            assertThat(out.protocols()).containsExactly(new Usage("TLSv1.3", 16, 16));
            assertThat(out.ciphers()).containsExactly(new Usage("TLS_AES_256_GCM_SHA384", 16, 16));
            assertThat(out.enforced()).containsExactly(new Enforced("bank.example", 13, 10, 3, 0),
                    new Enforced("test.example", 1, 1, 0, 1));
            assertThat(out.enforcedTotal()).isEqualTo(new Enforced(null, 14, 11, 3, 1));
            assertThat(out.topClear()).containsExactly(new DomainShares("old.example", new Shares(3, 3, 0, 0, 0)));
        }
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void oneDomainAndOneDirection(Backend backend) throws Exception {
        try (JdbcAuditStore store = filled(backend, dir)) {
            TlsReport bank = store.report(SINCE, "bank.example", Direction.OUT);
            assertThat(bank.domain()).isEqualTo("bank.example");
            assertThat(bank.directions()).hasSize(1);
            Part out = bank.directions().getFirst();
            assertThat(out.direction()).isEqualTo(Direction.OUT);
            assertThat(out.messages()).isEqualTo(new Shares(10, 0, 0, 10, 0));
            assertThat(out.sessions()).isEqualTo(new Shares(10, 0, 0, 10, 0)); // only the sessions that carried it
            assertThat(out.enforced()).containsExactly(new Enforced("bank.example", 13, 10, 3, 0));
            assertThat(out.topClear()).isEmpty();

            Part spam = store.report(SINCE, "spam.example", Direction.IN).directions().getFirst();
            assertThat(spam.messages()).isEqualTo(new Shares(2, 2, 0, 0, 0));
            assertThat(spam.sessions()).isEqualTo(new Shares(1, 1, 0, 0, 0)); // not the scanner's
            assertThat(spam.protocols()).isEmpty();

            // a wider window takes in the earlier traffic
            Part all = store.report(SINCE.minus(Duration.ofDays(1)), null, Direction.OUT).directions().getFirst();
            assertThat(all.messages()).isEqualTo(new Shares(21, 3, 6, 11, 1));
        }
    }

    @ParameterizedTest @EnumSource(Backend.class)
    void certificatesSeenSoonestToExpireFirst(Backend backend) throws Exception {
        try (JdbcAuditStore store = filled(backend, dir)) {
            List<SeenCertificate> all = store.certificatesSeen(null);
            // inbound partner certificate expires at T0+10d; the outbound ones at T0+60d
            assertThat(all).extracting(SeenCertificate::subject).containsExactly("CN=mx.partner.example",
                    "CN=mx.bank.example", "CN=mx.partner.example", "CN=mx.test.example");
            SeenCertificate client = all.getFirst();
            assertThat(client.notAfter()).isEqualTo(T0.plus(Duration.ofDays(10)));
            assertThat(client.sessions()).isEqualTo(2);
            assertThat(client.sans()).containsExactly("mx.partner.example", "*.mx.partner.example");
            assertThat(client.issuer()).isEqualTo("CN=Test CA,O=Example");
            assertThat(client.peers()).containsExactly(new SeenCertificate.Peer(Direction.IN, "mx 0.0.0.0:25",
                    "198.51.100.7", "gw-a", 2, T0, T0));
            SeenCertificate bank = all.get(1);
            assertThat(bank.sessions()).isEqualTo(11);
            assertThat(bank.firstSeen()).isEqualTo(SINCE.minusSeconds(1));
            assertThat(bank.lastSeen()).isEqualTo(T0);
            assertThat(bank.peers()).extracting(SeenCertificate.Peer::endpoint).containsExactly("mx.bank.example:25");

            assertThat(store.certificatesSeen(T0.plus(Duration.ofDays(30)))).extracting(SeenCertificate::sha256)
                    .containsExactly(client.sha256());
            assertThat(store.certificatesSeen(T0)).isEmpty();
        }
    }
}
