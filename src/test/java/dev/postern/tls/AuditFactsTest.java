package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.CertificateSummary;
import dev.postern.testkit.RecordingAudit;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A certificate chain as the audit keeps it, and the record of a certificate reload. */
class AuditFactsTest {
    @TempDir Path dir;

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test void chainSummaryHasEveryFieldAndThePemOfTheLeafOnly() throws Exception {
        TestPki.Issued root = TestPki.root("Audit Root");
        TestPki.Issued leaf = TestPki.cert("mx.b.example").issuer(root).dns("mx.b.example", "mx2.b.example")
                .ip("192.0.2.7").keyType(Certificates.KeyType.RSA_2048).build();
        List<CertificateSummary> chain = AuditFacts.chain(List.of(leaf.cert(), root.cert()));

        assertThat(chain).hasSize(2);
        CertificateSummary s = chain.getFirst();
        assertThat(s.subject()).isEqualTo("CN=mx.b.example");
        assertThat(s.issuer()).isEqualTo("CN=Audit Root");
        assertThat(s.sans()).containsExactly("mx.b.example", "mx2.b.example", "192.0.2.7");
        assertThat(s.keyType()).isEqualTo("RSA");
        assertThat(s.keyBits()).isEqualTo(2048);
        assertThat(s.notBefore()).isEqualTo(leaf.cert().getNotBefore().toInstant());
        assertThat(s.notAfter()).isEqualTo(leaf.cert().getNotAfter().toInstant().truncatedTo(ChronoUnit.SECONDS));
        assertThat(s.sha256()).isEqualTo(sha256(leaf.cert().getEncoded()));
        assertThat(s.spkiSha256()).isEqualTo(sha256(leaf.cert().getPublicKey().getEncoded()));
        Path pem = dir.resolve("leaf.pem");
        java.nio.file.Files.writeString(pem, s.pem());
        assertThat(Pem.readCertificates(pem)).containsExactly(leaf.cert());

        CertificateSummary ca = chain.get(1);
        assertThat(ca.subject()).isEqualTo("CN=Audit Root");
        assertThat(ca.keyType()).isEqualTo("EC");
        assertThat(ca.keyBits()).isEqualTo(256);
        assertThat(ca.sans()).isEmpty();
        assertThat(ca.pem()).isNull();
    }

    @Test void aReloadedCertificateIsRecordedWithTheGatewayAsActor() throws Exception {
        Path cert = dir.resolve("server.crt");
        Path key = dir.resolve("server.key");
        Pem.write(Certificates.selfSigned(List.of("old.example"), Certificates.KeyType.EC_P256, Duration.ofDays(2)),
                cert, key);
        RecordingAudit audit = new RecordingAudit();
        ReloadingServerContext context = ReloadingServerContext.load(cert, key, Duration.ZERO).auditTo(audit);
        context.get();
        assertThat(audit.all()).as("nothing changed yet").isEmpty();

        KeyMaterial renewed = Certificates.selfSigned(List.of("new.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(2));
        Pem.write(renewed, cert, key);
        context.get();

        AdminRecord r = audit.await(AdminRecord.class, a -> a.action() == AdminRecord.Action.CERTIFICATE_RELOAD);
        assertThat(r.actor()).isEqualTo("gateway");
        assertThat(r.target()).isEqualTo(cert.toString());
        assertThat(r.detail()).contains("CN=new.example").contains(sha256(renewed.leaf().getEncoded()));
    }
}
