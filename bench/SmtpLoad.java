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
 *
 * <p>For bench/crash.sh, where the gateway and the sink are SIGKILLed under load, both sides can keep a record:
 * <pre>
 * java SmtpLoad source --port P --record FILE --id-prefix P [--sessions 20] [--messages N] [--rate R]
 *                      [--per-connection 5] [--deadline 600]
 * java SmtpLoad sink   --port P --record FILE --generation G [--stall FILE]
 * </pre>
 * With --record the source gives every transaction an id of its own (PREFIX-N, in an X-Load-Id header and in the
 * body's last line "END id"), never sends an id twice, and appends "sent ID" to FILE when the 354 is read (before the
 * content goes out) and "acked ID QUEUEID MILLIS" only once it has read the 250 after the content ("refused ID CODE"
 * for any other reply). A session sends up to --per-connection messages per connection; while the gateway is down it
 * keeps trying to connect (a message whose content never went out is sent later under the same id). --rate paces the
 * messages of all sessions together (per second; slots missed while the gateway was down are not made up). It ends
 * when all N have been sent, printing "done sent=S acked=A refused=F secs=T", or exits 1 after --deadline seconds.
 * With --record the sink appends "ID QUEUEID G MILLIS whole|cut" to FILE (one write, the file opened for append, so a
 * SIGKILL right after it loses nothing) before it answers 250: QUEUEID from the gateway's Received header, "whole"
 * when the content ends with the source's "END ID" line. With --stall, the first DATA that finds FILE deletes it,
 * prints "mid-data MILLIS" on standard output after the first line of content and then reads no more: the script
 * SIGKILLs the sink with that transfer under way.
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
        if (o.containsKey("--record")) {
            System.exit(new Recorded(o).run() ? 0 : 1);
        }
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

    /** The source of bench/crash.sh: unique ids, a record of what was acknowledged, patient while the gateway is down. */
    private static final class Recorded {
        private final String host;
        private final int port;
        private final int sessions;
        private final int messages;
        private final int perConnection;
        private final String prefix;
        private final long intervalNanos;
        private final long deadline;
        private final String from;
        private final String to;
        private final java.io.FileOutputStream record;
        private final AtomicInteger next = new AtomicInteger();
        /** Numbers taken but never sent (the connection failed before the 354): sent later, same id. */
        private final java.util.concurrent.ConcurrentLinkedQueue<Integer> again =
                new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final AtomicInteger done = new AtomicInteger();
        private final AtomicInteger sent = new AtomicInteger();
        private final AtomicInteger acked = new AtomicInteger();
        private final AtomicInteger refused = new AtomicInteger();
        private final java.util.concurrent.atomic.AtomicLong slot = new java.util.concurrent.atomic.AtomicLong();

        Recorded(Map<String, String> o) throws IOException {
            host = o.getOrDefault("--host", "127.0.0.1");
            port = Integer.parseInt(o.get("--port"));
            sessions = Integer.parseInt(o.getOrDefault("--sessions", "20"));
            messages = Integer.parseInt(o.getOrDefault("--messages", "1000"));
            perConnection = Integer.parseInt(o.getOrDefault("--per-connection", "5"));
            prefix = o.getOrDefault("--id-prefix", "m");
            double rate = Double.parseDouble(o.getOrDefault("--rate", "0"));
            intervalNanos = rate <= 0 ? 0 : (long) (1e9 / rate);
            deadline = System.nanoTime() + Long.parseLong(o.getOrDefault("--deadline", "600")) * 1_000_000_000L;
            from = o.getOrDefault("--from", "load@source.test");
            to = o.getOrDefault("--to", "user@sink.test");
            record = new java.io.FileOutputStream(o.get("--record"), true);
        }

        boolean run() throws InterruptedException {
            long start = System.nanoTime();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < sessions; i++) threads.add(Thread.ofPlatform().name("source-" + i).start(this::session));
            for (Thread t : threads) t.join();
            boolean all = done.get() == messages;
            System.out.printf("done sent=%d acked=%d refused=%d secs=%.2f%s%n", sent.get(), acked.get(), refused.get(),
                    (System.nanoTime() - start) / 1e9, all ? "" : " (deadline: " + (messages - done.get()) + " unsent)");
            return all;
        }

        private Integer take() {
            Integer n = again.poll();
            if (n != null) return n;
            n = next.getAndIncrement();
            return n < messages ? n : null;
        }

        private void session() {
            while (System.nanoTime() < deadline && done.get() < messages) {
                Integer n = null;
                boolean exhausted = false;
                try (Socket s = new Socket()) {
                    s.setTcpNoDelay(true);
                    s.connect(new InetSocketAddress(InetAddress.getByName(host), port), 10_000);
                    s.setSoTimeout(60_000);
                    Conn c = new Conn(s);
                    c.expect(220);
                    c.command("EHLO source.test", 250);
                    for (int i = 0; i < perConnection; i++) {
                        if ((n = take()) == null) {
                            exhausted = true;
                            break;
                        }
                        pace();
                        c.command("MAIL FROM:<" + from + ">", 250);
                        c.command("RCPT TO:<" + to + ">", 250);
                        c.command("DATA", 354);
                        String id = prefix + "-" + n;
                        int taken = n;
                        n = null; // from here on the id is spent, whatever happens
                        write("sent " + id);
                        sent.incrementAndGet();
                        done.incrementAndGet();
                        c.out.write(message(id, taken));
                        c.out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
                        c.out.flush();
                        String reply = c.lastLine();
                        if (reply.startsWith("250")) {
                            write("acked " + id + " " + reply.substring(reply.lastIndexOf(' ') + 1) + " "
                                    + System.currentTimeMillis());
                            acked.incrementAndGet();
                        } else {
                            write("refused " + id + " " + reply.substring(0, Math.min(3, reply.length())));
                            refused.incrementAndGet();
                            throw new IOException("refused: " + reply);
                        }
                    }
                    c.command("QUIT", 221);
                    if (exhausted && done.get() < messages) pause(50); // the last ones are out with other sessions
                } catch (IOException e) {
                    if (n != null) again.add(n); // its content never went out
                    pause(100); // the gateway is down or restarting
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private void pace() throws InterruptedException {
            if (intervalNanos == 0) return;
            long now = System.nanoTime();
            long mine = slot.getAndUpdate(v -> Math.max(v, now) + intervalNanos);
            long wait = Math.max(mine, now) - now;
            if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }

        private static void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void write(String line) throws IOException {
            byte[] b = (line + "\n").getBytes(StandardCharsets.US_ASCII);
            synchronized (record) {
                record.write(b);
            }
        }

        /** About 2 KiB to 10 KiB; the last line names the id, so a cut copy shows. No line starts with a dot. */
        private byte[] message(String id, int n) {
            StringBuilder b = new StringBuilder();
            b.append("From: <").append(from).append(">\r\nTo: <").append(to).append(">\r\nSubject: crash ").append(id)
                    .append("\r\nMessage-ID: <").append(id).append("@source.test>\r\nX-Load-Id: ").append(id)
                    .append("\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n");
            for (int i = 0, lines = 30 + (n * 37) % 100; i < lines; i++) {
                b.append("line ").append(i).append(" of ").append(id)
                        .append(": the quick brown fox jumps over the lazy dog\r\n");
            }
            b.append("END ").append(id).append("\r\n");
            return b.toString().getBytes(StandardCharsets.US_ASCII);
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

        /** The last line of a (possibly multi-line) reply. */
        String lastLine() throws IOException {
            String l;
            do {
                l = line();
            } while (l.length() > 3 && l.charAt(3) == '-');
            return l;
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
        SinkRecord record = o.containsKey("--record") ? new SinkRecord(o) : null;
        while (true) {
            Socket s = server.accept();
            Thread.ofVirtual().start(() -> {
                try (s) {
                    serve(s, ctx, received, counter, record);
                } catch (IOException e) {
                    // the gateway went away; nothing to count
                }
            });
        }
    }

    private static void serve(Socket plain, SSLContext ctx, AtomicInteger received, java.io.FileOutputStream counter,
                              SinkRecord record) throws IOException {
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
                        if (record != null) {
                            record.receive(c);
                        } else {
                            while (!c.line().equals(".")) {
                                // discard
                            }
                        }
                        c.reply("250 2.0.0 ok queued");
                        c.out.flush();
                        if (record != null) continue; // its standard output says only "mid-data"
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

    /** The sink's record for bench/crash.sh: one line per message received, written before the 250. */
    private static final class SinkRecord {
        private static final java.util.regex.Pattern QUEUE_ID =
                java.util.regex.Pattern.compile("\\(Postern\\) with \\S+ id ([A-Za-z0-9]+)");
        private final java.io.FileOutputStream out;
        private final String generation;
        private final Path stall;

        SinkRecord(Map<String, String> o) throws IOException {
            out = new java.io.FileOutputStream(o.get("--record"), true);
            generation = o.getOrDefault("--generation", "0");
            stall = o.containsKey("--stall") ? Path.of(o.get("--stall")) : null;
        }

        /** Reads the content up to the final dot and records it; with the stall file present, never returns. */
        void receive(Conn c) throws IOException {
            String id = "-";
            String queueId = "-";
            String last = "";
            boolean first = true;
            String line;
            while (!(line = c.line()).equals(".")) {
                if (first && stall != null && Files.deleteIfExists(stall)) {
                    System.out.println("mid-data " + System.currentTimeMillis());
                    System.out.flush();
                    try {
                        Thread.sleep(Long.MAX_VALUE); // the transfer stays under way until the script kills us
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                }
                first = false;
                if (id.equals("-") && line.startsWith("X-Load-Id: ")) id = line.substring(11).trim();
                if (queueId.equals("-")) {
                    java.util.regex.Matcher m = QUEUE_ID.matcher(line);
                    if (m.find()) queueId = m.group(1);
                }
                last = line;
            }
            String whole = last.equals("END " + id) ? "whole" : "cut";
            byte[] b = (id + " " + queueId + " " + generation + " " + System.currentTimeMillis() + " " + whole + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
            synchronized (out) {
                out.write(b); // one write(2) on a file opened for append: durable against a SIGKILL once it returns
            }
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
