package dev.postern.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A deliberately plain SMTP client for tests: it sends exactly the bytes it is given and reads replies with its own
 * small parser, so that tests of the server do not depend on the server's own protocol code.
 */
public final class SmtpTestClient implements AutoCloseable {
    private Socket socket;
    private BufferedReader in;
    private OutputStream out;

    /** A reply as lines; {@link #code()} is the code of the last line. */
    public record Response(List<String> lines) {
        public int code() { return Integer.parseInt(lines.getLast().substring(0, 3)); }
        public String last() { return lines.getLast(); }
        public String text() { return String.join("\n", lines); }
        @Override public String toString() { return text(); }
    }

    public static SmtpTestClient connect(InetSocketAddress address) throws IOException {
        return connect(address, null);
    }

    /**
     * Connects from {@code local} (null: any), e.g. 127.0.0.2 for a test that must not share the per-address state
     * of the server (the AUTH limiter) with others.
     */
    public static SmtpTestClient connect(InetSocketAddress address, java.net.InetAddress local) throws IOException {
        SmtpTestClient c = new SmtpTestClient();
        Socket s = new Socket();
        if (local != null) s.bind(new InetSocketAddress(local, 0));
        s.connect(address, 5000);
        s.setSoTimeout(15000);
        c.bind(s);
        return c;
    }

    /** Connects with TLS from the first byte (port 465 style). */
    public static SmtpTestClient connectTls(InetSocketAddress address) throws IOException {
        SmtpTestClient c = new SmtpTestClient();
        Socket s = new Socket();
        s.connect(address, 5000);
        s.setSoTimeout(15000);
        SSLSocket ssl = (SSLSocket) trustAll().getSocketFactory().createSocket(s, "localhost", address.getPort(), true);
        ssl.startHandshake();
        c.bind(ssl);
        return c;
    }

    private void bind(Socket s) throws IOException {
        socket = s;
        in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        out = s.getOutputStream();
    }

    /** Reads one (multi-line) reply. */
    public Response read() throws IOException {
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = in.readLine();
            if (line == null) throw new java.io.EOFException("server closed the connection; got " + lines);
            lines.add(line);
            if (line.length() < 4 || line.charAt(3) == ' ') return new Response(lines);
        }
    }

    /** Sends {@code line} + CRLF and reads the reply. */
    public Response command(String line) throws IOException {
        send(line + "\r\n");
        return read();
    }

    /** Sends raw text as is (for pipelining and malformed input). */
    public void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    public void sendBytes(byte[] raw) throws IOException {
        out.write(raw);
        out.flush();
    }

    /** STARTTLS and the handshake, trusting any certificate; returns the negotiated protocol. */
    public String startTls() throws IOException {
        Response r = command("STARTTLS");
        if (r.code() != 220) throw new IOException("STARTTLS refused: " + r);
        return handshake();
    }

    /** STARTTLS presenting a client certificate (null: none); returns the negotiated protocol. */
    public String startTls(dev.postern.tls.KeyMaterial clientCertificate) throws IOException {
        Response r = command("STARTTLS");
        if (r.code() != 220) throw new IOException("STARTTLS refused: " + r);
        return handshake(dev.postern.tls.TlsContexts.client(clientCertificate));
    }

    /** The TLS handshake on the current connection (after a 220 to STARTTLS); returns the protocol. */
    public String handshake() throws IOException {
        return handshake(trustAll());
    }

    /** STARTTLS with the TLS parameters {@code shape} sets (groups, protocols...); returns the negotiated protocol. */
    public String startTls(java.util.function.Consumer<javax.net.ssl.SSLParameters> shape) throws IOException {
        Response r = command("STARTTLS");
        if (r.code() != 220) throw new IOException("STARTTLS refused: " + r);
        return handshake(trustAll(), shape);
    }

    /** STARTTLS through {@code context} (its trust: the handshake fails on a chain it refuses), shaped by {@code shape}. */
    public String startTls(SSLContext context, java.util.function.Consumer<javax.net.ssl.SSLParameters> shape)
            throws IOException {
        Response r = command("STARTTLS");
        if (r.code() != 220) throw new IOException("STARTTLS refused: " + r);
        return handshake(context, shape);
    }

    private String handshake(SSLContext context) throws IOException {
        return handshake(context, parameters -> {});
    }

    private String handshake(SSLContext context, java.util.function.Consumer<javax.net.ssl.SSLParameters> shape)
            throws IOException {
        SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(socket, "localhost",
                socket.getPort(), true);
        javax.net.ssl.SSLParameters parameters = ssl.getSSLParameters();
        shape.accept(parameters);
        ssl.setSSLParameters(parameters);
        ssl.startHandshake();
        bind(ssl);
        return ssl.getSession().getProtocol();
    }

    /** True when the server has closed the connection (reads EOF within the socket timeout). */
    public boolean isClosedByServer() {
        try {
            return in.readLine() == null;
        } catch (IOException e) {
            return true;
        }
    }

    public Socket socket() { return socket; }

    @Override public void close() throws IOException {
        socket.close();
    }

    public static SSLContext trustAll() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override public void checkClientTrusted(X509Certificate[] c, String a) { }
                @Override public void checkServerTrusted(X509Certificate[] c, String a) { }
                @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
            }}, null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * One message over plain SMTP from {@code from} to {@code rcpt} with {@code text} as its data (CRLF lines, no
     * line that is a single dot), each step answered as a gateway that takes it answers; returns the last line of the
     * final reply ("250 2.0.0 Ok: queued as ID").
     */
    public static String relay(InetSocketAddress to, String from, String rcpt, String text) throws IOException {
        try (SmtpTestClient c = connect(to)) {
            expect(c.read(), 220);
            expect(c.command("EHLO client.test"), 250);
            expect(c.command("MAIL FROM:<" + from + ">"), 250);
            expect(c.command("RCPT TO:<" + rcpt + ">"), 250);
            expect(c.command("DATA"), 354);
            Response done = c.command(text + "\r\n.");
            expect(done, 250);
            c.command("QUIT");
            return done.last();
        }
    }

    private static void expect(Response r, int code) throws IOException {
        if (r.code() != code) throw new IOException("expected " + code + ", got " + r.text());
    }
}
