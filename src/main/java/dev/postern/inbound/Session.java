package dev.postern.inbound;

import dev.postern.audit.AuditIds;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.deadline.IoWatchdog;
import dev.postern.tls.AuditFacts;
import dev.postern.config.Config;
import dev.postern.queue.Envelope;
import dev.postern.queue.Spool;
import dev.postern.recipients.Verdict;
import dev.postern.smtp.AddressException;
import dev.postern.smtp.BareLineEndingException;
import dev.postern.smtp.Command;
import dev.postern.smtp.HopCounter;
import dev.postern.smtp.LineTooLongException;
import dev.postern.smtp.Path;
import dev.postern.smtp.Reply;
import dev.postern.smtp.SmtpInput;
import dev.postern.tls.Constraints;
import dev.postern.tls.TlsContexts;
import dev.postern.tls.TlsFacts;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import dev.postern.tls.TlsConfigException;
import dev.postern.auth.AuthLimiter;
import dev.postern.auth.Credentials;
import dev.postern.auth.PasswordFile;
import dev.postern.auth.Scram;
import dev.postern.auth.Sasl;
import javax.net.ssl.SSLSocket;
import dev.postern.logging.Untrusted;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * One SMTP server session, from greeting to close, on its own (virtual) thread. Not thread-safe by design: exactly one
 * thread owns it.
 */
final class Session {
    private static final Logger log = LoggerFactory.getLogger(Session.class);
    /** Refuse new mail when the spool's filesystem has less than this much room besides the message itself. */
    private static final long SPOOL_RESERVE = 64L * 1024 * 1024;

    /** Thrown to end the session after a final reply (421, QUIT); {@code result} is the end line's word. */
    private static final class Close extends Exception {
        final String result;

        Close(String result) {
            super(null, null, false, false);
            this.result = result;
        }
    }

    /**
     * What the session is doing, for a gateway that stops ({@link #stop}, {@link #force}): waiting for a command
     * (IDLE: answered 421 at once), receiving message content (DATA: may finish within the grace), anything else
     * (BUSY: answers 421 at its next command). Changed only while holding {@link #gate}.
     */
    enum Phase { BUSY, IDLE, DATA }

    /**
     * Guards {@link #phase} and the stop flags. A semaphore, not a lock: the stopping side takes it and hands it to the
     * thread that writes the 421, so the session cannot close the connection before that reply is out.
     */
    private final java.util.concurrent.Semaphore gate = new java.util.concurrent.Semaphore(1);
    private Phase phase = Phase.BUSY;
    /** When {@link #phase} last became IDLE or DATA (nanoTime), and the client's bytes read by then (both gated). */
    private long phaseSince;
    private long phaseBytes;
    /**
     * Message content slower than this (bytes a second, Postfix's {@code smtpd_min_data_rate}) may be cut while
     * connections wait for a turn: see {@link #cutIfSlow}.
     */
    static final long MIN_DATA_RATE = 500;
    /** When the TLS handshake under way began (nanoTime), 0 when none: a stalled one may be cut too. */
    private volatile long handshakeSince;
    /** The gateway stops: the session says 421 at its next command. */
    private boolean stopping;
    /** The stopping side answered (or cut) the connection: the session only ends. */
    private boolean stoppedHere;
    /** Why the gateway's stop ended the session, the end line's {@code result} (null: the session's own reason). */
    private volatile String closeReason;
    /** The TCP connection, even after STARTTLS replaced {@link #socket}: closing it ends any read or write. */
    private final Socket tcp;
    /** The MDC key of the session id on every line of a session (the audit's session id). */
    static final String SESSION_KEY = "session";

    private final InboundContext ctx;
    private final Config.Limits limits;
    private final InetAddress clientAddress;
    private final long startNanos = System.nanoTime();
    /** Deadlines of every read and write, and of the session as a whole (the watchdog closes the TCP socket). */
    private final SessionDeadlines deadlines;
    private Socket socket;
    private SmtpInput in;
    private OutputStream out;

    private TlsFacts tls;
    /** This session's id in the audit, made at its start so that the messages received in it can name it. */
    private final String auditId = AuditIds.next();
    /** The socket of a finished handshake (kept even when the listener then refused its protocol), for the audit. */
    private SSLSocket handshaken;
    private long handshakeStart;
    /** Read right after the handshake: a provider may forget it once the socket is closed. */
    private String keyExchangeGroup;
    /** Why the session has no TLS when a handshake was tried and failed or was refused; null otherwise. */
    private TlsSessionRecord.NoTls noTls;
    private String noTlsDetail;
    /** The client's forward-confirmed reverse DNS name, looked up from the moment the connection was accepted. */
    private final CompletableFuture<Optional<String>> reverseName;
    /** When the session ended, for its record (which may be made a little later: see {@link #recordSession}). */
    private Instant endedAt;
    /** The name of the last EHLO/HELO, kept across STARTTLS (unlike {@link #helo}) for the session's record. */
    private String lastHelo;
    /** The client's certificate chain (empty when it sent none) and its judgement against the listener's CA. */
    private List<X509Certificate> clientChain = List.of();
    private InboundPolicy.ClientCertificate clientCertificate;
    /** Which relay_clients rule the certificate satisfied, or null. */
    private String relayClient;
    /** The user who authenticated with SMTP AUTH, or null. */
    private String authUser;
    private String helo;
    private boolean esmtp;
    private int errors;
    private int accepted;
    /** The verb of the command being answered, for the log line of a refusal. */
    private Command.Verb verb;
    /** Its argument when it names no secret (EHLO, HELO, MAIL, RCPT), for the same line; else null. */
    private String argument;
    /** Commands that did not move a message forward since the last accepted one (see {@link #junk()}). */
    private int junk;

    // The current transaction.
    private Path sender;
    private boolean smtputf8;
    private String bodyType = "7BIT";
    /** MAIL FROM had REQUIRETLS (RFC 8689). */
    private boolean requireTls;
    private final List<String> recipients = new ArrayList<>();
    private Spool.Incoming bdat;
    private SpoolSink bdatSpool;
    private HopCounter bdatHops;
    private SizeGuard bdatGuard;
    /** Bytes of our Received header at the start of {@link #bdat}'s content. */
    private long bdatHeaderBytes;
    private boolean bdatFailed;
    /** The latest MAIL FROM below its domain's remembered TLS level (refused or flagged), for the session record. */
    private SenderMemory.Below downgrade;
    /** The subject of the verified client certificate the current message's Received header names, or null. */
    private String messageCertificate;

