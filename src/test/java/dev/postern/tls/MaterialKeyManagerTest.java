package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.tls.Certificates.KeyType;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * How the server's key manager chooses among several certificates of one key type (the key type itself is covered by
 * {@link MultipleCertificatesTest}): only chains signed with algorithms the client accepts, then one valid now, then
 * one covering the client's SNI name, then the first. Real handshakes on loopback.
 */
class MaterialKeyManagerTest {
    static KeyMaterial a;          // EC, a.example
    static KeyMaterial b;          // EC, b.example
    static KeyMaterial expired;    // EC, a.example, expired yesterday
    static KeyMaterial rsaSigned;  // EC key, a.example, signed by an RSA CA

    @BeforeAll static void certificates() {
        a = Certificates.selfSigned(List.of("a.example"), KeyType.EC_P256, Duration.ofDays(30));
        b = Certificates.selfSigned(List.of("b.example"), KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial ca = Certificates.certificateAuthority("Old CA", KeyType.EC_P256, Duration.ofDays(30));
        expired = Certificates.issue(ca, List.of("old.example", "a.example"), KeyType.EC_P256,
                Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(9));
        KeyMaterial rsaCa = Certificates.certificateAuthority("RSA CA", KeyType.RSA_2048, Duration.ofDays(30));
        rsaSigned = Certificates.issue(rsaCa, List.of("rsa-signed.example", "a.example"), KeyType.EC_P256, Instant.now().minusSeconds(60),
                Duration.ofDays(10));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void theSniNameChooses(String protocol) throws Exception {
        for (List<KeyMaterial> order : List.of(List.of(a, b), List.of(b, a))) {
            SSLContext server = TlsContexts.server(order);
            assertThat(served(server, protocol, "b.example", null)).isEqualTo(subject(b));
            assertThat(served(server, protocol, "a.example", null)).isEqualTo(subject(a));
            assertThat(served(server, protocol, "127.0.0.1", null)).as("no SNI: the first")
                    .isEqualTo(subject(order.getFirst()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aValidCertificateBeatsAnExpiredOne(String protocol) throws Exception {
        SSLContext server = TlsContexts.server(List.of(expired, b));
        assertThat(served(server, protocol, "a.example", null)).as("valid beats the SNI match").isEqualTo(subject(b));
        assertThat(served(TlsContexts.server(List.of(expired)), protocol, "a.example", null))
                .as("an expired one rather than none").isEqualTo(subject(expired));
    }

    /** A client that accepts only ECDSA signatures does not get an EC key certified by an RSA signature. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void onlyChainsSignedAsTheClientAccepts(String protocol) throws Exception {
        SSLContext server = TlsContexts.server(List.of(rsaSigned, b));
        assertThat(served(server, protocol, "a.example", List.of("ecdsa_secp256r1_sha256"))).isEqualTo(subject(b));
        assertThat(served(server, protocol, "a.example", null)).as("a client that takes both").isEqualTo(subject(rsaSigned));
    }

    /** The subject of the leaf served to a client of {@code protocol} asking for {@code sni}, offering {@code schemes}. */
    private static String served(SSLContext server, String protocol, String sni, List<String> schemes)
            throws Exception {
        Handshakes.Outcome o = Handshakes.run(Handshakes.postern(server), plain -> {
            SSLSocket tls = TlsContexts.wrapClient(TlsContexts.opportunisticClient(), plain, sni, plain.getPort());
            SSLParameters p = tls.getSSLParameters();
            p.setProtocols(new String[] {protocol});
            if (schemes != null) p.setSignatureSchemes(schemes.toArray(String[]::new));
            tls.setSSLParameters(p);
            return tls;
        });
        assertThat(o.clientFailure()).isNull();
        assertThat(o.client().protocol()).isEqualTo(protocol);
        return o.client().peerCertificate();
    }

    private static String subject(KeyMaterial m) {
        return m.leaf().getSubjectX500Principal().getName();
    }
}
