package dev.postern.tls;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A TLS client shaped like a particular kind of peer: which protocol it speaks, which signature schemes it offers
 * (what decides the server's certificate in TLS 1.3) and which cipher suites (what decides it in TLS 1.2). Used to see
 * which of several server certificates a client gets, in plain handshakes and over SMTP (STARTTLS, implicit TLS).
 *
 * @param signatureSchemes null: the JDK's default list
 * @param suites           null: the JDK's default list
 */
record ClientShape(String label, String protocol, List<String> signatureSchemes, List<String> suites) {
    static final List<String> RSA_SCHEMES = List.of("rsa_pss_rsae_sha256", "rsa_pkcs1_sha256");
    static final List<String> ECDSA_SCHEMES = List.of("ecdsa_secp256r1_sha256");

    /** An old client: RSA signature schemes only. */
    static ClientShape rsaOnly(String protocol) {
        return new ClientShape("RSA-only " + protocol, protocol, RSA_SCHEMES, null);
    }

    /** A client that verifies ECDSA signatures only. */
    static ClientShape ecdsaOnly(String protocol) {
        return new ClientShape("ECDSA-only " + protocol, protocol, ECDSA_SCHEMES, null);
    }

    /** The JDK's defaults (both key types, ECDSA preferred). */
    static ClientShape jdkDefault(String protocol) {
        return new ClientShape("JDK default " + protocol, protocol, null, null);
    }

    /** TLS 1.2 with only cipher suites of one authentication ("RSA" or "ECDSA"), every signature scheme offered. */
    static ClientShape tls12Suites(String authentication) {
        return new ClientShape("TLS 1.2 ECDHE_" + authentication + " suites only", "TLSv1.2", null, List.of(
                "TLS_ECDHE_" + authentication + "_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_" + authentication + "_WITH_AES_128_GCM_SHA256"));
    }

    @Override public String toString() { return label; }

    /** Client-side TLS over {@code plain}, trusting anything (the test looks at what it was given), not started. */
    SSLSocket wrap(Socket plain) throws IOException {
        return wrap(plain, TlsContexts.opportunisticClient());
    }

    /** As {@link #wrap(Socket)}, with a client context the caller keeps (and whose session cache it manages). */
    SSLSocket wrap(Socket plain, SSLContext context) throws IOException {
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain, "localhost", plain.getPort(), true);
        tls.setUseClientMode(true);
        SSLParameters p = tls.getSSLParameters();
        p.setProtocols(new String[] {protocol});
        if (signatureSchemes != null) p.setSignatureSchemes(signatureSchemes.toArray(String[]::new));
        if (suites != null) p.setCipherSuites(suites.toArray(String[]::new));
        tls.setSSLParameters(p);
        return tls;
    }

    /** The leaf a server with {@code context} (hardened as Postern's listeners are) presents to this client. */
    X509Certificate served(SSLContext context) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
                try (Socket plain = listener.accept(); SSLSocket tls = TlsContexts.wrapServer(context, plain)) {
                    tls.setSoTimeout(10_000);
                    tls.startHandshake();
                    tls.getInputStream().read();
                } catch (Exception e) {
                    // the client reports what matters
                }
            });
            try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                 SSLSocket tls = wrap(plain)) {
                tls.setSoTimeout(10_000);
                tls.startHandshake();
                X509Certificate leaf = leaf(tls);
                tls.getOutputStream().write('x');
                tls.getOutputStream().flush();
                return leaf;
            } finally {
                server.get(10, TimeUnit.SECONDS);
            }
        }
    }

    /** The leaf a gateway's STARTTLS listener presents to this client; the session is checked to go on (EHLO). */
    X509Certificate startTls(InetSocketAddress mx) throws IOException {
        try (Socket plain = new Socket()) {
            plain.connect(mx, 5000);
            plain.setSoTimeout(15_000);
            Smtp clear = new Smtp(plain);
            clear.expect(220);
            clear.command("EHLO client.example", 250);
            clear.command("STARTTLS", 220);
            try (SSLSocket tls = wrap(plain)) {
                tls.startHandshake();
                check(tls);
                Smtp secure = new Smtp(tls);
                secure.command("EHLO client.example", 250);
                secure.command("QUIT", 221);
                return leaf(tls);
            }
        }
    }

    /** The leaf a gateway's implicit-TLS listener (port 465 style) presents to this client. */
    X509Certificate implicitTls(InetSocketAddress submissions) throws IOException {
        try (Socket plain = new Socket()) {
            plain.connect(submissions, 5000);
            plain.setSoTimeout(15_000);
            try (SSLSocket tls = wrap(plain)) {
                tls.startHandshake();
                check(tls);
                Smtp secure = new Smtp(tls);
                secure.expect(220);
                secure.command("EHLO client.example", 250);
                secure.command("QUIT", 221);
                return leaf(tls);
            }
        }
    }

    private void check(SSLSocket tls) throws IOException {
        String got = tls.getSession().getProtocol();
        if (!got.equals(protocol)) throw new IOException(label + ": negotiated " + got);
    }

    private static X509Certificate leaf(SSLSocket tls) throws IOException {
        return (X509Certificate) tls.getSession().getPeerCertificates()[0];
    }

    /** Just enough SMTP to get through a greeting, EHLO and STARTTLS. */
    private static final class Smtp {
        private final BufferedReader in;
        private final OutputStream out;

        Smtp(Socket s) throws IOException {
            in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            out = s.getOutputStream();
        }

        void command(String line, int code) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            expect(code);
        }

        void expect(int code) throws IOException {
            String line;
            do {
                line = in.readLine();
                if (line == null) throw new IOException("connection closed, expected " + code);
            } while (line.length() > 3 && line.charAt(3) == '-');
            if (!line.startsWith(code + "")) throw new IOException("expected " + code + ", got " + line);
        }
    }
}