    Session(InboundContext ctx, Socket socket, IoWatchdog watchdog) {
        this.ctx = ctx;
        this.limits = ctx.config().limits();
        this.socket = socket;
        this.tcp = socket;
        this.clientAddress = socket.getInetAddress();
        // Started before the greeting and never waited for during the dialogue (it returns at once).
        this.reverseName = ctx.reverseNames().confirmedName(clientAddress);
        // A reply the client does not take within command_timeout ends the session, as an unanswered read does.
        this.deadlines = new SessionDeadlines(watchdog, socket, limits.sessionTimeout(), limits.commandTimeout(),
                limits.commandTimeout());
    }

    /** Runs the session to its end; never throws. */
    void run() {
        // on every line of the session, whichever package writes it
        MDC.put(SESSION_KEY, auditId);
        MDC.put("client", clientAddress.getHostAddress());
        MDC.put("client-port", Integer.toString(socket.getPort()));
        log.atInfo().addKeyValue("role", ctx.role().name().toLowerCase(Locale.ROOT))
                .addKeyValue("listener", socket.getLocalPort()).log("connect");
        String end = "client-closed";
        String detail = null;
        try {
            socket.setTcpNoDelay(true);
            if (ctx.role() == Config.Role.SUBMISSIONS) startTls(); // RFC 8314: TLS from the first byte
            else bindStreams();
            reply(Reply.of(220, null, ctx.config().hostname() + " ESMTP Postern"));
            loop();
        } catch (Close c) {
            end = closeReason != null ? closeReason : c.result;
        } catch (SocketTimeoutException e) {
            end = deadlines.sessionExpired() ? "session-timeout" : "timeout";
            tryReply(deadlines.sessionExpired() ? Replies.SESSION_TOO_LONG : Replies.TIMEOUT);
        } catch (EOFException e) {
            end = "client-closed";
        } catch (IOException e) {
            if (deadlines.closedByWatchdog()) {
                end = "timeout";
                detail = "closed by the watchdog";
            } else {
                end = "io-error";
                detail = e.getMessage();
            }
        } catch (RuntimeException e) {
            end = "internal-error";
            log.atError().setCause(e).log("session failed");
            tryReply(Replies.LOCAL_ERROR);
        } finally {
            abortBdat();
            deadlines.closing(); // closing a TLS socket writes close_notify, which a client that never reads blocks
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing left to tell the client
            }
            deadlines.close();
            endedAt = Instant.now();
            // helo is left out when the client never said EHLO/HELO (never "helo=null")
            log.atInfo().addKeyValue("helo", Untrusted.clip(lastHelo))
                    .addKeyValue("tls", tls == null ? "none" : tls.protocol() + "/" + tls.cipher())
                    .addKeyValue("auth", authUser != null ? Untrusted.clip(authUser)
                            : relayClient != null ? relayClient : "none")
                    .addKeyValue("accepted", accepted).addKeyValue("errors", errors).addKeyValue("result", end)
                    .addKeyValue("detail", detail)
                    .addKeyValue("duration-ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos))
                    .log("disconnect");
        }
    }

    private void loop() throws IOException, Close {
        while (true) {
            String line;
            try {
                line = awaitClient(Phase.IDLE, in::readLine);
            } catch (LineTooLongException e) {
                verb = null;
                argument = null;
                error(Replies.LINE_TOO_LONG);
                continue;
            } catch (BareLineEndingException e) {
                verb = null;
                argument = null;
                error(Replies.BARE_LINE_ENDING);
                continue;
            }
            if (line == null) throw new EOFException();
            if (System.nanoTime() - startNanos > limits.sessionTimeout().toNanos()) {
                reply(Replies.SESSION_TOO_LONG);
                out.flush();
                throw new Close("session-timeout");
            }
            Command command = Command.parse(line);
            verb = command.verb();
            argument = switch (verb) {
                case EHLO, HELO, MAIL, RCPT -> command.argument();
                default -> null; // AUTH carries credentials; an unknown line may be a password typed by mistake
            };
            handle(command);
        }
    }

    private void handle(Command c) throws IOException, Close {
        if (ctx.listener().requiresTls() && tls == null) {
            switch (c.verb()) {
                case EHLO, HELO, NOOP, QUIT, STARTTLS, RSET, AUTH -> { } // AUTH answers 538 itself
                default -> {
                    error(Replies.TLS_REQUIRED);
                    return;
                }
            }
        }
        switch (c.verb()) {
            case NOOP, RSET, VRFY, HELP, EXPN, EHLO, HELO -> junk();
            default -> { }
        }
        switch (c.verb()) {
            case EHLO -> ehlo(c.argument(), true);
            case HELO -> ehlo(c.argument(), false);
            case STARTTLS -> startTlsCommand(c.argument());
            case MAIL -> mail(c.argument());
            case RCPT -> rcpt(c.argument());
            case DATA -> data(c.argument());
            case BDAT -> bdat(c.argument());
            case RSET -> {
                resetTransaction();
                reply(Replies.OK);
            }
            case NOOP -> reply(Replies.OK);
            case VRFY -> reply(Replies.VRFY);
            case HELP -> reply(Replies.HELP);
            case QUIT -> {
                reply(Reply.of(221, "2.0.0", "Bye"));
                out.flush();
                throw new Close("quit");
            }
            case AUTH -> auth(c.argument());
            case EXPN -> error(Replies.NOT_IMPLEMENTED);
            case UNKNOWN -> error(Replies.UNKNOWN_COMMAND);
        }
    }

    private void ehlo(String argument, boolean extended) throws IOException, Close {
        String name = argument.strip();
        if (name.isEmpty() || name.indexOf(' ') >= 0) {
            error(Replies.SYNTAX_EHLO);
            return;
        }
        resetTransaction();
        helo = ReceivedHeader.sanitize(name);
        lastHelo = helo;
        esmtp = extended;
        String host = ctx.config().hostname();
        if (!extended) {
            reply(Reply.of(250, null, host));
            return;
        }
        List<String> lines = new ArrayList<>();
        lines.add(host + " greets " + helo);
        lines.add("PIPELINING");
        lines.add("SIZE " + limits.maxMessageSize());
        lines.add("8BITMIME");
        lines.add("ENHANCEDSTATUSCODES");
        if (tls == null) lines.add("STARTTLS");
        if (offersAuth()) lines.add("AUTH " + String.join(" ", ctx.auth().passwords().current().mechanisms()));
        lines.add("CHUNKING");
        lines.add("SMTPUTF8");
        // RFC 8689 §4: only inside TLS, where the client can rely on the promise (and cannot be stripped of it)
        if (tls != null) lines.add("REQUIRETLS");
        reply(new Reply(250, null, lines));
    }

