package dev.postern.audit;

import static dev.postern.testkit.AuditSamples.SINCE;
import static dev.postern.testkit.AuditSamples.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.TlsReport.DomainShares;
import dev.postern.audit.TlsReport.Enforced;
import dev.postern.audit.TlsReport.Part;
import dev.postern.audit.TlsReport.Shares;
import dev.postern.audit.TlsReport.Usage;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.testkit.AuditSamples;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every figure of the TLS report and of "certificates seen", from a store filled with known traffic
 * ({@link AuditSamples#knownTraffic()}: its comments say what each block must count as).
 */
class TlsReportTest {
    @TempDir Path dir;

    static JdbcAuditStore filled(Backend backend, Path dir) throws Exception {
        JdbcAuditStore store = JdbcAuditStore.open(backend.newUrl(dir), null, null, "gw-a");
        store.write(AuditSamples.knownTraffic());
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
