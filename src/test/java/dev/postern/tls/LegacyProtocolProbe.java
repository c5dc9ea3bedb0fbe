package dev.postern.tls;

import dev.postern.tls.Certificates.KeyType;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * Run in a child JVM whose java.security no longer bans TLS 1.0/1.1, so that only Postern's own settings can refuse
 * them. Args: the protocol the client insists on, and "postern", "conscrypt" or "jdk-defaults" for the server. Prints one line.
 */
public final class LegacyProtocolProbe {
    private LegacyProtocolProbe() {}

    public static void main(String[] args) throws Exception {
        String protocol = args[0];
        KeyMaterial material = Certificates.selfSigned(List.of("mx.example.test"), KeyType.RSA_2048, Duration.ofDays(1));
        // "conscrypt": Postern's settings on a Conscrypt context, whose BoringSSL has TLS 1.0/1.1 compiled in.
        SSLContext server = args[1].equals("conscrypt")
                ? TlsContexts.server(List.of(material), TlsProviders.conscrypt()) : TlsContexts.server(material);
        Handshakes.ServerSide serverSide = !args[1].equals("jdk-defaults") ? Handshakes.postern(server) : plain -> {
            SSLSocket socket = (SSLSocket) server.getSocketFactory().createSocket(plain, null, plain.getPort(), true);
            socket.setUseClientMode(false);
            socket.setEnabledProtocols(socket.getSupportedProtocols());
            return socket;
        };
        SSLContext client = TlsContexts.opportunisticClient();
        var outcome = Handshakes.run(serverSide, plain -> {
            SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(plain, "mx.example.test", 25, true);
            socket.setEnabledProtocols(new String[] {protocol});
            socket.setEnabledCipherSuites(socket.getSupportedCipherSuites());
            return socket;
        });
        System.out.println(outcome.client() != null
                ? "HANDSHAKE OK " + outcome.client().protocol()
                : "HANDSHAKE FAILED client=" + outcome.clientFailure() + " server=" + outcome.serverFailure());
    }
}
