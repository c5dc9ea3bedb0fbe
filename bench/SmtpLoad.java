import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Benchmark helper, not part of Postern: an SMTP load source and an SMTP sink that both speak STARTTLS, for the TLS
 * variant of bench/relay-bench.sh (Postfix's smtp-source and smtp-sink have no STARTTLS).
 *
 * <pre>
 * java SmtpLoad source --port P [--host 127.0.0.1] [--sessions 20] [--messages 3000] [--size 4096]
 *                      [--from a@b] [--to c@d] [--starttls] [--no-resume] [--stdin]
 * java SmtpLoad sink   --port P [--starttls --cert cert.pem --key key.pem]
 * </pre>
 *
 * The source sends one message per connection, like smtp-source without -d, and no pipelining; with --starttls one
 * SSLContext is shared so the JDK client resumes TLS sessions like a returning MTA would (--no-resume: a new context
 * per connection, so every handshake is a full one). With --stdin it stays up (and warm) and sends one batch per
 * line read, each line a message count, printing "done ok=N failed=N secs=S" after each.
 *
 * The sink answers every transaction with 250 and, like smtp-sink -c, writes "mesg=N\r" to standard output each
 * time it has received a message, until it is killed.
 */
public final class SmtpLoad {
    public static void main(String[] args) throws Exception {
        if (args.length == 0) usage();
        Map<String, String> o = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--starttls") || a.equals("--no-resume") || a.equals("--stdin")) o.put(a, "true");
            else if (a.startsWith("--") && i + 1 < args.length) o.put(a, args[++i]);
            else usage();
        }
        switch (args[0]) {
            case "source" -> source(o);
            case "sink" -> sink(o);
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: SmtpLoad source --port P [--host H] [--sessions 20] [--messages 3000] [--size 4096]"
                + " [--from A] [--to A] [--starttls] [--no-resume] [--stdin]\n"
                + "       SmtpLoad sink --port P [--starttls --cert PEM --key PEM]");
        System.exit(2);
    }

    // ---------------------------------------------------------------- source

    private static void source(Map<String, String> o) throws Exception {
        String host = o.getOrDefault("--host", "127.0.0.1");
        int port = Integer.parseInt(o.get("--port"));
        int sessions = Integer.parseInt(o.getOrDefault("--sessions", "20"));
        int messages = Integer.parseInt(o.getOrDefault("--messages", "3000"));
        int size = Integer.parseInt(o.getOrDefault("--size", "4096"));
        String from = o.getOrDefault("--from", "bench@source.test");
        String to = o.getOrDefault("--to", "user@sink.test");
        boolean tls = o.containsKey("--starttls");
        boolean resume = !o.containsKey("--no-resume");
        SSLContext shared = tls ? trustAll() : null;
        if (!o.containsKey("--stdin")) {
            System.exit(batch(host, port, sessions, messages, size, from, to, tls, resume, shared) ? 0 : 1);
        }
        java.io.BufferedReader commands = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
        String line;
        while ((line = commands.readLine()) != null) {
            if (line.isBlank()) continue;
            batch(host, port, sessions, Integer.parseInt(line.trim()), size, from, to, tls, resume, shared);
        }
    }

    private static boolean batch(String host, int port, int sessions, int messages, int size, String from, String to,
                                 boolean tls, boolean resume, SSLContext shared) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < sessions; s++) {
            threads.add(Thread.ofPlatform().name("source-" + s).start(() -> {
                int n;
                while ((n = next.getAndIncrement()) < messages) {
                    try {
                        SSLContext ctx = tls ? (resume ? shared : trustAll()) : null;
                        sendOne(host, port, ctx, from, to, message(n, from, to, size));
                        ok.incrementAndGet();
                    } catch (Exception e) {
                        if (failed.incrementAndGet() <= 5) System.err.println("message " + n + ": " + e);
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        double secs = (System.nanoTime() - start) / 1e9;
        System.out.printf("done ok=%d failed=%d secs=%.2f%n", ok.get(), failed.get(), secs);
        System.out.flush();
        return failed.get() == 0;
    }

    private static byte[] message(int n, String from, String to, int size) {
        StringBuilder b = new StringBuilder();
        b.append("From: <").append(from).append(">\r\nTo: <").append(to).append(">\r\nSubject: bench ").append(n)
                .append("\r\nMessage-ID: <").append(n).append('.').append(System.nanoTime()).append("@source.test>\r\n")
                .append("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n");
        int body = 0;
        while (body < size) {
            int len = Math.min(76, size - body);
            for (int i = 0; i < len; i++) b.append((char) ('a' + (i + n) % 26));
            b.append("\r\n");
            body += len + 2;
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void sendOne(String host, int port, SSLContext ctx, String from, String to, byte[] data)
            throws IOException {
        Socket plain = new Socket();
        plain.setTcpNoDelay(true);
        plain.connect(new InetSocketAddress(InetAddress.getByName(host), port), 30_000);
        plain.setSoTimeout(120_000);
        Socket s = plain;
        try {
            Conn c = new Conn(s);
            c.expect(220);
            c.command("EHLO source.test", 250);
            if (ctx != null) {
                c.command("STARTTLS", 220);
                SSLSocket t = (SSLSocket) ctx.getSocketFactory().createSocket(plain, host, port, true);
                t.setUseClientMode(true);
                t.startHandshake();
                s = t;
                c = new Conn(t);
                c.command("EHLO source.test", 250);
            }
            c.command("MAIL FROM:<" + from + ">", 250);
            c.command("RCPT TO:<" + to + ">", 250);
            c.command("DATA", 354);
            c.out.write(data);
            c.command(".", 250);
            c.command("QUIT", 221);
        } finally {
            s.close();
        }
    }

    private static SSLContext trustAll() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
                @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
                @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
            }}, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** One side of an SMTP conversation: CRLF lines in, replies out. */
    private static final class Conn {
        final InputStream in;
        final OutputStream out;

        Conn(Socket s) throws IOException {
            in = new BufferedInputStream(s.getInputStream(), 8192);
            out = new BufferedOutputStream(s.getOutputStream(), 16384);
        }

        String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream(128);
            int c;
            while ((c = in.read()) != -1) {
                if (c == '\n') break;
                if (c != '\r') b.write(c);
            }
            if (c == -1 && b.size() == 0) throw new IOException("connection closed");
            return b.toString(StandardCharsets.US_ASCII);
        }

        void expect(int code) throws IOException {
            String l;
            do {
                l = line();
            } while (l.length() > 3 && l.charAt(3) == '-');
            if (!l.startsWith(Integer.toString(code))) throw new IOException("expected " + code + ", got: " + l);
        }

        void command(String cmd, int code) throws IOException {
            out.write((cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            expect(code);
        }

        void reply(String r) throws IOException {
            out.write((r + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }
    }

    // ---------------------------------------------------------------- sink

    private static void sink(Map<String, String> o) throws Exception {
        int port = Integer.parseInt(o.get("--port"));
        SSLContext ctx = o.containsKey("--starttls") ? serverContext(Path.of(o.get("--cert")), Path.of(o.get("--key")))
                : null;
        AtomicInteger received = new AtomicInteger();
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 512);
        java.io.FileOutputStream counter = new java.io.FileOutputStream(java.io.FileDescriptor.out);
        while (true) {
            Socket s = server.accept();
            Thread.ofVirtual().start(() -> {
                try (s) {
                    serve(s, ctx, received, counter);
                } catch (IOException e) {
                    // the gateway went away; nothing to count
                }
            });
        }
    }

    private static void serve(Socket plain, SSLContext ctx, AtomicInteger received, java.io.FileOutputStream counter)
            throws IOException {
        plain.setTcpNoDelay(true);
        plain.setSoTimeout(300_000);
        Conn c = new Conn(plain);
        Socket s = plain;
        boolean tls = false;
        c.reply("220 sink.test ESMTP bench sink");
        c.out.flush();
        try {
            while (true) {
                String line = c.line();
                String verb = (line.length() >= 4 ? line.substring(0, 4) : line).toUpperCase();
                switch (verb) {
                    case "EHLO" -> {
                        c.reply("250-sink.test");
                        c.reply("250-PIPELINING");
                        c.reply("250-SIZE 104857600");
                        if (ctx != null && !tls) c.reply("250-STARTTLS");
                        c.reply("250-ENHANCEDSTATUSCODES");
                        c.reply("250 8BITMIME");
                    }
                    case "HELO" -> c.reply("250 sink.test");
                    case "STAR" -> {
                        if (ctx == null || tls) {
                            c.reply("502 5.5.1 no STARTTLS here");
                        } else {
                            c.reply("220 2.0.0 go ahead");
                            c.out.flush();
                            SSLSocket t = (SSLSocket) ctx.getSocketFactory().createSocket(plain, null, true);
                            t.setUseClientMode(false);
                            t.startHandshake();
                            s = t;
                            c = new Conn(t);
                            tls = true;
                            continue;
                        }
                    }
                    case "MAIL", "RCPT", "RSET", "NOOP" -> c.reply("250 2.0.0 ok");
                    case "DATA" -> {
                        c.reply("354 go ahead");
                        c.out.flush();
                        while (!c.line().equals(".")) {
                            // discard
                        }
                        c.reply("250 2.0.0 ok queued");
                        c.out.flush();
                        synchronized (counter) {
                            counter.write(("mesg=" + received.incrementAndGet() + "\r")
                                    .getBytes(StandardCharsets.US_ASCII));
                        }
                        continue;
                    }
                    case "QUIT" -> {
                        c.reply("221 2.0.0 bye");
                        c.out.flush();
                        return;
                    }
                    default -> c.reply("502 5.5.2 command not recognized");
                }
                // Pipelining: answer a batch of commands in one write.
                if (c.in.available() == 0) c.out.flush();
            }
        } finally {
            s.close();
        }
    }

    private static SSLContext serverContext(Path certFile, Path keyFile) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<Certificate> chain = new ArrayList<>();
        try (InputStream in = Files.newInputStream(certFile)) {
            chain.addAll(cf.generateCertificates(in));
        }
        String pem = Files.readString(keyFile);
        if (!pem.contains("BEGIN PRIVATE KEY")) throw new IllegalArgumentException(keyFile + ": expected PKCS#8");
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        String alg = chain.getFirst().getPublicKey().getAlgorithm();
        PrivateKey key = KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("sink", key, new char[0], chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }
}
