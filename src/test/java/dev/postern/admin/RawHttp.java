package dev.postern.admin;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * HTTP/1.1 written by hand over a real socket (TLS when given a context), one request per connection: the request
 * target goes on the wire exactly as given (no client normalises {@code /a/../b} or {@code %2e%2e} first).
 */
public final class RawHttp {
    /** What came back. {@code peer}: the server's certificate chain under TLS, else null. */
    public record Answer(int status, Map<String, String> headers, String body,
                         java.security.cert.Certificate[] peer) {
        public String header(String name) { return headers.get(name.toLowerCase(Locale.ROOT)); }
    }

    private RawHttp() {}

    public static Answer send(SSLContext tls, int port, String method, String target, String token, String body)
            throws IOException {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            plain.setSoTimeout(15_000);
            Socket s = plain;
            java.security.cert.Certificate[] peer = null;
            if (tls != null) {
                SSLSocket t = (SSLSocket) tls.getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
                t.startHandshake();
                peer = t.getSession().getPeerCertificates();
                s = t;
            }
            byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            StringBuilder req = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Connection: close\r\n");
            if (token != null) req.append("Authorization: Bearer ").append(token).append("\r\n");
            if (body != null) {
                req.append("Content-Type: application/json\r\nContent-Length: ").append(content.length).append("\r\n");
            }
            req.append("\r\n");
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            // the body from another thread: a server may answer (413) and close before it has read it all
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    out.write(content);
                    out.flush();
                } catch (IOException ignored) {
                    // the answer tells
                }
            });
            Answer a = read(s.getInputStream(), peer);
            writer.interrupt();
            return a;
        }
    }

    public static Answer send(int port, String method, String target, String token, String body) throws IOException {
        return send(null, port, method, target, token, body);
    }

    private static Answer read(InputStream in, java.security.cert.Certificate[] peer) throws IOException {
        byte[] all = in.readAllBytes();
        String text = new String(all, StandardCharsets.UTF_8);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) throw new IOException("no HTTP answer: " + text);
        String[] lines = text.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1)
                    .strip());
        }
        String body = text.substring(end + 4);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) body = unchunk(body);
        return new Answer(status, headers, body, peer);
    }

    private static String unchunk(String s) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int i = 0;
        while (i < s.length()) {
            int eol = s.indexOf("\r\n", i);
            int n = Integer.parseInt(s.substring(i, eol).strip(), 16);
            if (n == 0) break;
            b.writeBytes(s.substring(eol + 2, eol + 2 + n).getBytes(StandardCharsets.UTF_8));
            i = eol + 2 + n + 2;
        }
        return b.toString(StandardCharsets.UTF_8);
    }
}
