package dev.postern.audit;

import static dev.postern.testkit.AuditSamples.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.audit.TlsSessionRecord.Verification;
import dev.postern.testkit.AuditSamples;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Values an attacker controls (a client's EHLO name and Message-ID, a next hop's replies, a certificate's subject)
 * reach the store as they were sent: a NUL, which PostgreSQL refuses in TEXT, or a huge reply must not make the
 * record unwritable (the writer would replay it for ever) nor fill the store.
 */
class HostileValuesTest {
    @TempDir Path dir;

    private static final String NUL = "a\u0000b";
    private static final String HUGE = "x".repeat(200_000);

    @ParameterizedTest @EnumSource(Backend.class)
    void nulBytesAndHugeValuesAreStoredNeutralised(Backend backend) throws Exception {
        String url = backend.newUrl(dir);
        CertificateSummary leaf = AuditSamples.leaf("mx.evil.example", T0.plusSeconds(86400));
        CertificateSummary evilLeaf = new CertificateSummary("CN=" + NUL, List.of("x\u0000.example"), "CN=ca" + NUL,
                leaf.notBefore(), leaf.notAfter(), leaf.keyType(), leaf.keyBits(), leaf.sha256(), leaf.spkiSha256(),
                leaf.pem());
        TlsSessionRecord in = new TlsSessionRecord("in-x", T0, Direction.IN, "mx 0.0.0.0:25", "198.51.100.7", 4000,
                "helo" + NUL + HUGE, null, "TLSv1.3", "TLS_AES_128_GCM_SHA256", 128, null, false, "sni" + NUL,
                List.of(evilLeaf), Verification.FAILED, "untrusted" + NUL, "untrusted: " + NUL, null, null,
                new PolicyApplied("may", "listener", "listener" + NUL, "enforce", List.of(NUL)));
        MessageRecord m = new MessageRecord(T0.plusSeconds(1), "Q1", "id" + NUL + HUGE, "a@b.example",
                List.of("c@d.example"), 10, "in-x", "198.51.100.7", "helo" + NUL, "user" + NUL, "CN=" + NUL, false,
                "smtp");
        DeliveryRecord d = new DeliveryRecord(T0.plusSeconds(2), "Q1", "c@d.example", 1, "mx" + NUL, 10,
                "203.0.113.5", 25, null, "no TLS" + NUL, List.of("250 ok" + NUL, HUGE), Outcome.DELIVERED, "2.0.0",
                "250" + NUL + HUGE, null, List.of("mx[203.0.113.5]:25 " + NUL));
        AdminRecord a = new AdminRecord(T0.plusSeconds(3), "root" + NUL, AdminRecord.Action.QUEUE_HOLD, "Q1" + NUL,
                "why" + NUL + HUGE);
        try (JdbcAuditStore store = JdbcAuditStore.open(url, null, null, "gw")) {
            store.write(List.of(in, m, d, a));
            MessageTrace t = store.trace("Q1").getFirst();
            assertThat(t.message().messageId()).startsWith("ida\uFFFDb").doesNotContain("\u0000")
                    .hasSizeLessThanOrEqualTo(JdbcAuditStore.MAX_TEXT);
            assertThat(t.message().ehloName()).isEqualTo("heloa\uFFFDb");
            assertThat(t.inbound().ehloName()).startsWith("heloa\uFFFDb").hasSizeLessThanOrEqualTo(JdbcAuditStore.MAX_TEXT);
            assertThat(t.inbound().peerChain().getFirst().subject()).isEqualTo("CN=a\uFFFDb");
            assertThat(t.inbound().peerChain().getFirst().sans()).containsExactly("x\uFFFD.example");
            assertThat(t.inbound().policy().wouldFail()).containsExactly("a\uFFFDb");
            DeliveryRecord back = t.deliveries().getFirst();
            assertThat(back.replies().getFirst()).isEqualTo("250 oka\uFFFDb");
            assertThat(back.replies().get(1)).hasSizeLessThanOrEqualTo(JdbcAuditStore.MAX_TEXT);
            assertThat(back.reason()).hasSizeLessThanOrEqualTo(JdbcAuditStore.MAX_TEXT);
            assertThat(back.hostsTried()).containsExactly("mx[203.0.113.5]:25 a\uFFFDb");
        }
        assertThat(Backend.count(url, "SELECT COUNT(*) FROM admin_action")).isEqualTo(1);
        assertThat(Backend.count(url, "SELECT MAX(LENGTH(detail)) FROM admin_action"))
                .isLessThanOrEqualTo(JdbcAuditStore.MAX_TEXT);
    }
}
