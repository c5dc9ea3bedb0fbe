package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.tls.Certificates.KeyType;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TlsHandshakeTest {
    private static KeyMaterial rsa;
    private static KeyMaterial ec;

    @BeforeAll
    static void material() {
        rsa = Certificates.selfSigned(List.of("mx.example.test", "127.0.0.1"), KeyType.RSA_2048, Duration.ofDays(1));
        ec = Certificates.selfSigned(List.of("mx.example.test"), KeyType.EC_P256, Duration.ofDays(1));
    }

    @Test
    void opportunisticClientNegotiatesTls13WithAes256() throws Exception {
        SSLContext client = TlsContexts.opportunisticClient();
        var outcome = Handshakes.run(Handshakes.postern(TlsContexts.server(rsa)),
                plain -> TlsContexts.wrapClient(client, plain, "mx.example.test", 25));

        assertThat(outcome.clientFailure()).isNull();
        assertThat(outcome.serverFailure()).isNull();
        assertThat(outcome.client().protocol()).isEqualTo("TLSv1.3");
        assertThat(outcome.client().cipher()).isEqualTo("TLS_AES_256_GCM_SHA384");
        assertThat(outcome.client().cipherBits()).isEqualTo(256);
        assertThat(outcome.client().peerCertificate()).isEqualTo("CN=mx.example.test");
        assertThat(outcome.client().receivedClause())
                .isEqualTo("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))");
        assertThat(outcome.server()).isEqualTo(new TlsFacts("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, null));
    }

    @Test
    void ecCertificateAndIpLiteralPeerWork() throws Exception {
        SSLContext client = TlsContexts.opportunisticClient();
        var outcome = Handshakes.run(Handshakes.postern(TlsContexts.server(ec)),
                plain -> TlsContexts.wrapClient(client, plain, "127.0.0.1", 25));

        assertThat(outcome.clientFailure()).isNull();
        assertThat(outcome.client().protocol()).isEqualTo("TLSv1.3");
        assertThat(outcome.client().peerCertificate()).isEqualTo("CN=mx.example.test");
    }

    @Test
    void serverOrderWinsOverClientOrderOnTls12() throws Exception {
        SSLContext client = TlsContexts.opportunisticClient();
        var outcome = Handshakes.run(Handshakes.postern(TlsContexts.server(rsa)), plain -> {
            SSLSocket socket = TlsContexts.wrapClient(client, plain, "mx.example.test", 25);
            socket.setEnabledProtocols(new String[] {"TLSv1.2"});
            // The client prefers AES-128; Postern's server must still choose AES-256.
            socket.setEnabledCipherSuites(new String[] {
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"});
            return socket;
        });

        assertThat(outcome.clientFailure()).isNull();
        assertThat(outcome.client().protocol()).isEqualTo("TLSv1.2");
        assertThat(outcome.client().cipher()).isEqualTo("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        assertThat(outcome.client().receivedClause())
                .isEqualTo("(using TLSv1.2 with cipher TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (256/256 bits))");
    }

    @Test
    void chachaIsPreferredOverAes128() throws Exception {
        SSLContext client = TlsContexts.opportunisticClient();
        var outcome = Handshakes.run(Handshakes.postern(TlsContexts.server(ec)), plain -> {
            SSLSocket socket = TlsContexts.wrapClient(client, plain, "mx.example.test", 25);
            socket.setEnabledCipherSuites(new String[] {"TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"});
            return socket;
        });

        assertThat(outcome.clientFailure()).isNull();
        assertThat(outcome.client().cipher()).isEqualTo("TLS_CHACHA20_POLY1305_SHA256");
        assertThat(outcome.client().cipherBits()).isEqualTo(256);
    }

    @Test
    void clientOfferingOnlyCbcFails() throws Exception {
        SSLContext server = TlsContexts.server(rsa);
        SSLContext client = TlsContexts.opportunisticClient();
        String cbc = "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";
        Handshakes.ClientSide cbcOnly = plain -> {
            SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(plain, "mx.example.test", 25, true);
            socket.setEnabledProtocols(new String[] {"TLSv1.2"});
            socket.setEnabledCipherSuites(new String[] {cbc});
            return socket;
        };

        // Control: a JSSE server with default settings accepts this client, so the failure below is Postern's doing.
        var control = Handshakes.run(plain -> {
            SSLSocket socket = (SSLSocket) server.getSocketFactory().createSocket(plain, null, plain.getPort(), true);
            socket.setUseClientMode(false);
            return socket;
        }, cbcOnly);
        assertThat(control.clientFailure()).isNull();
        assertThat(control.client().cipher()).isEqualTo(cbc);

        var outcome = Handshakes.run(Handshakes.postern(server), cbcOnly);
        assertThat(outcome.clientFailure()).isInstanceOf(SSLException.class);
        assertThat(outcome.serverFailure()).isInstanceOf(SSLHandshakeException.class);
        assertThat(outcome.client()).isNull();
    }

    @Test
    void wrappedSocketsEnableOnlyModernProtocolsAndAeadSuites() throws Exception {
        try (var listener = loopbackListener(); var plainClient = connect(listener); var plainServer = listener.accept()) {
            SSLSocket server = TlsContexts.wrapServer(TlsContexts.server(rsa), plainServer);
            SSLSocket client = TlsContexts.wrapClient(TlsContexts.opportunisticClient(), plainClient, "mx.example.test", 25);
            for (SSLSocket socket : List.of(server, client)) {
                assertThat(socket.getEnabledProtocols()).containsExactly("TLSv1.3", "TLSv1.2");
                assertThat(socket.getEnabledCipherSuites()).isNotEmpty().allSatisfy(suite -> assertThat(suite)
                        .matches("TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)"
                                + "|TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)"));
            }
            assertThat(server.getUseClientMode()).isFalse();
            assertThat(server.getSSLParameters().getUseCipherSuitesOrder()).isTrue();
            List<String> order = Arrays.asList(server.getEnabledCipherSuites());
            assertThat(order.getFirst()).contains("AES_256_GCM");
            assertThat(order.indexOf("TLS_AES_256_GCM_SHA384")).isLessThan(order.indexOf("TLS_CHACHA20_POLY1305_SHA256"));
            assertThat(order.indexOf("TLS_CHACHA20_POLY1305_SHA256")).isLessThan(order.indexOf("TLS_AES_128_GCM_SHA256"));
            assertThat(order.indexOf("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"))
                    .isLessThan(order.indexOf("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"))
                    .isLessThan(order.indexOf("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));

            assertThat(client.getUseClientMode()).isTrue();
            assertThat(client.getSSLParameters().getEndpointIdentificationAlgorithm()).isNull();
            assertThat(client.getSSLParameters().getServerNames())
                    .containsExactly(new javax.net.ssl.SNIHostName("mx.example.test"));
        }
    }

    @Test
    void sniIsOmittedForIpLiteralsAndTrailingDotsAreDropped() throws Exception {
        SSLContext context = TlsContexts.opportunisticClient();
        try (var listener = loopbackListener(); var a = connect(listener); var b = connect(listener); var c = connect(listener)) {
            assertThat(TlsContexts.wrapClient(context, a, "192.0.2.1", 25).getSSLParameters().getServerNames()).isEmpty();
            assertThat(TlsContexts.wrapClient(context, b, "2001:db8::1", 25).getSSLParameters().getServerNames()).isEmpty();
            assertThat(TlsContexts.wrapClient(context, c, "MX.Example.Test.", 25).getSSLParameters().getServerNames())
                    .containsExactly(new javax.net.ssl.SNIHostName("mx.example.test"));
        }
    }

    private static ServerSocket loopbackListener() throws IOException {
        return new ServerSocket(0, 3, InetAddress.getLoopbackAddress());
    }

    /** A connected plaintext socket; the kernel completes the connection from the listener's backlog. */
    private static Socket connect(ServerSocket listener) throws IOException {
        return new Socket(listener.getInetAddress(), listener.getLocalPort());
    }
}
