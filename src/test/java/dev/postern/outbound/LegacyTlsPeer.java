package dev.postern.outbound;

import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsContexts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * A {@link ScriptedSmtpServer} peer that offers only legacy TLS (TLS 1.0/1.1, or a weak suite), for
 * {@link TlsPolicyMatrixTest}. It runs in a child JVM whose java.security no longer bans those, so that only Postern's
 * own settings can refuse them.
 *
 * <p>Args: bind address, port, certificate PEM, key PEM, protocols (comma-separated), cipher suites (comma-separated).
 * Before "PEER ready", a control client forced to the same protocols and suites does a real STARTTLS handshake with
 * the server, and the line reports what it negotiated ("PEER ready TLSv1.1 TLS_ECDHE_..."), or "PEER failed ...".
 * Then every transaction the server records is reported as one line:
 * {@code PEER tx tls=<protocol or -> starttls=<bool> delivered=<bool> rcpts=<a,b>}. The peer exits when its standard
 * input closes (the parent test ended or died).
 */
public final class LegacyTlsPeer {
    private LegacyTlsPeer() {}

    public static void main(String[] args) throws Exception {
        String address = args[0];
        int port = Integer.parseInt(args[1]);
        KeyMaterial material = Pem.load(Path.of(args[2]), Path.of(args[3]));
        String[] protocols = args[4].split(",");
        String[] suites = args[5].split(",");
        ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("legacy-peer").pipelining()
                .enhancedStatusCodes().starttls(material).tlsProtocols(protocols).tlsCipherSuites(suites);
        try {
            server.start(new InetSocketAddress(address, port));
        } catch (IOException e) {
            say("PEER failed bind " + e);
            return;
        }
        try (server) {
            String control;
            try {
                control = control(address, port, protocols, suites);
            } catch (IOException e) {
                say("PEER failed control " + e);
                return;
            }
            say("PEER ready " + control);
            Thread reporter = Thread.ofPlatform().daemon(true).start(() -> report(server));
            while (System.in.read() >= 0) {
                // wait for the parent to close our standard input
            }
            reporter.interrupt();
        }
    }

    private static void report(ScriptedSmtpServer server) {
        int seen = 0;
        while (!Thread.currentThread().isInterrupted()) {
            List<ScriptedSmtpServer.Transaction> all = server.transactions();
            for (; seen < all.size(); seen++) {
                ScriptedSmtpServer.Transaction t = all.get(seen);
                say("PEER tx tls=" + (t.usedTls() ? t.tls().protocol() : "-")
                        + " starttls=" + t.commands().stream().anyMatch(c -> c.equalsIgnoreCase("STARTTLS"))
                        + " delivered=" + t.delivered() + " rcpts=" + String.join(",", t.recipients()));
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A plain JSSE client limited to the peer's protocols and suites: proves the peer really negotiates them. */
    private static String control(String address, int port, String[] protocols, String[] suites) throws IOException {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(address, port), 5000);
            plain.setSoTimeout(5000);
            BufferedReader in = new BufferedReader(new InputStreamReader(plain.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = plain.getOutputStream();
            reply(in);
            out.write("EHLO control.test\r\n".getBytes(StandardCharsets.US_ASCII));
            reply(in);
            out.write("STARTTLS\r\n".getBytes(StandardCharsets.US_ASCII));
            String ready = reply(in);
            if (!ready.startsWith("220")) throw new IOException("STARTTLS refused: " + ready);
            SSLSocket ssl = (SSLSocket) TlsContexts.opportunisticClient().getSocketFactory()
                    .createSocket(plain, address, port, true);
            ssl.setUseClientMode(true);
            ssl.setEnabledProtocols(protocols);
            ssl.setEnabledCipherSuites(suites);
            ssl.startHandshake();
            SSLSession session = ssl.getSession();
            ssl.getOutputStream().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            ssl.getOutputStream().flush();
            return session.getProtocol() + " " + session.getCipherSuite();
        }
    }

    private static String reply(BufferedReader in) throws IOException {
        String line;
        do {
            line = in.readLine();
            if (line == null) throw new IOException("connection closed");
        } while (line.length() > 3 && line.charAt(3) == '-');
        return line;
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