    /** AUTH only on submission listeners, and only inside TLS (a password never crosses the wire in clear text). */
    private boolean offersAuth() {
        return tls != null && ctx.role() != Config.Role.MX;
    }

    private void auth(String argument) throws IOException, Close {
        if (ctx.role() == Config.Role.MX) {
            error(Reply.of(503, "5.5.1", "AUTH is not offered on this listener; use the submission port"));
            return;
        }
        if (tls == null) {
            error(Reply.of(538, "5.7.11", "Encryption required for requested authentication mechanism"));
            return;
        }
        if (helo == null || !esmtp) {
            error(Reply.of(503, "5.5.1", "Send EHLO first"));
            return;
        }
        if (authUser != null) {
            error(Reply.of(503, "5.5.1", "Already authenticated"));
            return;
        }
        if (sender != null) {
            error(Reply.of(503, "5.5.1", "AUTH not allowed during a mail transaction"));
            return;
        }
        if (!ctx.auth().limiter().allowed(clientAddress)) { // the whole network is locked out
            error(AuthLimiter.LOCKED_OUT, log.atWarn().addKeyValue("reason", "too many failed attempts"));
            return;
        }
        String[] words = argument.strip().split(" +", 2);
        AuthLimiter limiter = ctx.auth().limiter();
        PasswordFile passwords = ctx.auth().passwords().current();
        // A locked-out user's SCRAM exchange runs on mock secrets, so that it fails whatever the proof: the server
        // signature must not tell a guesser that the password was right.
        Scram.Store scram = new Scram.Store() {
            @Override public Scram.Secrets scramSecrets(String user) {
                return limiter.allowed(clientAddress, user) ? passwords.scramSecrets(user) : null;
            }

            @Override public Scram.Secrets mockSecrets(String user) { return passwords.mockSecrets(user); }
        };
        Sasl.Step step = Sasl.start(words[0], words.length > 1 ? words[1] : null, scram);
        while (step instanceof Sasl.Challenge c) {
            out.write(c.wireLine().getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String line;
            try {
                line = in.readLine();
            } catch (LineTooLongException | BareLineEndingException e) {
                error(Reply.of(501, "5.5.2", "Cannot decode the response"));
                return;
            }
            if (line == null) throw new EOFException();
            step = c.next(line);
        }
        String user;
        boolean ok;
        switch (step) {
            case Sasl.Failed f -> {
                error(f.reply(), log.atWarn().addKeyValue("mechanism", mechanism(words[0])));
                return;
            }
            case Sasl.Done d -> {
                try (Credentials credentials = d.credentials()) {
                    user = credentials.user();
                    // Locked out: the password is not even checked.
                    ok = limiter.allowed(clientAddress, user) && passwords.verify(credentials);
                }
            }
            case Sasl.Authenticated a -> {
                user = a.user();
                ok = true;
            }
            case Sasl.Invalid i -> {
                user = i.user();
                ok = false;
            }
            case Sasl.Challenge c -> throw new IllegalStateException("unreachable");
        }
        // the user name and mechanism only: never the response, which holds the password or a proof
        if (!limiter.allowed(clientAddress, user)) {
            error(AuthLimiter.LOCKED_OUT, log.atWarn().addKeyValue("user", Untrusted.clip(user)) // not counted again
                    .addKeyValue("mechanism", mechanism(words[0])).addKeyValue("reason", "too many failed attempts"));
            return;
        }
        if (ok) {
            authUser = user;
            limiter.success(clientAddress, user);
            log.atInfo().addKeyValue("user", Untrusted.clip(authUser)).addKeyValue("mechanism", mechanism(words[0]))
                    .log("auth");
            reply(Sasl.SUCCEEDED);
        } else {
            limiter.failure(clientAddress, user);
            pause(ctx.auth().failureDelay()); // a guesser waits for every answer (on a virtual thread: costs nothing)
            error(Sasl.INVALID, log.atWarn().addKeyValue("user", Untrusted.clip(user))
                    .addKeyValue("mechanism", mechanism(words[0])));
        }
    }

    private void startTlsCommand(String argument) throws IOException, Close {
        if (tls != null) {
            error(Replies.ALREADY_TLS);
            return;
        }
        if (!argument.isBlank()) {
            error(Replies.SYNTAX_NO_ARGUMENT);
            return;
        }
        reply(Replies.START_TLS);
        out.flush();
        // Whatever the client pipelined after STARTTLS was sent in clear text: it must not be executed inside TLS.
        in.discardBuffered();
        startTls();
        // RFC 3207 §4.2: forget everything learnt before TLS; the client must say EHLO again.
        authUser = null;
        helo = null;
        esmtp = false;
        resetTransaction();
    }

    private void startTls() throws IOException, Close {
        Constraints constraints = InboundPolicy.constraints(ctx.listener().tls());
        SSLSocket ssl = TlsContexts.wrapServer(ctx.tls(), socket, constraints,
                ctx.policy().asksForCertificates(ctx.listener()));
        handshakeStart = System.currentTimeMillis();
        handshakeSince = System.nanoTime();
        try (SessionDeadlines.Bounded bounded = deadlines.during(socket)) {
            ssl.startHandshake();
        } catch (IOException e) {
            log.atInfo().addKeyValue("reason", e.getMessage()).log("tls handshake failed");
            noTls = TlsSessionRecord.NoTls.HANDSHAKE_FAILED;
            noTlsDetail = e.getMessage();
            throw new Close("tls-failed");
        } finally {
            handshakeSince = 0;
        }
        handshaken = ssl;
        keyExchangeGroup = AuditFacts.keyExchangeGroup(ssl);
        // Conscrypt (BoringSSL) cannot switch TLS 1.3 suites off, so the listener's constraints are checked on what
        // was negotiated; with the JDK's provider such a handshake has already failed.
        String protocol = ssl.getSession().getProtocol(), suite = ssl.getSession().getCipherSuite();
        if (!constraints.allowsProtocol(protocol) || !constraints.allowsSuite(suite)) {
            log.atInfo().addKeyValue("tls", protocol + "/" + suite).addKeyValue("reason", "not allowed on this listener")
                    .log("tls handshake failed");
            noTls = TlsSessionRecord.NoTls.POLICY_CHECK_FAILED;
            noTlsDetail = protocol + " " + suite + " not allowed on this listener";
            try {
                ssl.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            throw new Close("tls-failed");
        }
        socket = ssl;
        tls = TlsFacts.of(ssl.getSession());
        clientChain = AuditFacts.peerChain(ssl.getSession());
        Instant now = Instant.now();
        try {
            clientCertificate = ctx.policy().judge(clientChain, ctx.listener().tls().clientCaFile(), now);
            if (ctx.role() != Config.Role.MX) relayClient = ctx.policy().relayClient(clientChain, now);
        } catch (TlsConfigException e) {
            log.atError().addKeyValue("policy", "listener").addKeyValue("reason", e.getMessage())
                    .log("policy cannot be applied");
            clientCertificate = null;
            relayClient = null;
        }
        if (clientCertificate != null) {
            log.atInfo().addKeyValue("subject", Untrusted.clip(clientCertificate.facts().subject()))
                    .addKeyValue("verified", clientCertificate.facts().trusted())
                    .addKeyValue("problem", clientCertificate.facts().trusted() ? null
                            : clientCertificate.facts().trustProblem())
                    .addKeyValue("relay-authorised", relayClient).log("client certificate");
        }
        bindStreams();
    }

    private void bindStreams() throws IOException {
        in = new SmtpInput(deadlines.input(socket, socket.getInputStream()), limits.maxLineLength());
        // Replies are short (an EHLO reply is about 200 bytes), and every idle session holds this buffer.
        out = new BufferedOutputStream(deadlines.output(socket.getOutputStream()), 1024);
    }

    private void mail(String argument) throws IOException, Close {
        if (helo == null) {
            error(Replies.BAD_SEQUENCE_HELO);
            return;
        }
        if (sender != null) {
            error(Replies.BAD_SEQUENCE_NESTED_MAIL);
            return;
        }
        Path path;
        try {
            path = Path.parseReverse(argument);
        } catch (AddressException e) {
            error(Reply.of(501, "5.1.7", "Bad sender address syntax: " + e.getMessage()));
            return;
        }
        boolean utf8 = false;
        boolean requireTlsAsked = false;
        String body = "7BIT";
        for (Map.Entry<String, String> p : path.params().entrySet()) {
            String value = p.getValue();
            switch (p.getKey()) {
                case "SIZE" -> {
                    long declared;
                    try {
                        declared = Long.parseLong(value == null ? "" : value);
                    } catch (NumberFormatException e) {
                        error(Reply.of(501, "5.5.4", "SIZE takes a number"));
                        return;
                    }
                    if (declared > limits.maxMessageSize()) {
                        error(Replies.TOO_BIG);
                        return;
                    }
                }
                case "BODY" -> {
                    String b = value == null ? "" : value.toUpperCase(Locale.ROOT);
                    if (!b.equals("7BIT") && !b.equals("8BITMIME")) {
                        error(Replies.BAD_BODY);
                        return;
                    }
                    body = b;
                }
                case "SMTPUTF8" -> {
                    if (value != null) {
                        error(Reply.of(501, "5.5.4", "SMTPUTF8 takes no value"));
                        return;
                    }
                    utf8 = true;
                }
                case "REQUIRETLS" -> {
                    if (value != null) {
                        error(Reply.of(501, "5.5.4", "REQUIRETLS takes no value"));
                        return;
                    }
                    if (tls == null) { // RFC 8689 §4.1: a session without TLS cannot carry the requirement
                        error(Reply.of(530, "5.7.10", "REQUIRETLS needs TLS: send STARTTLS first"));
                        return;
                    }
                    requireTlsAsked = true;
                }
                default -> {
                    error(Reply.of(555, "5.5.4", "Unsupported MAIL parameter " + p.getKey()));
                    return;
                }
            }
        }
        if (!path.isNull() && !path.mailbox().isAscii() && !utf8) {
            error(Replies.UTF8_NEEDS_SMTPUTF8);
            return;
        }
        if (ctx.listener().tls().clientCertificate() == Config.ClientCertificates.REQUIRE
                && (clientCertificate == null || !clientCertificate.facts().trusted())) {
            error(Reply.of(550, "5.7.1", "client certificate required"
                    + (clientCertificate == null ? "" : ": " + clientCertificate.facts().trustProblem())),
                    log.atWarn().addKeyValue("reason", "listener requires a client certificate; "
                            + (clientCertificate == null ? "none presented" : clientCertificate.facts().trustProblem())));
            return;
        }
        Reply partnerRefusal;
        try {
            partnerRefusal = ctx.policy().checkPartner(path.isNull() ? null : path.mailbox().domainKey(),
                    clientAddress, tls, clientChain, clientCertificate, Instant.now());
        } catch (TlsConfigException e) {
            log.atError().addKeyValue("policy", "partner").addKeyValue("reason", e.getMessage())
                    .log("policy cannot be applied");
            partnerRefusal = Reply.of(451, "4.7.0", "partner policy cannot be applied; try again later");
        }
        if (partnerRefusal != null) {
            error(partnerRefusal, log.atWarn().addKeyValue("policy-source", "partner")
                    .addKeyValue("tls", tls == null ? "none" : tls.protocol() + "/" + tls.cipher())
                    .addKeyValue("cert", clientCertificate == null ? "none"
                            : Untrusted.clip(clientCertificate.facts().subject())));
            return;
        }
        String senderDomain = path.isNull() ? null : path.mailbox().domainKey();
        Optional<SenderMemory.Below> below = ctx.senders().check(senderDomain,
                SenderMemory.level(tls, clientCertificate, senderDomain));
        if (below.isPresent()) {
            downgrade = below.get();
            log.atWarn().addKeyValue("from", Untrusted.address(path.mailbox().toString()))
                    .addKeyValue("action", downgrade.refuse() ? "refused" : "flagged (accepted)")
                    .addKeyValue("policy-source", "memory").addKeyValue("reason", downgrade.reason())
                    .addKeyValue("fix", "if " + downgrade.domain() + " changed for good, run \"postern domains forget "
                            + downgrade.domain() + " --direction in\"").log("downgrade alert");
            if (downgrade.refuse()) {
                error(downgrade.reply(), log.atInfo().addKeyValue("policy-source", "memory"));
                return;
            }
        }
        if (spoolTooFull()) {
            error(Replies.DISK_FULL);
            return;
        }
        sender = path;
        smtputf8 = utf8;
        bodyType = body;
        requireTls = requireTlsAsked;
        reply(Replies.SENDER_OK);
    }

    private void rcpt(String argument) throws IOException, Close {
        if (sender == null) {
            error(Replies.BAD_SEQUENCE_MAIL);
            return;
        }
        Path path;
        try {
            path = Path.parseForward(argument);
        } catch (AddressException e) {
            error(Reply.of(501, "5.1.3", "Bad recipient address syntax: " + e.getMessage()));
            return;
        }
        if (!path.params().isEmpty()) {
            error(Reply.of(555, "5.5.4", "Unsupported RCPT parameter " + path.params().keySet().iterator().next()));
            return;
        }
        if (path.mailbox().domain().isEmpty()) {
            // "<Postmaster>" without a domain (RFC 5321 §4.1.1.3) means this host's postmaster.
            path = new Path(new dev.postern.smtp.Mailbox("postmaster", ctx.postmasterDomain()), Map.of(), false);
        }
        if (!path.mailbox().isAscii() && !smtputf8) {
            error(Replies.UTF8_NEEDS_SMTPUTF8);
            return;
        }
        if (recipients.size() >= limits.maxRecipients()) {
            junk(); // an endless stream of these would get an endless stream of 452s
            refused(Replies.TOO_MANY_RECIPIENTS, log.atInfo());
            reply(Replies.TOO_MANY_RECIPIENTS); // RFC 5321 §4.5.3.1.10: a 452 here is not a client error
            return;
        }
        switch (ctx.relay().judge(path, ctx.role(), clientAddress, relayClient != null || authUser != null)) {
            case LOCAL, RELAY -> {
                Verdict verdict = ctx.recipients().check(path.mailbox());
                Reply refusal = Replies.forRecipient(verdict, path.mailbox());
                if (refusal != null) {
                    LoggingEventBuilder event = log.atInfo()
                            .addKeyValue("to", Untrusted.address(path.mailbox().toString()))
                            .addKeyValue("verdict", Untrusted.clip(verdict.toString()));
                    if (refusal.isPermanent()) {
                        error(refusal, event); // a dictionary attack ends at max_errors
                    } else {
                        refused(refusal, event);
                        reply(refusal);
                        junk(); // each may have cost a probe of the next hop: not an endless stream either
                    }
                    return;
                }
                recipients.add(path.mailbox().address()); // the domain in lookup form: see Mailbox
                reply(Replies.RECIPIENT_OK);
            }
            case DENIED -> error(Replies.RELAY_DENIED,
                    log.atInfo().addKeyValue("to", Untrusted.address(path.mailbox().toString())));
            case ROUTING_TRICK -> error(Replies.ROUTING_TRICK);
        }
    }

    private void data(String argument) throws IOException, Close {
        if (bdat != null || bdatFailed) {
            error(Replies.BDAT_MIX);
            return;
        }
        if (!argument.isBlank()) {
            error(Replies.SYNTAX_NO_ARGUMENT);
            return;
        }
        if (sender == null) {
            error(Replies.BAD_SEQUENCE_MAIL);
            return;
        }
        if (recipients.isEmpty()) {
            error(Replies.NO_VALID_RECIPIENTS);
            return;
        }
        if (spoolTooFull()) { // the disk filled since MAIL: refused before the 354, not after the data
            resetTransaction();
            error(Replies.DISK_FULL);
            return;
        }
        Spool.Incoming incoming;
        try {
            incoming = ctx.spool().receive(); // before the 354: a spool that cannot take the message is told now
        } catch (IOException e) {
            log.atError().addKeyValue("reason", e.toString()).log("spool cannot receive a message");
            resetTransaction();
            refused(Replies.LOCAL_ERROR, log.atInfo());
            reply(Replies.LOCAL_ERROR);
            return;
        }
        deadlines.readTimeout(limits.dataTimeout());
        try (incoming) {
            SpoolSink spool = new SpoolSink(incoming.body());
            long headerBytes = writeReceived(incoming, spool);
            HopCounter hops = new HopCounter(spool);
            reply(Replies.START_DATA);
            SmtpInput.DataResult result = awaitClient(Phase.DATA, () -> in.readData(hops, limits.maxMessageSize()));
            if (result.tooBig()) {
                error(Replies.TOO_BIG);
            } else if (result.bareLineEnding()) {
                error(Replies.SMUGGLING, log.atWarn().addKeyValue("reason", "bare CR or LF in the content"));
            } else if (hops.hops() > limits.maxHops()) {
                error(mailLoop(hops.hops()));
            } else if (spool.failure() != null) {
                Reply r = spoolFailure(incoming.id(), spool.failure());
                incoming.close(); // the partial file goes before the client hears of it
                reply(r);
            } else {
                commit(incoming, headerBytes + result.bytes(), hops);
            }
        } finally {
            deadlines.readTimeout(limits.commandTimeout());
            resetTransaction();
        }
    }

    private void bdat(String argument) throws IOException, Close {
        String[] words = argument.strip().split(" +");
        long size;
        boolean last;
        try {
            size = Long.parseLong(words[0]);
            last = words.length == 2 && words[1].equalsIgnoreCase("LAST");
            if (size < 0 || words.length > 2 || (words.length == 2 && !last)) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            // The chunk's length is unknown, so the stream cannot be resynchronised: answer and close.
            refused(Replies.SYNTAX_BDAT, log.atInfo());
            reply(Replies.SYNTAX_BDAT);
            out.flush();
            throw new Close("protocol-error");
        }
        Reply refusal = sender == null ? Replies.BAD_SEQUENCE_MAIL
                : recipients.isEmpty() ? Replies.NO_VALID_RECIPIENTS : null;
        if (refusal != null || bdatFailed) {
            in.readChunk(size, OutputStream.nullOutputStream()); // RFC 3030: the chunk is read and discarded
            if (last) resetTransaction();
            if (refusal != null) {
                error(refusal);
            } else {
                reply(Reply.of(554, "5.5.0", "Transaction already failed; send RSET"));
                junk(); // a client may have pipelined a few, but not an endless stream of them
            }
            return;
        }
        if (size == 0 && !last) junk(); // an empty chunk moves no message forward
        deadlines.readTimeout(limits.dataTimeout());
        try {
            if (bdat == null && spoolTooFull()) { // the disk filled since MAIL: nothing of this message is taken
                in.readChunk(size, OutputStream.nullOutputStream());
                failBdat(last);
                error(Replies.DISK_FULL);
                return;
            }
            if (bdat == null) {
                Spool.Incoming incoming;
                try {
                    incoming = ctx.spool().receive();
                } catch (IOException e) {
                    log.atError().addKeyValue("reason", e.toString()).log("spool cannot receive a message");
                    in.readChunk(size, OutputStream.nullOutputStream());
                    failBdat(last);
                    reply(Replies.LOCAL_ERROR);
                    return;
                }
                bdat = incoming;
                bdatSpool = new SpoolSink(bdat.body());
                bdatHeaderBytes = writeReceived(bdat, bdatSpool);
                bdatHops = new HopCounter(bdatSpool);
                bdatGuard = new SizeGuard(bdatHops, limits.maxMessageSize());
            }
            long chunk = size;
            awaitClient(Phase.DATA, () -> {
                in.readChunk(chunk, bdatGuard);
                return null;
            });
        } catch (IOException e) {
            abortBdat();
            throw e;
        } finally {
            deadlines.readTimeout(limits.commandTimeout());
        }
        if (bdatGuard.tooBig() || bdatGuard.bareLineEnding()) {
            Reply r = bdatGuard.tooBig() ? Replies.TOO_BIG : Replies.SMUGGLING;
            failBdat(last);
            error(r);
            return;
        }
        if (bdatSpool.failure() != null) {
            Reply r = spoolFailure(bdat.id(), bdatSpool.failure());
            failBdat(last);
            reply(r);
            return;
        }
        if (!last) {
            reply(Reply.of(250, "2.0.0", size + " octets received"));
            return;
        }
        try {
            bdatGuard.finish();
            if (bdatGuard.bareLineEnding()) {
                error(Replies.SMUGGLING);
                return;
            }
            if (bdatHops.hops() > limits.maxHops()) {
                error(mailLoop(bdatHops.hops()));
                return;
            }
            commit(bdat, bdatHeaderBytes + bdatGuard.count(), bdatHops);
        } finally {
            abortBdat();
            resetTransaction();
        }
    }

    /** Writes our Received header as the first line of the content to {@code sink}; returns its length in bytes. */
    private long writeReceived(Spool.Incoming incoming, OutputStream sink) throws IOException {
        boolean authenticated = relayClient != null || authUser != null;
        InboundPolicy.ClientCertificate shown;
        try {
            shown = ctx.policy().forReceivedHeader(clientCertificate, relayClient != null,
                    sender == null || sender.isNull() ? null : sender.mailbox().domainKey(), clientAddress,
                    Instant.now());
        } catch (TlsConfigException e) {
            shown = clientCertificate;
        }
        messageCertificate = shown != null && shown.facts().trusted() ? shown.facts().subject() : null;
        String header = ReceivedHeader.format(helo, reverseNameIfKnown(), clientAddress, tls, shown, authUser, ctx.config().hostname(),
                ReceivedHeader.protocol(esmtp, tls != null, authenticated, smtputf8), incoming.id(), recipients,
                ZonedDateTime.now(ZoneId.systemDefault()));
        byte[] bytes = header.getBytes(StandardCharsets.UTF_8);
        sink.write(bytes);
        return bytes.length;
    }

    /** RFC 5321 §6.3: refused in the session, so no bounce goes round the loop or to a forged sender. */
    private Reply mailLoop(int hops) {
        log.atWarn().addKeyValue("from", Untrusted.address(sender.isNull() ? "" : sender.mailbox().toString()))
                .addKeyValue("hops", hops).addKeyValue("limit", limits.maxHops()).log("mail loop");
        return Reply.of(554, "5.4.6", "mail loop: too many hops (" + hops + ")");
    }

    /** The reply when the spool could not store a message: 452 4.3.1 if its disk is (nearly) full, else 451 4.3.0. */
    private Reply spoolFailure(String id, IOException e) {
        log.atError().addKeyValue("id", id).addKeyValue("reason", e.toString()).log("spool write failed");
        return spoolTooFull() ? Replies.DISK_FULL : Replies.LOCAL_ERROR;
    }

    /** Waits before a reply; a stop (interrupt) ends the wait and is kept for the session's next I/O. */
    private static void pause(java.time.Duration d) {
        if (d.isZero()) return;
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Less room on the spool's file system than a message of the largest size and the reserve: 452 4.3.1. A spool
     * whose free space cannot be read (statvfs failed) is counted full: a temporary refusal, never a message taken
     * onto a file system in an unknown state, and never a session dropped without an answer.
     */
    private boolean spoolTooFull() {
        try {
            return ctx.spool().usableSpace() < limits.maxMessageSize() + SPOOL_RESERVE;
        } catch (IOException e) {
            log.atWarn().addKeyValue("error", e.getMessage())
                    .log("cannot read the spool's free space; refusing mail for now");
            return true;
        }
    }

    /**
     * Counts a command that does not move a message forward; past {@code limits.junk_commands} since the last
     * accepted message the session is closed (as Postfix's smtpd_junk_command_limit), so a client cannot keep a
     * connection and a thread busy with NOOPs for ever.
     */
    private void junk() throws IOException, Close {
        if (++junk <= limits.junkCommands()) return;
        Reply r = Reply.of(421, "4.7.0", ctx.config().hostname() + " Error: too many junk commands");
        refused(r, log.atWarn().addKeyValue("reason", "more than " + limits.junkCommands() + " junk commands"));
        reply(r);
        out.flush();
        throw new Close("limit");
    }

    /**
     * @param bytes   the content size as spooled: our Received header and the message (the envelope's size)
     * @param headers what the message's header section said (its Message-ID, TLS-Required)
     */
    private void commit(Spool.Incoming incoming, long bytes, HopCounter headers) throws IOException, Close {
        Instant now = Instant.now();
        String messageId = headers.messageId();
        // RFC 8689 §4.1: REQUIRETLS on MAIL FROM wins over the header, which is then ignored (but kept in the content)
        boolean tlsRequiredNo = !requireTls && headers.tlsRequiredNo();
        List<Envelope.Recipient> rcpts = recipients.stream().map(Envelope.Recipient::pending).toList();
        String client = helo + " ([" + clientAddress.getHostAddress() + "])";
        Envelope envelope = new Envelope(incoming.id(), sender.isNull() ? "" : sender.mailbox().address(), rcpts,
                now, client, bodyType, smtputf8, bytes, now, false, 0, requireTls, tlsRequiredNo);
        try {
            incoming.commit(envelope);
        } catch (IOException e) {
            reply(spoolFailure(incoming.id(), e));
            return;
        }
        accepted++;
        junk = 0;
        String senderDomain = sender.isNull() ? null : sender.mailbox().domainKey();
        ctx.senders().learn(senderDomain, SenderMemory.level(tls, clientCertificate, senderDomain), now);
        log.atInfo().addKeyValue("id", incoming.id()).addKeyValue("from", Untrusted.address(envelope.sender()))
                .addKeyValue("rcpts", rcpts.size()).addKeyValue("size", bytes)
                .addKeyValue("message-id", messageId == null ? null : Untrusted.address(messageId)).addKeyValue("helo", Untrusted.clip(helo))
                .addKeyValue("tls", tls == null ? "none" : tls.protocol())
                .addKeyValue("auth", authUser == null ? null : Untrusted.clip(authUser))
                .addKeyValue("requiretls", requireTls ? "yes" : null)
                .addKeyValue("tls-required", tlsRequiredNo ? "no" : headers.tlsRequiredNo() ? "no(ignored)" : null)
                .log("queued");
        // Only now, after the commit: the audit never names a message the spool does not have.
        audit(new MessageRecord(now, incoming.id(), messageId, envelope.sender(), List.copyOf(recipients), bytes,
                auditId, clientAddress.getHostAddress(), helo, authUser, messageCertificate,
                requireTls, tlsRequiredNo, "smtp"));
        ctx.onQueued().accept(envelope);
        reply(Reply.of(250, "2.0.0", "Ok: queued as " + incoming.id()));
    }

    /**
     * The session's TLS record, made once {@link #run} returned and the client's connection slot is free: it waits up
     * to the DNS timeout for the reverse lookup, which has run since the connection was accepted and is usually done
     * long before. Never throws (the audit must not break a session).
     */
    void recordSession() {
        try {
            record();
        } finally {
            MDC.clear(); // the thread ends here, but an executor's thread would carry it on
        }
    }

    private void record() {
        // A connection that ended before any EHLO/HELO and any TLS (a port scan, a load balancer's TCP check) carried
        // no TLS decision: recording it would only fill the store and skew the share of sessions in clear text. A
        // failed handshake (noTls set) is recorded, even before EHLO: that is a TLS fact.
        if (lastHelo == null && handshaken == null && noTls == null && accepted == 0) return;
        try {
            audit(sessionRecord(awaitReverseName()));
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue("reason", e.toString()).log("audit record of the session could not be made");
        }
    }

    private void audit(dev.postern.audit.AuditRecord r) {
        try {
            ctx.audit().record(r);
        } catch (RuntimeException e) {
            log.warn("audit: {}", e.toString()); // the sink must not throw; mail goes on if it does
        }
    }

    /** The confirmed name, waiting at most the DNS timeout for it; null when there is none (yet). */
    private String awaitReverseName() {
        try {
            return reverseName.get(ctx.reverseNames().patience().toNanos(), TimeUnit.NANOSECONDS).orElse(null);
        } catch (TimeoutException | ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The confirmed name if the lookup has already ended, else null: the dialogue never waits for it. */
    private String reverseNameIfKnown() {
        return reverseName.isDone() ? reverseName.getNow(Optional.empty()).orElse(null) : null;
    }

    private TlsSessionRecord sessionRecord(String reverseDns) {
        SSLSession s = handshaken == null ? null : handshaken.getSession();
        TlsFacts facts = s == null ? null : TlsFacts.of(s);
        boolean asked = ctx.policy().asksForCertificates(ctx.listener());
        TlsSessionRecord.Verification verification;
        String reason;
        String word;
        if (clientCertificate == null) {
            verification = TlsSessionRecord.Verification.NOT_CHECKED;
            reason = null;
            word = s == null ? null : asked ? "asked-none-sent" : "not-asked";
        } else if (clientCertificate.facts().trusted()) {
            verification = TlsSessionRecord.Verification.VERIFIED;
            reason = "verified for " + clientCertificate.facts().subject() + " (issuer "
                    + clientCertificate.facts().issuer() + ")";
            word = "verified";
        } else if (relayClient != null) { // not trusted by the listener's CA, but by a relay_clients rule
            verification = TlsSessionRecord.Verification.VERIFIED;
            reason = "verified by relay_clients: " + relayClient;
            word = "verified";
        } else {
            verification = TlsSessionRecord.Verification.FAILED;
            reason = clientCertificate.facts().trustProblem();
            word = "untrusted: " + reason;
        }
        TlsSessionRecord.NoTls why = s == null && noTls == null ? TlsSessionRecord.NoTls.NOT_OFFERED : noTls;
        String detail = why == TlsSessionRecord.NoTls.NOT_OFFERED ? "the client did not ask for STARTTLS" : noTlsDetail;
        int port = ctx.listener().address().getPort() == 0 ? socket.getLocalPort() : ctx.listener().address().getPort();
        String endpoint = ctx.role().name().toLowerCase(Locale.ROOT) + " " + InboundServer.describe(
                new java.net.InetSocketAddress(ctx.listener().address().getAddress(), port));
        var policy = downgrade == null ? new TlsSessionRecord.PolicyApplied(ctx.listener().requiresTls() ? "encrypt"
                : "may", "listener", "listener " + endpoint, "enforce", List.of())
                // the downgrade memory's mark: refused (enforce), or flagged and accepted (testing, as a would-fail)
                : new TlsSessionRecord.PolicyApplied(downgrade.policyLevel(), "memory", downgrade.reason()
                        + ", over listener " + endpoint, downgrade.refuse() ? "enforce" : "testing",
                        downgrade.refuse() ? List.of() : List.of(downgrade.reason()));
        return new TlsSessionRecord(auditId, endedAt != null ? endedAt : Instant.now(), TlsSessionRecord.Direction.IN,
                endpoint, clientAddress.getHostAddress(), socket.getPort(), lastHelo, reverseDns,
                facts == null ? null : facts.protocol(), facts == null ? null : facts.cipher(),
                facts == null ? -1 : facts.cipherBits(),
                keyExchangeGroup,
                s != null && AuditFacts.resumed(s, handshakeStart), s == null ? null : AuditFacts.requestedServerName(s),
                s == null ? List.of() : AuditFacts.chain(AuditFacts.peerChain(s)), verification, reason, word, why, detail, policy);
    }

    /** A read from the client. */
    private interface Read<T> {
        T read() throws IOException;
    }

    /**
     * Reads from the client in {@code phase} (IDLE: the next command; DATA: message content), so that a gateway that
     * stops meanwhile can answer an idle session, let a DATA finish, or cut it at the end of the grace. When the
     * gateway is already stopping, a session about to wait for a command says 421 and ends instead.
     */
    private <T> T awaitClient(Phase waiting, Read<T> read) throws IOException, Close {
        gate.acquireUninterruptibly();
        boolean answerNow = stopping && waiting == Phase.IDLE;
        if (!answerNow) {
            phase = waiting;
            phaseSince = System.nanoTime();
            phaseBytes = deadlines.bytesRead();
        }
        gate.release();
        if (answerNow) {
            closeReason = "shutdown";
            reply(shuttingDown());
            out.flush();
            throw new Close("shutdown");
        }
        T result = null;
        IOException failed = null;
        try {
            result = read.read();
        } catch (IOException e) {
            failed = e;
        }
        gate.acquireUninterruptibly();
        phase = Phase.BUSY;
        boolean cut = stoppedHere;
        gate.release();
        if (cut) throw new Close("shutdown"); // what was read is dropped: the client was told 421, no 250 follows
        if (failed != null) throw failed;
        return result;
    }

    private Reply shuttingDown() {
        return Replies.shuttingDown(ctx.config().hostname());
    }

    /**
     * The gateway stops (called from the stopping thread): an idle session is answered 421 and closed now, on a
     * thread of its own (a client that does not read must not hold up the stop); one in DATA may finish (its 250,
     * then 421); a busy one says 421 before its next command. Returns the phase the session was in.
     */
    Phase stop() {
        gate.acquireUninterruptibly();
        stopping = true;
        Phase was = phase;
        if (was != Phase.IDLE) {
            gate.release();
            return was;
        }
        stoppedHere = true;
        closeReason = "shutdown";
        // the gate passes to this thread: the session thread waits for it before it may close the connection
        cutHoldingGate("smtpd-stop", shuttingDown());
        return was;
    }

    /**
     * Connections wait for a turn (called from the server's sweeper): a session that has waited longer than
     * {@code stress_timeout} for a command (however many bytes of one trickled in meanwhile), or whose message content
     * has taken longer than {@code stress_timeout} plus its bytes at {@link #MIN_DATA_RATE}, is answered
     * {@code 421 4.4.2} and closed on a thread of its own, so its turn goes to the next in line; a TLS handshake
     * under way for longer than {@code stress_timeout} is cut without a word. A session doing anything else (BUSY) is
     * left to its own deadlines. Returns true if it was cut.
     */
    boolean cutIfSlow(long now) {
        long handshake = handshakeSince;
        if (handshake != 0 && now - handshake > limits.stressTimeout().toNanos() && closeReason == null) {
            closeReason = "stress-timeout";
            close(tcp); // mid-handshake there is no way to say why: the handshake fails and the session ends
            return true;
        }
        if (!gate.tryAcquire()) return false; // the session is changing phase: next sweep
        long allowed = switch (phase) {
            case IDLE -> limits.stressTimeout().toNanos();
            case DATA -> limits.stressTimeout().toNanos()
                    + (deadlines.bytesRead() - phaseBytes) * 1_000_000_000L / MIN_DATA_RATE;
            case BUSY -> Long.MAX_VALUE;
        };
        if (stopping || stoppedHere || now - phaseSince <= allowed) {
            gate.release();
            return false;
        }
        stoppedHere = true;
        closeReason = "stress-timeout";
        cutHoldingGate("smtpd-cut", Replies.STRESS_TIMEOUT);
        return true;
    }

    /**
     * Answers and closes the connection on a thread of its own, to which the gate (held by the caller) passes: the
     * session's thread waits for it, so it cannot close the connection before {@code answer} is out.
     */
    private void cutHoldingGate(String name, Reply answer) {
        Thread.ofVirtual().name(name).start(() -> {
            try {
                deadlines.closing(); // a client that does not read cannot hold the cut up
                cut(answer);
            } finally {
                gate.release();
            }
        });
    }

    /**
     * The grace is over (called from the stopping thread): a session waiting for the client (message content, a
     * command) is answered 421, any session still running is cut; what it received of a message is never committed.
     */
    void force() {
        boolean held;
        try {
            held = gate.tryAcquire(200, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            held = false;
        }
        if (!held) {
            close(tcp); // a 421 is being written to a client that does not read: cut it
            return;
        }
        try {
            stopping = true;
            if (!stoppedHere) closeReason = "shutdown-grace";
            boolean answer = !stoppedHere && phase != Phase.BUSY; // waiting for the client: it can be told
            stoppedHere = true;
            cut(answer ? shuttingDown() : null);
        } finally {
            gate.release();
        }
    }

    /**
     * Writes {@code answer} (null: none; while the session's own thread waits for the client or the gate), then
     * closes TCP.
     */
    private void cut(Reply answer) {
        if (answer != null && out != null) {
            try {
                out.write(answer.toWire().getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException ignored) {
                // the client is gone, or the watchdog cut a write it did not take
            }
        }
        close(tcp);
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closed already
        }
    }

    private void abortBdat() {
        if (bdat != null) {
            bdat.close();
            bdat = null;
            bdatSpool = null;
            bdatHops = null;
            bdatGuard = null;
        }
    }

    /**
     * The message sent by BDAT cannot be taken: what was spooled of it goes; after a LAST chunk the transaction ends,
     * else the chunks that follow are read and discarded (554 5.5.0) until the LAST one or a RSET.
     */
    private void failBdat(boolean last) {
        abortBdat();
        if (last) resetTransaction();
        else bdatFailed = true;
    }

    private void resetTransaction() {
        abortBdat();
        sender = null;
        smtputf8 = false;
        bodyType = "7BIT";
        requireTls = false;
        recipients.clear();
        bdatFailed = false;
    }

    /** Sends a reply that counts as a client error; too many end the session (421 4.7.0). */
    private void error(Reply r) throws IOException, Close {
        error(r, log.atInfo());
    }

    /** {@link #error(Reply)}, logged as a refusal with the fields {@code event} already has. */
    private void error(Reply r, LoggingEventBuilder event) throws IOException, Close {
        refused(r, event);
        reply(r);
        if (++errors >= limits.maxErrors()) {
            refused(Replies.TOO_MANY_ERRORS, log.atWarn().addKeyValue("reason", errors + " errors"));
            reply(Replies.TOO_MANY_ERRORS);
            out.flush();
            throw new Close("limit");
        }
    }

    /**
     * The one log line of a refused command: the command, its argument when it carries no secret (clipped; the
     * encoder escapes it), the reply sent, and the event's own fields (why, which policy).
     */
    private void refused(Reply r, LoggingEventBuilder event) {
        event.addKeyValue("cmd", verb == null ? null : verb.name())
                .addKeyValue("arg", Untrusted.clip(argument))
                .addKeyValue("reply", Untrusted.clip(r.oneLine())).log("refused");
    }

    private static String mechanism(String word) {
        return Untrusted.clip(word.toUpperCase(Locale.ROOT));
    }

    /**
     * Sends a reply, flushing only when the client has nothing more pipelined (RFC 2920: replies to a pipelined group
     * may be sent together).
     */
    private void reply(Reply r) throws IOException {
        out.write(r.toWire().getBytes(StandardCharsets.UTF_8));
        if (in == null || in.buffered() == 0) out.flush();
    }

    private void tryReply(Reply r) {
        try {
            if (out != null) {
                out.write(r.toWire().getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException ignored) {
            // the client is gone
        }
    }
}
