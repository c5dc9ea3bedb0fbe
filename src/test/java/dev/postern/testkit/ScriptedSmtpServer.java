package dev.postern.testkit;

import dev.postern.tls.KeyMaterial;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * A scriptable SMTP server for tests of Postern's client side: real sockets on loopback, one virtual thread per
 * connection, its own small protocol code (nothing from {@code dev.postern.smtp}), so a test never checks Postern
 * against itself.
 *
 * <p>What it does by default: greets with 220, answers EHLO with the configured extensions (none unless set; STARTTLS
 * is added when TLS is configured and the session is still in clear text), accepts every MAIL and RCPT, takes DATA
 * and answers 250. Replies can be scripted per command ({@link #on(Verb, String)}, {@link #on(Verb, Responder)}) and
 * per recipient ({@link #onRcpt(String, String)}), also while the server runs ("later the server accepts it").
 * A scripted reply whose code is 421 is sent and then the connection is closed (RFC 5321 §3.8); {@link #DISCONNECT}
 * closes without a reply.
 *
 * <p>Every transaction (MAIL to end of data, or to RSET/QUIT/disconnect) is recorded with its envelope, the data as
 * it came over the wire (dot-stuffed) and unstuffed, whether TLS was on (protocol, cipher, SNI), whether MAIL, RCPT
 * and DATA arrived in one read (pipelining) and the commands of the session so far. Every connection is recorded when
 * it ends, with its commands and a TLS handshake failure if there was one.
 *
 * <p>TLS is shaped for policy tests: any {@link KeyMaterial} (self-signed, expired, wrong name, other CA), optional
 * enabled protocols and cipher suites (JSSE defaults otherwise; note that the JDK's {@code jdk.tls.disabledAlgorithms}
 * still bans TLS 1.0/1.1 and weak suites in this JVM, so such a peer fails every handshake unless the test runs in a
 * JVM with the ban lifted), and deliberate failures ({@link StartTlsFailure}).
 *
 * <pre>{@code
 * try (var server = ScriptedSmtpServer.create().pipelining().size(10_000).starttls(material)
 *         .onRcpt("nobody@b.example", "550 5.1.1 no such user").start()) {
 *     ... route b.example to 127.0.0.1:server.port(), send, then look at server.transactions() ...
 * }
 * }</pre>
 */
public final class ScriptedSmtpServer implements AutoCloseable {

    /** A scripted reply that makes the server close the connection without answering. */
    public static final String DISCONNECT = "<disconnect>";

    /**
     * A scripted reply (or greeting) that is never sent: the server stops answering and reads what comes until the
     * client closes, then closes too (a hung server that still holds its end, and lets it go when the client does).
     */
    public static final String SILENT = "<silent>";

    /**
     * For {@link Verb#DATA}: the server answers 354, reads about 8 KB of the content and closes the connection while
     * the client is still sending (a next hop that dies mid-DATA).
     */
    public static final String DISCONNECT_MID_DATA = "<disconnect mid-data>";

    private static final String UNTERMINATED = "<unterminated>";

    /**
     * A scripted reply (or greeting) sent exactly as {@code text}, with no CRLF after it; the server then reads until
     * the client closes (a reply line that never ends: a 100 KB line without CRLF, say).
     */
    public static String unterminated(String text) {
        return UNTERMINATED + text;
    }

    /** The commands (and events) that can be scripted. */
    public enum Verb { EHLO, HELO, STARTTLS, MAIL, RCPT, DATA, /** the reply after the data's final dot */ DATA_END,
        RSET, NOOP, QUIT }

    /**
     * Decides the reply to a command; {@code argument} is the text after the verb (for DATA_END the unstuffed data
     * as UTF-8). Returns the reply ("550 5.1.1 no such user"; lines separated by '\n' for a multi-line reply, which
     * must then be complete "250-..." lines), {@link #DISCONNECT}, or null for the default behaviour.
     */
    @FunctionalInterface
    public interface Responder {
        String reply(String argument);
    }

    /** A responder that never answers: it holds the command for a minute (a server that hangs), then the default. */
    public static final Responder HANG = argument -> {
        try {
            Thread.sleep(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    };

    /** Ways for STARTTLS to go wrong on purpose. */
    public enum StartTlsFailure {
        /** A real handshake (which still fails if protocols or suites leave nothing in common). */
        NONE,
        /** STARTTLS answered "454 4.7.0 TLS not available due to temporary reason". */
        REFUSE,
        /** STARTTLS answered 220, then the connection is closed before any handshake. */
        CLOSE_AFTER_READY,
        /** STARTTLS answered 220, then plain text instead of a ServerHello. */
        GARBAGE_AFTER_READY,
        /** STARTTLS answered 220; the server reads the start of the ClientHello and closes mid-handshake. */
        CLOSE_DURING_HANDSHAKE,
        /** STARTTLS answered 220; the ClientHello is answered with a fatal handshake_failure alert (TLS 1.2 record). */
        ALERT,
        /** STARTTLS answered 220; the server reads the ClientHello and never answers it (until the client closes). */
        STALL_DURING_HANDSHAKE
    }

    /** TLS facts of a session on the server side; {@code sni} is null when the client sent no server name. */
    public record TlsInfo(String protocol, String cipherSuite, String sni) {}

    /** One RCPT command and what the server answered. */
    public record Rcpt(String address, String parameters, String reply) {
        public boolean accepted() { return reply.startsWith("2"); }
    }

    /**
     * One transaction. {@code wireData} is the content exactly as received between the 354 and the final ".CRLF"
     * (dot-stuffed); {@code data} is the same unstuffed. Both are null when no content was sent. {@code dataEndReply}
     * is null then too. {@code pipelined} is true when MAIL, every RCPT and DATA (if sent) arrived in one read.
     * {@code commands} are the command lines of the connection up to the end of this transaction.
     */
    public record Transaction(int connection, String helo, String mailFrom, String mailParameters, String mailReply,
                              List<Rcpt> rcpts, String dataReply, byte[] wireData, byte[] data, String dataEndReply,
                              boolean pipelined, TlsInfo tls, List<String> commands) {
        public Transaction {
            rcpts = List.copyOf(rcpts);
            commands = List.copyOf(commands);
            wireData = wireData == null ? null : wireData.clone();
            data = data == null ? null : data.clone();
        }

        /** The recipients the server accepted, in order. */
        public List<String> acceptedRecipients() {
            return rcpts.stream().filter(Rcpt::accepted).map(Rcpt::address).toList();
        }

        /** All RCPT addresses, in order. */
        public List<String> recipients() {
            return rcpts.stream().map(Rcpt::address).toList();
        }

        /** True when the data was taken with a 2xx reply. */
        public boolean delivered() { return dataEndReply != null && dataEndReply.startsWith("2"); }

        public boolean usedTls() { return tls != null; }

        /** The unstuffed data as UTF-8 text. */
        public String text() { return data == null ? null : new String(data, StandardCharsets.UTF_8); }

        /** The full MAIL command line as sent. */
        public String mailCommand() {
            return "MAIL FROM:<" + mailFrom + ">" + (mailParameters.isEmpty() ? "" : " " + mailParameters);
        }
    }

    /**
     * One finished connection: when it was accepted, every command line received, the TLS facts if TLS was
     * established, the handshake failure if one failed, and how many transactions it had.
     */
    public record ConnectionRecord(int number, Instant acceptedAt, List<String> commands, TlsInfo tls,
                                   String tlsFailure, int transactions) {
        public ConnectionRecord {
            commands = List.copyOf(commands);
        }
    }

    private volatile String hostname = "mx.scripted.test";
    private volatile String greeting;
    private final List<String> extensions = new CopyOnWriteArrayList<>();
    private final Map<Verb, Responder> script = new ConcurrentHashMap<>();
    private final Map<String, String> rcptReplies = new ConcurrentHashMap<>();
    private volatile long sizeLimit;
    private volatile KeyMaterial tlsMaterial;
    private volatile String[] tlsProtocols;
    private volatile String[] tlsCipherSuites;
    private volatile String[] tlsNamedGroups;
    private volatile StartTlsFailure startTlsFailure = StartTlsFailure.NONE;
    private volatile boolean advertiseStartTls;
    private volatile Duration trickle;

    private final List<Transaction> transactions = new CopyOnWriteArrayList<>();
    private final List<ConnectionRecord> connections = new CopyOnWriteArrayList<>();
    private final java.util.Map<Integer, Session> live = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private ServerSocket listener;
    private volatile boolean closed;

    private ScriptedSmtpServer() {}

    /** A server not yet listening; configure it, then {@link #start()}. */
    public static ScriptedSmtpServer create() {
        return new ScriptedSmtpServer();
    }

    // ---- configuration (may be changed while running; takes effect for the next command) ----

    /** The name in the greeting and the EHLO reply. */
    public ScriptedSmtpServer hostname(String name) {
        this.hostname = name;
        return this;
    }

    /**
     * The greeting reply instead of "220 host ESMTP". A 421 greeting closes the connection; any other non-220
     * greeting (554) answers every command but QUIT with "503 5.5.1 no service here" (RFC 5321 §3.1).
     */
    public ScriptedSmtpServer greeting(String reply) {
        this.greeting = reply;
        return this;
    }

    /** Replaces the advertised EHLO extensions (keywords with parameters, e.g. "SIZE 1000"). */
    public ScriptedSmtpServer extensions(String... keywords) {
        extensions.clear();
        for (String k : keywords) addExtension(k);
        return this;
    }

    public ScriptedSmtpServer pipelining() { return addExtension("PIPELINING"); }

    public ScriptedSmtpServer eightBitMime() { return addExtension("8BITMIME"); }

    public ScriptedSmtpServer smtputf8() { return addExtension("SMTPUTF8"); }

    public ScriptedSmtpServer enhancedStatusCodes() { return addExtension("ENHANCEDSTATUSCODES"); }

    /** Advertises "SIZE limit" and refuses MAIL with a larger SIZE= (552 5.3.4) or larger data (552 5.3.4). */
    public ScriptedSmtpServer size(long limit) {
        extensions.removeIf(e -> e.toUpperCase(Locale.ROOT).startsWith("SIZE"));
        sizeLimit = limit;
        extensions.add("SIZE " + limit);
        return this;
    }

    private ScriptedSmtpServer addExtension(String keyword) {
        if (keyword.toUpperCase(Locale.ROOT).startsWith("SIZE ")) {
            return size(Long.parseLong(keyword.substring(5).strip()));
        }
        if (keyword.equalsIgnoreCase("STARTTLS")) {
            advertiseStartTls = true;
            return this;
        }
        if (!extensions.contains(keyword)) extensions.add(keyword);
        return this;
    }

    /** Offers STARTTLS with a real handshake presenting {@code material}. */
    public ScriptedSmtpServer starttls(KeyMaterial material) {
        this.tlsMaterial = material;
        this.advertiseStartTls = true;
        return this;
    }

    /**
     * Every reply from now on goes out one byte at a time, {@code perByte} apart (a server that answers, but one byte
     * a second); null for whole replies again.
     */
    public ScriptedSmtpServer trickle(Duration perByte) {
        this.trickle = perByte;
        return this;
    }

    /** Only these TLS protocols on the server side ("TLSv1", "TLSv1.2", ...); null for JSSE defaults. */
    public ScriptedSmtpServer tlsProtocols(String... protocols) {
        this.tlsProtocols = protocols == null ? null : protocols.clone();
        return this;
    }

    /** Only these cipher suites on the server side; null for JSSE defaults. */
    public ScriptedSmtpServer tlsCipherSuites(String... suites) {
        this.tlsCipherSuites = suites == null ? null : suites.clone();
        return this;
    }

    /** Only these key-exchange groups on the server side ("x25519", "secp384r1"); null for JSSE defaults. */
    public ScriptedSmtpServer tlsNamedGroups(String... groups) {
        this.tlsNamedGroups = groups == null ? null : groups.clone();
        return this;
    }

    /** Makes STARTTLS fail on purpose (advertised even without key material). */
    public ScriptedSmtpServer startTlsFailure(StartTlsFailure failure) {
        this.startTlsFailure = failure;
        if (failure != StartTlsFailure.NONE) advertiseStartTls = true;
        return this;
    }

    /** Stops advertising STARTTLS (the key material stays configured). */
    public ScriptedSmtpServer noStartTls() {
        this.advertiseStartTls = false;
        return this;
    }

    /** A fixed reply for every {@code verb} command. */
    public ScriptedSmtpServer on(Verb verb, String reply) {
        return on(verb, argument -> reply);
    }

    /** A computed reply for {@code verb} (null from the responder means the default). */
    public ScriptedSmtpServer on(Verb verb, Responder responder) {
        script.put(verb, responder);
        return this;
    }

    /** Back to the default behaviour for {@code verb}. */
    public ScriptedSmtpServer clear(Verb verb) {
        script.remove(verb);
        return this;
    }

    /** The reply to RCPT TO for {@code address} (case-insensitive); takes precedence over {@code on(RCPT, ...)}. */
    public ScriptedSmtpServer onRcpt(String address, String reply) {
        rcptReplies.put(address.toLowerCase(Locale.ROOT), reply);
        return this;
    }

    /** Accepts {@code address} again. */
    public ScriptedSmtpServer clearRcpt(String address) {
        rcptReplies.remove(address.toLowerCase(Locale.ROOT));
        return this;
    }

    /** Forgets every scripted reply (greeting, verbs, recipients). */
    public ScriptedSmtpServer clearScript() {
        script.clear();
        rcptReplies.clear();
        greeting = null;
        return this;
    }

    // ---- lifecycle ----

    /** Listens on 127.0.0.1 on a port the OS picks. */
    public ScriptedSmtpServer start() throws IOException {
        return start(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0));
    }

    /** Listens on {@code address} (any 127.0.0.0/8 address; port 0 lets the OS pick). */
    public ScriptedSmtpServer start(InetSocketAddress address) throws IOException {
        if (listener != null) throw new IllegalStateException("already started");
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        try {
            s.bind(address, 50);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        listener = s;
        Thread.ofVirtual().name("scripted-smtp-accept-" + s.getLocalPort()).start(this::acceptLoop);
        return this;
    }

    public int port() { return listener.getLocalPort(); }

    public InetSocketAddress address() { return (InetSocketAddress) listener.getLocalSocketAddress(); }

    /** A snapshot of the transactions so far, in the order they ended. */
    public List<Transaction> transactions() { return List.copyOf(transactions); }

    /**
     * A snapshot of every connection so far, in order: the ended ones as recorded, and those still open (a client
     * that keeps idle connections for reuse, as Postern does) as they stand now.
     */
    public List<ConnectionRecord> connections() {
        java.util.TreeMap<Integer, ConnectionRecord> all = new java.util.TreeMap<>();
        for (Session open : live.values()) all.put(open.number, open.snapshot());
        for (ConnectionRecord ended : connections) all.put(ended.number(), ended);
        return List.copyOf(all.values());
    }

    /** Connections accepted so far (including ones still open). */
    public int connectionCount() { return accepted.get(); }

    /** The transactions whose data was accepted. */
    public List<Transaction> delivered() {
        return transactions().stream().filter(Transaction::delivered).toList();
    }

    @Override public void close() {
        closed = true;
        try {
            if (listener != null) listener.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return;
            }
            int number = accepted.incrementAndGet();
            Instant at = Instant.now();
            open.add(s);
            Thread.ofVirtual().name("scripted-smtp-" + number).start(() -> {
                Session session = new Session(number, at, s);
                live.put(number, session);
                try {
                    session.run();
                } catch (IOException | RuntimeException e) {
                    // the client went away or sent garbage; what was seen is recorded below
                } finally {
                    session.finish();
                    live.remove(number);
                    open.remove(s);
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // closed anyway
                    }
                }
            });
        }
    }

    /** Thrown to end a session without a reply. */
    private static final class Hangup extends Exception {
        Hangup() { super(null, null, false, false); }
    }

    /** One connection. */
    private final class Session {
        final int number;
        final Instant acceptedAt;
        Socket socket;
        LineReader in;
        OutputStream out;
        final List<String> commands = new CopyOnWriteArrayList<>();
        volatile TlsInfo tls;
        volatile String tlsFailure;
        String helo;
        volatile int transactionCount;
        // the open transaction
        boolean inTransaction;
        String mailFrom;
        String mailParameters;
        String mailReply;
        List<Rcpt> rcpts = new ArrayList<>();
        String dataReply;
        long mailRead;
        boolean sameRead;

        Session(int number, Instant acceptedAt, Socket socket) {
            this.number = number;
            this.acceptedAt = acceptedAt;
            bind(socket);
        }

        void bind(Socket s) {
            try {
                socket = s;
                socket.setSoTimeout(30_000);
                in = new LineReader(s.getInputStream());
                out = s.getOutputStream();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        void run() throws IOException {
            try {
                converse();
            } catch (Hangup h) {
                // closed on purpose
            }
        }

        void converse() throws IOException, Hangup {
            String g = greeting;
            if (g == null) g = "220 " + hostname + " ESMTP scripted";
            answer(g); // a 421 greeting closes
            boolean noService = !g.startsWith("220");
            while (true) {
                byte[] raw = in.readLine(4096);
                if (raw == null) return;
                String line = new String(raw, StandardCharsets.UTF_8).replaceAll("\r?\n$", "");
                long readNo = in.lastLineRead();
                commands.add(line);
                int space = line.indexOf(' ');
                String verbText = (space < 0 ? line : line.substring(0, space)).toUpperCase(Locale.ROOT);
                String argument = space < 0 ? "" : line.substring(space + 1);
                if (noService && !verbText.equals("QUIT")) {
                    send("503 5.5.1 no service here");
                    continue;
                }
                switch (verbText) {
                    case "EHLO" -> ehlo(argument);
                    case "HELO" -> reply(Verb.HELO, argument, "250 " + hostname, () -> helo = line);
                    case "STARTTLS" -> startTls(argument);
                    case "MAIL" -> mail(argument, readNo);
                    case "RCPT" -> rcpt(argument, readNo);
                    case "DATA" -> data(argument, readNo);
                    case "RSET" -> {
                        endTransaction(null, null, null);
                        reply(Verb.RSET, argument, "250 2.0.0 ok", null);
                    }
                    case "NOOP" -> reply(Verb.NOOP, argument, "250 2.0.0 ok", null);
                    case "QUIT" -> {
                        endTransaction(null, null, null);
                        reply(Verb.QUIT, argument, "221 2.0.0 bye", null);
                        return;
                    }
                    default -> send("502 5.5.2 command not recognized");
                }
            }
        }

        void ehlo(String argument) throws IOException, Hangup {
            StringBuilder r = new StringBuilder("250-").append(hostname).append(" hello ").append(argument);
            List<String> ext = new ArrayList<>(extensions);
            if (advertiseStartTls && tls == null) ext.add("STARTTLS");
            if (ext.isEmpty()) r.replace(0, 4, "250 ");
            for (int i = 0; i < ext.size(); i++) {
                r.append('\n').append(i == ext.size() - 1 ? "250 " : "250-").append(ext.get(i));
            }
            String line = commands.getLast();
            reply(Verb.EHLO, argument, r.toString(), () -> helo = line);
        }

        void startTls(String argument) throws IOException, Hangup {
            if (tls != null || !advertiseStartTls) {
                reply(Verb.STARTTLS, argument, "503 5.5.1 TLS not available now", null);
                return;
            }
            StartTlsFailure failure = startTlsFailure;
            if (failure == StartTlsFailure.REFUSE) {
                reply(Verb.STARTTLS, argument, "454 4.7.0 TLS not available due to temporary reason", null);
                return;
            }
            String scripted = scripted(Verb.STARTTLS, argument);
            if (scripted != null) {
                answer(scripted); // DISCONNECT and 421 close the connection, as for every other verb
                return;
            }
            send("220 2.0.0 ready to start TLS");
            switch (failure) {
                case CLOSE_AFTER_READY -> {
                    tlsFailure = "closed after 220 on purpose";
                    throw new Hangup();
                }
                case GARBAGE_AFTER_READY -> {
                    out.write("this is not TLS\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    tlsFailure = "sent plain text after 220 on purpose";
                    throw new Hangup();
                }
                case CLOSE_DURING_HANDSHAKE -> {
                    socket.getInputStream().readNBytes(5); // the ClientHello's record header: the handshake began
                    tlsFailure = "closed during the handshake on purpose";
                    throw new Hangup();
                }
                case ALERT -> {
                    socket.getInputStream().readNBytes(5);
                    // alert record, TLS 1.2, length 2: fatal (2), handshake_failure (40)
                    out.write(new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28});
                    out.flush();
                    tlsFailure = "answered the ClientHello with a handshake_failure alert on purpose";
                    throw new Hangup();
                }
                case STALL_DURING_HANDSHAKE -> {
                    tlsFailure = "never answered the ClientHello on purpose";
                    answer(SILENT);
                }
                default -> { }
            }
            if (tlsMaterial == null) {
                tlsFailure = "no key material configured";
                throw new Hangup();
            }
            endTransaction(null, null, null); // STARTTLS resets the SMTP state (RFC 3207 §4.2)
            SSLSocket ssl = (SSLSocket) serverContext(tlsMaterial).getSocketFactory()
                    .createSocket(socket, null, socket.getPort(), true);
            ssl.setUseClientMode(false);
            if (tlsProtocols != null) ssl.setEnabledProtocols(tlsProtocols);
            if (tlsCipherSuites != null) ssl.setEnabledCipherSuites(tlsCipherSuites);
            if (tlsNamedGroups != null) {
                javax.net.ssl.SSLParameters parameters = ssl.getSSLParameters();
                parameters.setNamedGroups(tlsNamedGroups);
                ssl.setSSLParameters(parameters);
            }
            try {
                ssl.startHandshake();
            } catch (IOException e) {
                tlsFailure = e.toString();
                throw new Hangup();
            }
            SSLSession session = ssl.getSession();
            tls = new TlsInfo(session.getProtocol(), session.getCipherSuite(), sniOf(session));
            helo = null;
            bind(ssl); // anything the client pipelined in clear text after STARTTLS is dropped with the old reader
        }

        void mail(String argument, long readNo) throws IOException, Hangup {
            if (inTransaction && mailReply != null && mailReply.startsWith("2")) {
                send("503 5.5.1 nested MAIL command");
                return;
            }
            endTransaction(null, null, null);
            String upper = argument.toUpperCase(Locale.ROOT);
            if (!upper.startsWith("FROM:<") || argument.indexOf('>') < 0) {
                send("501 5.5.4 syntax: MAIL FROM:<address>");
                return;
            }
            int close = argument.indexOf('>');
            inTransaction = true;
            mailFrom = argument.substring(6, close);
            mailParameters = argument.substring(close + 1).strip();
            mailRead = readNo;
            sameRead = true;
            String dflt = "250 2.1.0 ok";
            long limit = sizeLimit;
            for (String p : mailParameters.split(" +")) {
                if (limit > 0 && p.toUpperCase(Locale.ROOT).startsWith("SIZE=")) {
                    try {
                        if (Long.parseLong(p.substring(5)) > limit) dflt = "552 5.3.4 message size exceeds fixed limit";
                    } catch (NumberFormatException e) {
                        dflt = "501 5.5.4 bad SIZE";
                    }
                }
            }
            String r = replyText(Verb.MAIL, argument, dflt);
            mailReply = r;
            answer(r);
        }

        void rcpt(String argument, long readNo) throws IOException, Hangup {
            String upper = argument.toUpperCase(Locale.ROOT);
            if (!upper.startsWith("TO:<") || argument.indexOf('>') < 0) {
                send("501 5.5.4 syntax: RCPT TO:<address>");
                return;
            }
            int close = argument.indexOf('>');
            String address = argument.substring(4, close);
            String parameters = argument.substring(close + 1).strip();
            String r;
            if (!inTransaction || mailReply == null || !mailReply.startsWith("2")) {
                r = "503 5.5.1 need MAIL before RCPT";
            } else {
                r = rcptReplies.get(address.toLowerCase(Locale.ROOT));
                if (r == null) r = replyText(Verb.RCPT, argument, "250 2.1.5 ok");
            }
            if (inTransaction) {
                rcpts.add(new Rcpt(address, parameters, r));
                sameRead &= readNo == mailRead;
            }
            answer(r);
        }

        void data(String argument, long readNo) throws IOException, Hangup {
            if (inTransaction) sameRead &= readNo == mailRead;
            boolean anyAccepted = rcpts.stream().anyMatch(Rcpt::accepted);
            String r;
            if (!inTransaction || mailReply == null || !mailReply.startsWith("2")) r = "503 5.5.1 need MAIL first";
            else if (!anyAccepted) r = "554 5.5.1 no valid recipients";
            else r = replyText(Verb.DATA, argument, "354 end data with <CRLF>.<CRLF>");
            if (r.equals(DISCONNECT_MID_DATA)) {
                dataReply = "354 end data with <CRLF>.<CRLF>";
                send(dataReply);
                ByteArrayOutputStream part = new ByteArrayOutputStream();
                while (part.size() < 8192) {
                    byte[] line = in.readLine(1 << 20);
                    if (line == null) break;
                    part.writeBytes(line);
                }
                endTransaction(part.toByteArray(), null, null);
                throw new Hangup();
            }
            dataReply = r;
            answer(r);
            if (!r.startsWith("354")) return;
            ByteArrayOutputStream wire = new ByteArrayOutputStream();
            ByteArrayOutputStream plain = new ByteArrayOutputStream();
            while (true) {
                byte[] line = in.readLine(1 << 20);
                if (line == null) {
                    endTransaction(wire.toByteArray(), plain.toByteArray(), null);
                    throw new Hangup();
                }
                if (Arrays.equals(line, END)) break;
                wire.writeBytes(line);
                plain.write(line, line[0] == '.' ? 1 : 0, line[0] == '.' ? line.length - 1 : line.length);
            }
            byte[] content = plain.toByteArray();
            String dflt = sizeLimit > 0 && content.length > sizeLimit
                    ? "552 5.3.4 message size exceeds fixed limit"
                    : "250 2.0.0 queued as S" + number + "T" + (transactionCount + 1);
            String done = replyText(Verb.DATA_END, new String(content, StandardCharsets.UTF_8), dflt);
            endTransaction(wire.toByteArray(), content, done.equals(DISCONNECT) ? null : done);
            answer(done);
        }

        /** Records the open transaction, if any. */
        void endTransaction(byte[] wire, byte[] content, String endReply) {
            if (!inTransaction) return;
            inTransaction = false;
            transactionCount++;
            transactions.add(new Transaction(number, helo, mailFrom, mailParameters, mailReply, rcpts, dataReply,
                    wire, content, endReply, sameRead, tls, commands));
            rcpts = new ArrayList<>();
            mailFrom = null;
            mailParameters = null;
            mailReply = null;
            dataReply = null;
        }

        ConnectionRecord snapshot() {
            return new ConnectionRecord(number, acceptedAt, commands, tls, tlsFailure, transactionCount);
        }

        void finish() {
            endTransaction(null, null, null);
            connections.add(new ConnectionRecord(number, acceptedAt, commands, tls, tlsFailure, transactionCount));
        }

        String scripted(Verb verb, String argument) {
            Responder r = script.get(verb);
            return r == null ? null : r.reply(argument);
        }

        String replyText(Verb verb, String argument, String dflt) {
            String s = scripted(verb, argument);
            return s == null ? dflt : s;
        }

        void reply(Verb verb, String argument, String dflt, Runnable onPositive) throws IOException, Hangup {
            String r = replyText(verb, argument, dflt);
            if (onPositive != null && r.startsWith("2")) onPositive.run();
            answer(r);
        }

        /** Sends a reply, honouring DISCONNECT, SILENT and unterminated replies, and closing after 421. */
        void answer(String r) throws IOException, Hangup {
            if (r.equals(DISCONNECT)) throw new Hangup();
            if (r.startsWith(UNTERMINATED)) {
                write(r.substring(UNTERMINATED.length()).getBytes(StandardCharsets.UTF_8));
                r = SILENT;
            }
            if (r.equals(SILENT)) {
                socket.setSoTimeout(0); // held until the client gives up, however long that takes
                InputStream raw = socket.getInputStream();
                while (raw.read(new byte[4096]) >= 0) {
                    // read and drop: a hung server still takes what it is sent
                }
                throw new Hangup();
            }
            send(r);
            if (r.startsWith("421")) throw new Hangup();
        }

        void send(String reply) throws IOException {
            write((reply.replace("\r", "").replace("\n", "\r\n") + "\r\n").getBytes(StandardCharsets.UTF_8));
        }

        /** Writes and flushes {@code bytes}, one at a time when trickling. */
        void write(byte[] bytes) throws IOException {
            Duration pause = trickle;
            if (pause == null) {
                out.write(bytes);
                out.flush();
                return;
            }
            for (byte b : bytes) {
                out.write(b);
                out.flush();
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("trickle interrupted");
                }
            }
        }
    }

    private static final byte[] END = {'.', '\r', '\n'};

    private static String sniOf(SSLSession session) {
        if (session instanceof ExtendedSSLSession ext) {
            for (SNIServerName n : ext.getRequestedServerNames()) {
                if (n instanceof SNIHostName h) return h.getAsciiName();
            }
        }
        return null;
    }

    private static final Map<KeyMaterial, SSLContext> CONTEXTS = new ConcurrentHashMap<>();

    /** A plain JSSE server context presenting {@code material}; no Postern hardening (the peer is "the world"). */
    private static SSLContext serverContext(KeyMaterial material) {
        return CONTEXTS.computeIfAbsent(material, m -> {
            try {
                char[] password = "scripted".toCharArray();
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                store.setKeyEntry("server", m.key(), password, m.chain().toArray(Certificate[]::new));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(store, password);
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(kmf.getKeyManagers(), null, null);
                return context;
            } catch (GeneralSecurityException | IOException e) {
                throw new IllegalStateException("cannot build a server TLS context: " + e, e);
            }
        });
    }

    /**
     * Reads LF-terminated lines as raw bytes (CRLF kept), counting the reads from the socket, so that a test can see
     * whether several commands arrived together.
     */
    private static final class LineReader {
        private final InputStream in;
        private final byte[] buffer = new byte[64 * 1024];
        private int start;
        private int end;
        private long reads;
        private long lastLineRead;

        LineReader(InputStream in) {
            this.in = in;
        }

        /** The number of the read that completed the last line returned. */
        long lastLineRead() { return lastLineRead; }

        /** The next line including its LF, or null at end of stream (a partial last line is dropped). */
        byte[] readLine(int max) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                for (int i = start; i < end; i++) {
                    if (buffer[i] == '\n') {
                        line.write(buffer, start, i + 1 - start);
                        start = i + 1;
                        lastLineRead = reads;
                        return line.toByteArray();
                    }
                }
                line.write(buffer, start, end - start);
                start = end;
                if (line.size() > max) throw new IOException("line too long");
                int n = in.read(buffer, 0, buffer.length);
                if (n < 0) return null;
                reads++;
                start = 0;
                end = n;
            }
        }
    }
}
