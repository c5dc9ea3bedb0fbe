package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.tls.Certificates.KeyType;
import java.io.IOException;
import java.net.InetAddress;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CertificatesTest {
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final int DNS = 2;
    private static final int IP = 7;

    @ParameterizedTest
    @CsvSource({"RSA_2048, EC_P256, SHA256withRSA", "EC_P256, RSA_2048, SHA256withECDSA", "EC_P384, EC_P384, SHA256withECDSA"})
    void issuedLeafVerifiesAgainstItsCaAndCarriesTheLeafProfile(KeyType caType, KeyType leafType, String signature)
            throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", caType, Duration.ofDays(30));
        KeyMaterial leaf = Certificates.issue(ca, List.of("mx.example.test", "mx2.example.test", "192.0.2.25", "2001:db8::25"),
                leafType, Instant.now().minus(1, ChronoUnit.MINUTES), Duration.ofDays(2));
        X509Certificate cert = leaf.leaf();
        X509Certificate caCert = ca.leaf();

        cert.verify(caCert.getPublicKey());
        assertThat(leaf.chain()).containsExactly(cert, caCert);
        assertThat(cert.getIssuerX500Principal()).isEqualTo(caCert.getSubjectX500Principal());
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=mx.example.test");
        assertThat(cert.getSigAlgName()).isEqualTo(signature);
        assertThat(cert.getPublicKey().getAlgorithm()).isEqualTo(leafType.name().startsWith("RSA") ? "RSA" : "EC");

        assertThat(names(cert, DNS)).containsExactly("mx.example.test", "mx2.example.test");
        assertThat(names(cert, IP).stream().map(CertificatesTest::address))
                .containsExactly(address("192.0.2.25"), address("2001:db8::25"));
        assertThat(cert.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
        assertThat(cert.getBasicConstraints()).isEqualTo(-1);
        boolean[] usage = cert.getKeyUsage();
        assertThat(usage[0]).as("digitalSignature").isTrue();
        assertThat(usage[2]).as("keyEncipherment").isEqualTo(leafType.name().startsWith("RSA"));
        assertThat(usage[5]).as("keyCertSign").isFalse();
        assertThat(cert.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
        assertThat(authorityKeyId(cert)).isEqualTo(subjectKeyId(caCert));

        // The whole profile is acceptable to the JDK's PKIX validator.
        var path = CertificateFactory.getInstance("X.509").generateCertPath(List.of(cert));
        var parameters = new PKIXParameters(Set.of(new TrustAnchor(caCert, null)));
        parameters.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(path, parameters);
    }

    @Test
    void certificateAuthorityIsACa() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        X509Certificate cert = ca.leaf();

        cert.verify(cert.getPublicKey());
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=Postern Test CA");
        assertThat(cert.getIssuerX500Principal()).isEqualTo(cert.getSubjectX500Principal());
        assertThat(cert.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        boolean[] usage = cert.getKeyUsage();
        assertThat(usage[5]).as("keyCertSign").isTrue();
        assertThat(usage[6]).as("cRLSign").isTrue();
        assertThat(subjectKeyId(cert)).isNotEmpty().isEqualTo(authorityKeyId(cert));
    }

    @Test
    void expiredLeafIsExpired() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial expired = Certificates.issue(ca, List.of("old.example.test"), KeyType.EC_P256,
                Instant.now().minus(Duration.ofDays(3)), Duration.ofDays(1));
        X509Certificate cert = expired.leaf();

        cert.verify(ca.leaf().getPublicKey());
        assertThat(cert.getNotAfter().toInstant()).isBefore(Instant.now().minus(Duration.ofDays(1)));
        assertThatThrownBy(cert::checkValidity).isInstanceOf(CertificateExpiredException.class);

        var path = CertificateFactory.getInstance("X.509").generateCertPath(List.of(cert));
        var parameters = new PKIXParameters(Set.of(new TrustAnchor(ca.leaf(), null)));
        parameters.setRevocationEnabled(false);
        assertThatThrownBy(() -> CertPathValidator.getInstance("PKIX").validate(path, parameters))
                .isInstanceOf(CertPathValidatorException.class)
                .hasRootCauseInstanceOf(CertificateExpiredException.class);
    }

    @Test
    void selfSignedServerCertificate() throws Exception {
        Instant before = Instant.now();
        KeyMaterial material = Certificates.selfSigned(List.of("mx.example.test", "127.0.0.1"), KeyType.RSA_2048,
                Duration.ofDays(10));
        X509Certificate cert = material.leaf();

        cert.verify(cert.getPublicKey());
        cert.checkValidity();
        assertThat(material.chain()).containsExactly(cert);
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=mx.example.test");
        assertThat(names(cert, DNS)).containsExactly("mx.example.test");
        assertThat(names(cert, IP)).containsExactly("127.0.0.1");
        assertThat(cert.getBasicConstraints()).isEqualTo(-1);
        assertThat(cert.getExtendedKeyUsage()).contains(SERVER_AUTH);
        assertThat(cert.getSigAlgName()).isEqualTo("SHA256withRSA");
        assertThat(((RSAPublicKey) cert.getPublicKey()).getModulus().bitLength()).isEqualTo(2048);
        assertThat(cert.getNotAfter().toInstant())
                .isBetween(before.plus(Duration.ofDays(10)).minusSeconds(5), Instant.now().plus(Duration.ofDays(10)));
        assertThat(material.toString()).doesNotContain("PRIVATE").contains("CN=mx.example.test");
    }

    @Test
    void keyTypesGiveTheRequestedKeys() {
        var p384 = Certificates.selfSigned(List.of("a.example.test"), KeyType.EC_P384, Duration.ofDays(1));
        var p256 = Certificates.selfSigned(List.of("a.example.test"), KeyType.EC_P256, Duration.ofDays(1));
        var rsa3072 = Certificates.selfSigned(List.of("a.example.test"), KeyType.RSA_3072, Duration.ofDays(1));
        assertThat(((ECPublicKey) p384.leaf().getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(384);
        assertThat(((ECPublicKey) p256.leaf().getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        assertThat(((RSAPublicKey) rsa3072.leaf().getPublicKey()).getModulus().bitLength()).isEqualTo(3072);
        assertThat(p256.leaf().getSigAlgName()).isEqualTo("SHA256withECDSA");
    }

    @Test
    void serialsAreRandomPositiveAndAtMost128Bits() {
        var a = Certificates.selfSigned(List.of("a.example.test"), KeyType.EC_P256, Duration.ofDays(1)).leaf().getSerialNumber();
        var b = Certificates.selfSigned(List.of("a.example.test"), KeyType.EC_P256, Duration.ofDays(1)).leaf().getSerialNumber();
        assertThat(a.signum()).isPositive();
        assertThat(b.signum()).isPositive();
        assertThat(a.bitLength()).isLessThanOrEqualTo(128).isGreaterThan(64);
        assertThat(a).isNotEqualTo(b);
    }

    @Test
    void rejectsEmptyHostsAndNonPositiveValidity() {
        assertThatThrownBy(() -> Certificates.selfSigned(List.of(), KeyType.EC_P256, Duration.ofDays(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Certificates.selfSigned(List.of("a.example.test"), KeyType.EC_P256, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> names(X509Certificate cert, int type) throws Exception {
        Collection<List<?>> all = cert.getSubjectAlternativeNames();
        return all.stream().filter(n -> (Integer) n.get(0) == type).map(n -> (String) n.get(1)).toList();
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal); // a literal: parsed, not resolved
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] subjectKeyId(X509Certificate cert) throws IOException {
        return SubjectKeyIdentifier.getInstance(JcaX509ExtensionUtils.parseExtensionValue(cert.getExtensionValue("2.5.29.14")))
                .getKeyIdentifier();
    }

    private static byte[] authorityKeyId(X509Certificate cert) throws IOException {
        return AuthorityKeyIdentifier.getInstance(JcaX509ExtensionUtils.parseExtensionValue(cert.getExtensionValue("2.5.29.35")))
                .getKeyIdentifierOctets();
    }
}
