package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.testkit.ListsOnlyTrustManager;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.TlsFacts.ClientCertificate;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 11 item 5: Postern's outbound client certificate is presented whenever the server asks, even when the server's
 * list of acceptable CAs does not name its issuer (a partner that pins the bank's certificate, or lists only its own
 * CA); only the key type must fit. Whether the server asked is in the session's {@link TlsFacts}. Real JDK TLS servers
 * on loopback, with the client side exactly as delivery builds it ({@link TlsContexts#client},
 * {@link TlsContexts#wrapClient}, {@link TlsFacts#ofClient}).
 */
class ClientCertificateTest {
    static KeyMaterial bankCa;
    static KeyMaterial bank;        // RSA, issued by the bank's CA
    static KeyMaterial partnerCa;   // the only CA the partner's server lists
    static KeyMaterial partnerServer;

    @BeforeAll static void certificates() {
        Instant now = Instant.now().minusSeconds(60);
        bankCa = Certificates.certificateAuthority("Bank CA", KeyType.EC_P256, Duration.ofDays(30));
        bank = Certificates.issue(bankCa, List.of("mail.bank.example"), KeyType.RSA_2048, now, Duration.ofDays(10));
        partnerCa = Certificates.certificateAuthority("Partner CA", KeyType.EC_P256, Duration.ofDays(30));
        partnerServer = Certificates.issue(partnerCa, List.of("mx.partner.example"), KeyType.EC_P256, now,
                Duration.ofDays(10));
    }

    /** What the server saw, and what the client recorded. */
    record Seen(X509Certificate serverGot, TlsFacts client) {}

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void presentedAlthoughItsIssuerIsNotListed(String protocol) throws Exception {
        Seen seen = handshake(TlsContexts.client(bank), Request.WANT, protocol, null);
        assertThat(seen.serverGot()).isEqualTo(bank.leaf());
        assertThat(seen.client().clientCertificate()).isEqualTo(ClientCertificate.SENT);
    }

    /** A server that requires one (and lists a foreign CA) gets it and the handshake completes. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aServerThatRequiresOneGetsIt(String protocol) throws Exception {
        Seen seen = handshake(TlsContexts.client(bank), Request.NEED, protocol, null);
        assertThat(seen.serverGot()).isEqualTo(bank.leaf());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aServerThatDoesNotAskIsRecordedAsNotAsking(String protocol) throws Exception {
        Seen seen = handshake(TlsContexts.client(bank), Request.NONE, protocol, null);
        assertThat(seen.serverGot()).isNull();
        assertThat(seen.client().clientCertificate()).isEqualTo(ClientCertificate.NOT_ASKED);
    }

    /** The key type still counts: a server that verifies ECDSA signatures only does not get the RSA certificate. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void theKeyTypeMustFit(String protocol) throws Exception {
        Seen seen = handshake(TlsContexts.client(bank), Request.WANT, protocol, List.of("ecdsa_secp256r1_sha256"));
        assertThat(seen.serverGot()).isNull();
        assertThat(seen.client().clientCertificate()).isEqualTo(ClientCertificate.ASKED_NONE_SENT);
    }

    /** Without a certificate configured, a request is still noted. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void opportunisticClientsNoteARequestToo(String protocol) throws Exception {
        Seen seen = handshake(TlsContexts.opportunisticClient(), Request.WANT, protocol, null);
        assertThat(seen.serverGot()).isNull();
        assertThat(seen.client().clientCertificate()).isEqualTo(ClientCertificate.ASKED_NONE_SENT);
        assertThat(handshake(TlsContexts.opportunisticClient(), Request.NONE, protocol, null).client()
                .clientCertificate()).isEqualTo(ClientCertificate.NOT_ASKED);
    }

    enum Request { NONE, WANT, NEED }

    /**
     * One handshake with a partner server that asks as {@code request}, listing only the partner CA as acceptable,
     * accepting whatever comes (so the test sees what was sent), and verifying only {@code schemes} when given.
     */
    private static Seen handshake(SSLContext client, Request request, String protocol, List<String> schemes)
            throws Exception {
        SSLContext server = SSLContext.getInstance("TLS");
        server.init(new KeyManager[] {TlsContexts.keyManager(List.of(partnerServer))},
                new TrustManager[] {new ListsOnlyTrustManager(partnerCa.leaf())}, null);
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<X509Certificate> got = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (Socket plain = listener.accept();
                     SSLSocket tls = (SSLSocket) server.getSocketFactory().createSocket(plain, null, 0, true)) {
                    tls.setUseClientMode(false);
                    SSLParameters p = tls.getSSLParameters();
                    p.setProtocols(new String[] {protocol});
                    if (schemes != null) p.setSignatureSchemes(schemes.toArray(String[]::new));
                    if (request == Request.WANT) p.setWantClientAuth(true);
                    if (request == Request.NEED) p.setNeedClientAuth(true);
                    tls.setSSLParameters(p);
                    tls.setSoTimeout(10_000);
                    tls.startHandshake();
                    tls.getOutputStream().write(tls.getInputStream().read());
                    tls.getOutputStream().flush();
                    got.complete(leaf(tls));
                } catch (Throwable e) {
                    got.completeExceptionally(e);
                }
            });
            try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                 SSLSocket tls = TlsContexts.wrapClient(client, plain, "mx.partner.example",
                         listener.getLocalPort())) {
                tls.setSoTimeout(10_000);
                tls.startHandshake();
                tls.getOutputStream().write('x');
                tls.getOutputStream().flush();
                assertThat(tls.getInputStream().read()).isEqualTo('x');
                assertThat(tls.getSession().getProtocol()).isEqualTo(protocol);
                return new Seen(got.get(10, TimeUnit.SECONDS), TlsFacts.ofClient(tls.getSession()));
            }
        }
    }

    private static X509Certificate leaf(SSLSocket tls) {
        try {
            Certificate[] chain = tls.getSession().getPeerCertificates();
            return (X509Certificate) chain[0];
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
