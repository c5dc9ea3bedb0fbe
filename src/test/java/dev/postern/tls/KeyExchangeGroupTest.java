package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.tls.Certificates.KeyType;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The key-exchange group of real JSSE handshakes on loopback, as {@link AuditFacts#keyExchangeGroup} tells it on both
 * sides: Postern's server ({@link TlsContexts#wrapServer}) against Postern's client ({@link TlsContexts#wrapClient}),
 * each restricted to the groups the case needs, so that the group is the one the case forces.
 */
class KeyExchangeGroupTest {
    static KeyMaterial ec;
    static KeyMaterial rsa;

    @BeforeAll static void certificates() {
        ec = Certificates.selfSigned(List.of("gw.example"), KeyType.EC_P256, Duration.ofDays(30));
        rsa = Certificates.selfSigned(List.of("gw.example"), KeyType.RSA_2048, Duration.ofDays(30));
    }

    /** The group each side reported, and the protocol. */
    record Seen(String server, String client, String protocol, boolean resumed) {}

    @Test void tls13X25519() throws Exception {
        Seen seen = handshake(TlsContexts.server(ec), "TLSv1.3", List.of("x25519"), List.of("x25519"));
        assertThat(seen).isEqualTo(new Seen("x25519", "x25519", "TLSv1.3", false));
    }

    @Test void tls13Secp256r1() throws Exception {
        Seen seen = handshake(TlsContexts.server(ec), "TLSv1.3", List.of("secp256r1"), List.of("secp256r1"));
        assertThat(seen).isEqualTo(new Seen("secp256r1", "secp256r1", "TLSv1.3", false));
    }

    /**
     * JSSE's client sends a key share for its first group of each kind (one XDH, one NIST curve): offering secp256r1
     * then secp384r1 it shares secp256r1 only, so a server that allows only secp384r1 asks again (HelloRetryRequest).
     */
    @Test void tls13AfterAHelloRetryRequest() throws Exception {
        Seen seen = handshake(TlsContexts.server(ec), "TLSv1.3", List.of("secp256r1", "secp384r1"),
                List.of("secp384r1"));
        assertThat(seen).isEqualTo(new Seen("secp384r1", "secp384r1", "TLSv1.3", false));
    }

    /** The server's preference decides when the client shares several. */
    @Test void tls13ServerPreference() throws Exception {
        Seen seen = handshake(TlsContexts.server(ec), "TLSv1.3", List.of("x25519", "secp384r1"),
                List.of("secp384r1", "x25519"));
        assertThat(seen.server()).isEqualTo(seen.client()).isIn("x25519", "secp384r1");
    }

    @Test void tls12EcdheSecp384r1WithEachCertificateType() throws Exception {
        for (KeyMaterial m : List.of(ec, rsa)) {
            // TLS 1.2 ECDSA also needs the certificate's curve (P-256) among the groups; the client's order decides.
            Seen seen = handshake(TlsContexts.server(m), "TLSv1.2", List.of("secp384r1", "secp256r1"),
                    List.of("secp256r1", "secp384r1"));
            assertThat(seen).as(m.leaf().getPublicKey().getAlgorithm())
                    .isEqualTo(new Seen("secp384r1", "secp384r1", "TLSv1.2", false));
        }
    }

    /**
     * A resumed TLS 1.2 session makes no key exchange: the client tells the group its session was made with; the
     * server, which resumes from a ticket, cannot (null: unknown, not a guess).
     */
    @Test void tls12ResumptionKeepsTheGroupOfItsSession() throws Exception {
        SSLContext server = TlsContexts.server(ec);
        SSLContext client = TlsContexts.opportunisticClient();
        List<String> groups = List.of("x25519", "secp256r1"); // secp256r1 for the ECDSA certificate
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Seen first = handshake(listener, server, client, "TLSv1.2", groups, groups);
            Seen again = handshake(listener, server, client, "TLSv1.2", groups, groups);
            assertThat(first).isEqualTo(new Seen("x25519", "x25519", "TLSv1.2", false));
            // The JDK's server resumes from a stateless ticket: a new session object, without the kept group.
            assertThat(again).isEqualTo(new Seen(null, "x25519", "TLSv1.2", true));
        }
    }

    /** TLS 1.3 resumption (psk_dhe_ke) makes a new key exchange, in the ServerHello as ever. */
    @Test void tls13Resumption() throws Exception {
        SSLContext server = TlsContexts.server(ec);
        SSLContext client = TlsContexts.opportunisticClient();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<String> groups = List.of("secp256r1");
            handshake(listener, server, client, "TLSv1.3", groups, groups);
            Seen again = handshake(listener, server, client, "TLSv1.3", groups, groups);
            assertThat(again).isEqualTo(new Seen("secp256r1", "secp256r1", "TLSv1.3", true));
        }
    }

    static Seen handshake(SSLContext server, String protocol, List<String> clientGroups, List<String> serverGroups)
            throws Exception {
        return handshake(server, TlsContexts.opportunisticClient(), protocol, clientGroups, serverGroups);
    }

    /** One handshake and an echoed byte (so that both sides are done), the groups as each side's facts say. */
    static Seen handshake(SSLContext server, SSLContext client, String protocol, List<String> clientGroups,
                          List<String> serverGroups) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return handshake(listener, server, client, protocol, clientGroups, serverGroups);
        }
    }

    /** As above on {@code listener} (a client resumes only with the same host and port). */
    static Seen handshake(ServerSocket listener, SSLContext server, SSLContext client, String protocol,
                          List<String> clientGroups, List<String> serverGroups) throws Exception {
        {
            CompletableFuture<String> serverGroup = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (Socket plain = listener.accept(); SSLSocket tls = TlsContexts.wrapServer(server, plain)) {
                    groups(tls, serverGroups, null);
                    tls.setSoTimeout(10_000);
                    tls.startHandshake();
                    tls.getOutputStream().write(tls.getInputStream().read());
                    tls.getOutputStream().flush();
                    serverGroup.complete(AuditFacts.keyExchangeGroup(tls));
                } catch (Throwable e) {
                    serverGroup.completeExceptionally(e);
                }
            });
            try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                 SSLSocket tls = TlsContexts.wrapClient(client, plain, "gw.example", listener.getLocalPort())) {
                groups(tls, clientGroups, protocol);
                tls.setSoTimeout(10_000);
                long start = System.currentTimeMillis();
                tls.startHandshake();
                tls.getOutputStream().write('x');
                tls.getOutputStream().flush();
                if (tls.getInputStream().read() != 'x') throw new IOException("echo lost");
                String clientGroup = AuditFacts.keyExchangeGroup(tls);
                return new Seen(serverGroup.get(15, TimeUnit.SECONDS), clientGroup, tls.getSession().getProtocol(),
                        AuditFacts.resumed(tls.getSession(), start));
            }
        }
    }

    private static void groups(SSLSocket tls, List<String> groups, String protocol) {
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setNamedGroups(groups.toArray(String[]::new));
        if (protocol != null) parameters.setProtocols(new String[] {protocol});
        tls.setSSLParameters(parameters);
    }
}
