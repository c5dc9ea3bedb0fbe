package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.tls.Certificates.KeyType;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One server context with an RSA and an ECDSA certificate: real handshakes on loopback show that each client gets the
 * certificate it can use, whichever order the certificates were given in, in TLS 1.3 (signature schemes) and TLS 1.2
 * (signature schemes and cipher suites).
 */
class MultipleCertificatesTest {
    static KeyMaterial rsa;
    static KeyMaterial ec;

    @BeforeAll static void certificates() {
        rsa = Certificates.selfSigned(List.of("gw.example"), KeyType.RSA_2048, Duration.ofDays(30));
        ec = Certificates.selfSigned(List.of("gw.example"), KeyType.EC_P256, Duration.ofDays(30));
    }

    static Stream<Arguments> clients() {
        return Stream.of("TLSv1.3", "TLSv1.2").flatMap(protocol -> Stream.of(
                Arguments.of(ClientShape.rsaOnly(protocol), "RSA"),
                Arguments.of(ClientShape.ecdsaOnly(protocol), "EC"),
                Arguments.of(ClientShape.jdkDefault(protocol), "EC"))); // ECDSA preferred when both will do
    }

    @ParameterizedTest(name = "{0} gets {1}")
    @MethodSource("clients")
    void eachClientGetsACertificateItSupports(ClientShape client, String keyType) throws Exception {
        KeyMaterial expected = keyType.equals("RSA") ? rsa : ec;
        for (List<KeyMaterial> order : List.of(List.of(rsa, ec), List.of(ec, rsa))) {
            SSLContext server = TlsContexts.server(order);
            assertThat(client.served(server)).as("%s, certificates in the order %s", client, order)
                    .isEqualTo(expected.leaf());
        }
    }

    @ParameterizedTest(name = "TLS 1.2 with {0} suites only")
    @ValueSource(strings = {"RSA", "ECDSA"})
    void inTls12TheCipherSuiteDecides(String authentication) throws Exception {
        KeyMaterial expected = authentication.equals("RSA") ? rsa : ec;
        for (List<KeyMaterial> order : List.of(List.of(rsa, ec), List.of(ec, rsa))) {
            assertThat(ClientShape.tls12Suites(authentication).served(TlsContexts.server(order)))
                    .isEqualTo(expected.leaf());
        }
    }

    /** The control: with the ECDSA certificate alone, an RSA-only client has no certificate it could accept. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void withOneCertificateTheOtherKindOfClientFails(String protocol) {
        assertThatThrownBy(() -> ClientShape.rsaOnly(protocol).served(TlsContexts.server(ec)))
                .isInstanceOf(SSLHandshakeException.class);
        assertThatThrownBy(() -> ClientShape.ecdsaOnly(protocol).served(TlsContexts.server(rsa)))
                .isInstanceOf(SSLHandshakeException.class);
    }

    @Test void noCertificateIsNoContext() {
        assertThatThrownBy(() -> TlsContexts.server(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
