package dev.postern.outbound;

import dev.postern.audit.Audit;
import dev.postern.audit.AuditIds;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.smtp.Reply;
import dev.postern.smtp.ReplyReader;
import dev.postern.smtp.SmtpInput;
import dev.postern.smtp.SmtpOutput;
import dev.postern.config.Config;
import dev.postern.deadline.DeadlineOutputStream;
import dev.postern.deadline.IoWatchdog;
import dev.postern.tls.AuditFacts;
import dev.postern.tls.Constraints;
import dev.postern.tls.TlsContexts;
import dev.postern.tls.TlsFacts;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLSocket;

/**
 * One SMTP client transaction against one address of a next hop: greeting, EHLO (HELO fallback), STARTTLS when
 * offered and wanted, MAIL/RCPT/DATA (pipelined when the server offers PIPELINING), QUIT. Reports what happened to
 * each recipient; it never decides about retries, the scheduler does.
 */
public final class SmtpClient implements java.io.Closeable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SmtpClient.class);

    /** How an attempt ended as a whole. */
    public enum Outcome {
        /** The transaction ran; see each recipient's outcome. */
        COMPLETED,
        /** This host could not take the message now (connection, greeting, EHLO, MAIL 4xx): try the next host. */
        HOST_FAILED,
        /** STARTTLS was offered but could not be completed; the caller decides whether clear text is allowed. */
        TLS_FAILED
    }

    /**
     * What happened to one recipient: {@code reply} is the text recorded in the queue; {@code enhanced} the RFC 3463
     * status for a DSN (null: not known); {@code remote} what the next hop said, when it said something.
     */
    public record RecipientResult(Status status, String reply, String enhanced, Remote remote) {
        public enum Status { DELIVERED, DEFERRED, FAILED }

        public RecipientResult(Status status, String reply) {
            this(status, reply, null, null);
        }

        /** Postern's own verdict "451 4.4.1 ..." with its enhanced code {@code enhanced}. */
        public static RecipientResult own(Status status, int code, String enhanced, String text) {
            return new RecipientResult(status, code + " " + enhanced + " " + text, enhanced, null);
        }

        /** What the next hop {@code remote} answered; {@code text} is the line for the queue. */
        public static RecipientResult said(Status status, String text, Remote remote) {
            return new RecipientResult(status, text, remote.status(), remote);
        }
    }

    /**
     * A reply of a next hop: its host name (for the DSN's Remote-MTA) and the reply as received.
     */
    public record Remote(String mta, Reply reply) {
        /** The reply's enhanced code when its class agrees with the reply code, else the class's generic code. */
        public String status() {
            String e = reply.enhanced();
            char cls = (char) ('0' + reply.code() / 100);
            return e != null && e.charAt(0) == cls ? e : cls + ".0.0";
        }

        /** The reply's lines as they came over the wire ("550-5.1.1 ...", "550 5.1.1 ..."), without CRLF. */
        public List<String> wireLines() {
            return List.of(reply.toWire().split("\r\n"));
        }
    }

    /**
     * Why TLS did not happen with a host. {@code CUT}: the connection broke or timed out during STARTTLS or the
     * handshake, without a reply or a TLS alert; the only one that may pass by itself, so a REQUIRETLS message waits
     * for a retry instead of bouncing (RFC 8689 §4.2.1, see {@link Scheduler}).
     */
    public enum TlsFailure {
        NO_STARTTLS, STARTTLS_REFUSED, HANDSHAKE, POLICY_CHECK, CUT;

        /** The host answered, and its answer rules TLS out as things stand (not a broken or stalled connection). */
        public boolean answered() { return this != CUT; }
    }

    /**
     * How a session ended up weaker than Postern's default: {@code encrypted} true for TLS with the broad suite set,
     * false for clear text; {@code reason} is what went wrong first.
     */
    public record Fallback(boolean encrypted, String reason) {
        /**
         * For the delivery log line: " (weak: ...)" after the facts of a broad-suite session, " (downgraded: ...)"
         * after tls=none, " (broad retry after: ...)" for a broad-suite handshake that failed too.
         */
        public String note(boolean tlsEstablished) {
            if (!encrypted) return " (downgraded: " + reason + ")";
            return tlsEstablished ? " (weak: " + reason + ")" : " (broad retry after: " + reason + ")";
        }
    }

    /**
     * The result of one attempt; {@code tls} is null when the session stayed in clear text, {@code verdict} is the
     * judgement of the TLS session against the policy (null without TLS, except in testing mode, where it records
     * why TLS was not used as what the enforced level would have refused). {@code tlsSessionId} names the audit's
     * record of the connection used (a reused connection's first record), null when none was made (the connection
     * failed before its TLS was settled); {@code noTlsReason} says why that connection had no TLS, null with TLS.
     */
    public record Attempt(Outcome outcome, String detail, Map<String, RecipientResult> recipients, TlsFacts tls,
                          TlsPlanner.Verdict verdict, Remote remote, TlsFailure tlsFailure, Fallback fallback,
                          String tlsSessionId, String noTlsReason) {
        Attempt(Outcome outcome, String detail, Map<String, RecipientResult> recipients, TlsFacts tls) {
            this(outcome, detail, recipients, tls, null, null, null, null, null, null);
        }

        public Attempt withVerdict(TlsPlanner.Verdict v) {
            return new Attempt(outcome, detail, recipients, tls, v, remote, tlsFailure, fallback, tlsSessionId,
                    noTlsReason);
        }

        Attempt withFallback(Fallback f) {
            return new Attempt(outcome, detail, recipients, tls, verdict, remote, tlsFailure, f, tlsSessionId,
                    noTlsReason);
        }

        Attempt withSession(String id, String noTls) {
            return new Attempt(outcome, detail, recipients, tls, verdict, remote, tlsFailure, fallback, id, noTls);
        }

        static Attempt tlsFailed(TlsFailure why, String detail, TlsFacts tls, TlsPlanner.Verdict verdict) {
            return new Attempt(Outcome.TLS_FAILED, detail, Map.of(), tls, verdict, null, why, null, null, null);
        }
    }

    /**
     * The message to send. {@code content} is opened once per attempt; null for a {@link #probe}. {@code requireTls}:
     * the sender asked for REQUIRETLS (RFC 8689), so the message goes only over verified TLS to a server that
     * advertises REQUIRETLS, with the MAIL parameter; a DSN (null sender) of such a message carries the parameter
     * where the next hop qualifies and goes without it where not (RFC 8689 §5).
     */
    public record Message(String sender, List<String> recipients, long size, boolean eightBit, boolean smtputf8,
                          ContentSource content, boolean requireTls) {
        public Message(String sender, List<String> recipients, long size, boolean eightBit, boolean smtputf8,
                       ContentSource content) {
            this(sender, recipients, size, eightBit, smtputf8, content, false);
        }
    }

    /** RFC 8689 §4.2.1: the status of a REQUIRETLS message that no next hop could take as the sender asked. */
    public static final String REQUIRETLS_STATUS = "5.7.30";

    /** Opens the message content for reading. */
    @FunctionalInterface
    public interface ContentSource {
        InputStream open() throws IOException;
    }

    /** Like Postfix's smtp_connection_cache_time_limit: how long a connection waits for its next message. */
    private static final long IDLE_NANOS = Duration.ofSeconds(2).toNanos();
    /** Like smtp_connection_reuse_time_limit: no connection is used for longer than this, however busy. */
    private static final long MAX_AGE_NANOS = Duration.ofMinutes(5).toNanos();
    private static final int MAX_USES = 1000;

    private final IdleConnections<CacheKey, Conversation> idle = new IdleConnections<>(IDLE_NANOS,
            Conversation::quit);
    private final String heloName;
    private final Duration connectTimeout;
    private final Duration commandTimeout;
    private final Duration dataTimeout;
    /** Closes the TCP socket of a write or handshake past its deadline (SO_TIMEOUT bounds reads only). */
    private final IoWatchdog watchdog = new IoWatchdog("postern-outbound-watchdog", Duration.ofMillis(100));
    /** Receives one TLS session record per new connection, once its TLS is settled. */
    private final Audit audit;

    public SmtpClient(String heloName, Duration connectTimeout, Duration commandTimeout, Duration dataTimeout) {
        this(heloName, connectTimeout, commandTimeout, dataTimeout, Audit.NONE);
    }

    public SmtpClient(String heloName, Duration connectTimeout, Duration commandTimeout, Duration dataTimeout,
                      Audit audit) {
        this.audit = audit;
        this.heloName = heloName;
        this.connectTimeout = connectTimeout;
        this.commandTimeout = commandTimeout;
        this.dataTimeout = dataTimeout;
    }

    /**
     * Runs one attempt; never throws for network trouble (that is an outcome). When {@code plan.required()}, the
     * message is never sent unless STARTTLS succeeded and the session passed the plan's checks. A connection left
     * open by an earlier message to the same next hop under the same policy is used first (after an RSET probe, or
     * none when the server pipelines: the MAIL then tells).
     */
    public Attempt send(NextHop hop, InetAddress address, Message message, TlsPlanner.Plan plan) {
        CacheKey key = new CacheKey(address, hop.port(), hop.host(), plan);
        Conversation cached = idle.take(key);
        if (cached != null && plan.downgrade(cached.achieved(), "") != null) {
            cached.quit(); // opened before the floor rose, below it: never used again
            cached = null;
        }
        if (cached != null) {
            Attempt a = cached.reuse(message);
            if (a != null) {
                finish(key, cached, a);
                return cached.marked(a);
            }
            // The cached connection had gone stale: a fresh one below, as if there had been none.
        }
        Conversation c = new Conversation(hop, address);
        try {
            c.connect(address, hop.port());
            Attempt a = c.run(hop, message, plan);
            finish(key, c, a);
            return c.marked(a);
        } catch (IOException e) {
            c.close();
            return c.marked(c.lost(e));
        }
    }

    /**
     * A recipient verification probe on a connection of its own (never cached): greeting, EHLO, STARTTLS as
     * {@code plan} says (an enforced plan is enforced here as for mail), {@code MAIL FROM:<>}, {@code RCPT TO}, then
     * RSET and QUIT; no DATA. The recipient's result is DELIVERED when the server accepted it, FAILED on a 5xx,
     * DEFERRED on a 4xx.
     */
    public Attempt probe(NextHop hop, InetAddress address, String recipient, boolean smtputf8, TlsPlanner.Plan plan) {
        Conversation c = new Conversation(hop, address);
        try {
            c.connect(address, hop.port());
            return c.run(hop, new Message("", List.of(recipient), 0, false, smtputf8, null), plan)
                    .withSession(c.sessionId, c.noTlsReason);
        } catch (IOException e) {
            return c.lost(e).withSession(c.sessionId, c.noTlsReason);
        } finally {
            c.close();
        }
    }

    /**
     * What {@link #tlsProbe} saw of one address: the attempt as delivery would judge it ({@code attempt}: its
     * outcome, TLS facts, verdict and TLS failure, "no mail sent" when it got that far), the greeting and EHLO replies
     * (the one after STARTTLS when TLS was made; null when it never came), whether STARTTLS was offered, the
     * key-exchange group and the server name sent (null when unknown or none), the server's chain as it sent it
     * (leaf first; empty without a handshake), and the name the server used that is this gateway's own (a loop; else
     * null).
     */
    public record TlsProbe(Attempt attempt, Reply greeting, Reply ehlo, boolean startTlsOffered, String group,
                           String serverName, List<java.security.cert.X509Certificate> chain, String loopsBack) {
        public TlsProbe {
            chain = List.copyOf(chain);
        }
    }

    /**
     * Connects to {@code address} of {@code hop} as delivery would under {@code plan}: greeting, EHLO, STARTTLS as the
     * plan says (judged by it, an enforced plan enforced), EHLO again over TLS, then QUIT; no MAIL, nothing of a
     * message. The connection is never cached. For {@code probes.TlsProber} ({@code postern tls probe}, the health
     * probes); a client made with {@code Audit.NONE} records no TLS session for it.
     */
    public TlsProbe tlsProbe(NextHop hop, InetAddress address, TlsPlanner.Plan plan) {
        Conversation c = new Conversation(hop, address);
        Attempt a;
        try {
            c.connect(address, hop.port());
            a = c.run(hop, null, plan);
        } catch (IOException e) {
            a = c.lost(e);
            c.quitSent = true; // a broken or stalled connection: no goodbye to wait for
        }
        a = c.marked(a); // with the clear-text fallback's reason (no STARTTLS offered)
        SSLSocket ssl = c.handshaken; // read before the socket closes
        TlsProbe p = new TlsProbe(a, c.greeting, c.ehlo, c.startTlsSeen,
                ssl == null ? null : AuditFacts.keyExchangeGroup(ssl), ssl == null ? null : AuditFacts.sentServerName(ssl),
                ssl == null ? List.of() : AuditFacts.peerChain(ssl.getSession()), c.loopName);
        c.quit();
        return p;
    }

    private static String domainOf(Message m) {
        String first = m.recipients().isEmpty() ? "" : m.recipients().getFirst();
        return first.substring(first.lastIndexOf('@') + 1);
    }

    /** Parks a connection that ended a transaction cleanly, closes any other. */
    private void finish(CacheKey key, Conversation c, Attempt a) {
        if (c.reusable && a.outcome() == Outcome.COMPLETED && c.uses < MAX_USES
                && System.nanoTime() - c.opened < MAX_AGE_NANOS) {
            idle.park(key, c);
        } else {
            c.quit();
        }
    }

    /** Closes idle connections whose time is up; the scheduler calls this now and then. */
    public void sweep() {
        idle.sweep();
    }

    /** Says QUIT on every idle connection. */
    @Override public void close() {
        idle.closeAll();
        watchdog.close();
    }

    /**
     * What a connection may be reused for: the same address and port, reached for the same next-hop name (which
     * verify checks), under the same plan (domain, policy, whether TLS is attempted). The downgrade floor is not part
     * of it: a connection whose session reaches the floor serves a plan with a floor, one below it is closed instead.
     */
    private record CacheKey(InetAddress address, int port, String hopHost, String domain, Config.TlsPolicy policy,
                            boolean attemptTls, boolean testing, boolean broad,
                            dev.postern.dane.TlsaLookup.Found.Secure dane) {
        CacheKey(InetAddress address, int port, String hopHost, TlsPlanner.Plan plan) {
            // a session judged by TLSA records is reused only under the same records
            this(address, port, hopHost, plan.domain(), plan.policy(), plan.attempt(), plan.testing(), plan.broad(),
                    plan.dane());
        }
    }

    /** The state of one connection. */
    private final class Conversation {
        final String peer;
        final String hopHost;
        final long opened = System.nanoTime();
        /** The TCP connection: what the watchdog closes (closing an SSLSocket could itself block on a write). */
        Socket raw;
        /** The watchdog's handle on {@link #raw}: every write and the handshake run under it. */
        IoWatchdog.Deadline deadline;
        Socket socket;
        /** How long one write, or one whole reply, may take: the command timeout, the data timeout for the content. */
        volatile Duration writeLimit = commandTimeout;
        Fallback fallback;
        SmtpInput in;
        OutputStream out;
        TlsFacts tls;
        TlsPlanner.Verdict verdict;
        String stage;
        Map<String, String> extensions = Map.of();
        /** The last transaction ended with the end-of-data reply: the session is ready for another MAIL. */
        boolean reusable;
        boolean quitSent;
        int uses;

        /** What this connection's session showed, for the downgrade floor: plain, or its verdict's level. */
        dev.postern.peers.Level achieved() {
            return tls == null || verdict == null ? dev.postern.peers.Level.PLAIN : verdict.achieved();
        }

        /** The audit's record of this connection, once its TLS was settled; null before. */
        String sessionId;
        /** Why this connection has no TLS (or failed its policy's checks), for the delivery records; null with TLS. */
        String noTlsReason;
        /** The name the server gave in its greeting. */
        String greetingName;
        /** For {@link #tlsProbe}: the greeting, the last EHLO reply, the socket of a finished handshake. */
        Reply greeting;
        Reply ehlo;
        SSLSocket handshaken;
        /** STARTTLS was in the EHLO reply before TLS (the EHLO after it need not repeat it). */
        boolean startTlsSeen;
        /** The server's name that is this gateway's own, when it loops back. */
        String loopName;
        final NextHop hop;
        final InetAddress address;

        /**
         * {@code a} with this session's fallback (weak TLS, clear text) unless it already names one, and with the
         * audit's session id.
         */
        Attempt marked(Attempt a) {
            Attempt f = a.fallback() == null && fallback != null ? a.withFallback(fallback) : a;
            return f.withSession(sessionId, noTlsReason);
        }

        Conversation(NextHop hop, InetAddress address) {
            this.peer = hop.host() + "[" + address.getHostAddress() + "]:" + hop.port();
            this.hopHost = hop.host();
            this.hop = hop;
            this.address = address;
        }

        /**
         * Records this connection's TLS as settled now: {@code ssl} is the socket of a handshake that was tried (null
         * when none was), {@code session} its session when it finished; {@code why} and {@code detail} say why
         * there is no usable TLS (null with TLS). Made once per connection, from what the handshake already holds.
         */
        void record(TlsPlanner.Plan plan, SSLSocket ssl, javax.net.ssl.SSLSession session, long handshakeStart,
                    TlsPlanner.Verdict verdict, TlsSessionRecord.NoTls why, String detail) {
            noTlsReason = detail;
            try {
                sessionId = AuditIds.next();
                TlsFacts facts = session == null ? null : TlsFacts.ofClient(session);
                TlsSessionRecord.Verification verification = session == null || verdict == null
                        ? TlsSessionRecord.Verification.NOT_CHECKED
                        : verdict.verified() ? TlsSessionRecord.Verification.VERIFIED
                        : TlsSessionRecord.Verification.FAILED;
                List<String> wouldFail = verdict != null ? verdict.wouldFail()
                        : detail != null ? plan.withoutTls(detail).wouldFail() : List.of();
                // the downgrade memory's floor, when it binds, is the policy the session was held to (source memory)
                var policy = new TlsSessionRecord.PolicyApplied(plan.auditLevel(),
                        plan.auditKind() == null ? null : plan.auditKind().word(), plan.auditSource(),
                        plan.auditMode(), wouldFail);
                audit.record(new TlsSessionRecord(sessionId, Instant.now(), TlsSessionRecord.Direction.OUT,
                        hop.host() + ":" + hop.port(), address.getHostAddress(), hop.port(), greetingName, null,
                        facts == null ? null : facts.protocol(), facts == null ? null : facts.cipher(),
                        facts == null ? -1 : facts.cipherBits(), session == null ? null : AuditFacts.keyExchangeGroup(ssl),
                        session != null && AuditFacts.resumed(session, handshakeStart),
                        ssl == null ? null : AuditFacts.sentServerName(ssl),
                        session == null ? List.of() : AuditFacts.chain(AuditFacts.peerChain(session)), verification,
                        verdict == null || session == null ? null : verdict.reason(),
                        facts == null ? null : facts.clientCertificate().word(), why, detail, policy,
                        plan.domain(), plan.reportPolicyType(),
                        plan.reportPolicyType() == null ? null : TlsPlanner.reportResult(why, verdict)));
            } catch (RuntimeException e) {
                // the sink must not throw; a record that cannot be made must not stop the delivery
            }
        }

        /** Opens the TCP connection, with the command timeout on reads and a watchdog on writes. */
        void connect(InetAddress address, int port) throws IOException {
            Socket plain = new Socket();
            socket = plain;
            raw = plain;
            plain.connect(new InetSocketAddress(address, port), (int) connectTimeout.toMillis());
            plain.setSoTimeout((int) commandTimeout.toMillis());
            plain.setTcpNoDelay(true);
            bind(plain);
        }

        /** The attempt's result when the connection failed or was lost with {@code e}. */
        Attempt lost(IOException e) {
            String what = stage == null ? "connect to " + peer + " failed: " + e.getMessage()
                    : "lost connection with " + peer + " while " + stage + ": " + e.getMessage();
            return new Attempt(Outcome.HOST_FAILED, what, Map.of(), tls);
        }


        void bind(Socket s) throws IOException {
            socket = s;
            in = new SmtpInput(s.getInputStream(), 16 * 1024);
            // SO_TIMEOUT bounds reads only: every write gets a deadline too, or a peer that stops reading holds us.
            if (deadline == null) deadline = watchdog.watch(raw); // one per TCP connection, before and after STARTTLS
            out = new BufferedOutputStream(new DeadlineOutputStream(s.getOutputStream(), deadline, () -> writeLimit),
                    16 * 1024);
        }

        /**
         * RFC 5321 §6.3 / Postfix's "mail for X loops back to myself": a next hop that greets or answers EHLO with
         * this host's own name is this gateway (a route pointing at itself); sending would loop until the hop count
         * runs out. Returns the name it used, or null.
         */
        String loopsBack(Reply r) {
            String name = firstWord(r);
            return !name.isEmpty() && name.equalsIgnoreCase(heloName) ? name : null;
        }

        /** The first word of a reply's text: the host name in a greeting or an EHLO reply. */
        static String firstWord(Reply r) {
            String first = r.lines().getFirst().strip();
            int space = first.indexOf(' ');
            return space < 0 ? first : first.substring(0, space);
        }

        Attempt loop(Message m, String where, String name) {
            loopName = name;
            if (m == null) { // a TLS probe: no recipients to fail
                quietQuit();
                return new Attempt(Outcome.HOST_FAILED, "mail loops back to myself: " + peer + " " + where + " as "
                        + name, Map.of(), tls);
            }
            return allFailed(m, 554, "5.4.6", "mail for " + domainOf(m) + " loops back to myself: " + peer + " "
                    + where + " as " + name);
        }

        Attempt run(NextHop hop, Message m, TlsPlanner.Plan plan) throws IOException {
            stage = "receiving the greeting";
            Reply greeting = read();
            this.greeting = greeting;
            greetingName = firstWord(greeting);
            if (greeting.code() != 220) return hostFailed("greeting", greeting);
            String self = loopsBack(greeting);
            if (self != null) return loop(m, "greets", self);
            if (!hello()) return hostFailed("EHLO/HELO", lastReply);
            self = loopsBack(lastReply);
            if (self != null) return loop(m, "answers EHLO", self);
            startTlsSeen = extensions.containsKey("STARTTLS");
            TlsPlanner.Verdict verdict = null;
            if (plan.fallback() != null) fallback = new Fallback(plan.attempt(), plan.fallback());
            if (!plan.attempt()) {
                record(plan, null, null, 0, null, TlsSessionRecord.NoTls.NOT_ATTEMPTED, plan.fallback() != null
                        ? "clear-text retry after: " + plan.fallback() : "policy level " + plan.policy().level().word());
            }
            if (plan.attempt() && !extensions.containsKey("STARTTLS")) {
                String why = peer + ": does not offer STARTTLS";
                record(plan, null, null, 0, null, TlsSessionRecord.NoTls.NOT_OFFERED, why);
                if (plan.required()) {
                    quietQuit();
                    return Attempt.tlsFailed(TlsFailure.NO_STARTTLS, why, null, null);
                }
                if (plan.testing()) verdict = plan.withoutTls(why); // records what the enforced level would refuse
                fallback = new Fallback(false, why); // a stripped STARTTLS looks just like this: say so
            }
            if (plan.attempt() && extensions.containsKey("STARTTLS")) {
                stage = "starting TLS";
                Reply r;
                try {
                    r = command("STARTTLS");
                } catch (IOException e) {
                    // Required: a connection cut (or stalled) at STARTTLS is a TLS failure like a stripped STARTTLS,
                    // or an attacker could make the partner look merely unreachable. Opportunistic: a lost host.
                    record(plan, null, null, 0, null, TlsSessionRecord.NoTls.REFUSED,
                            peer + ": STARTTLS failed: " + e.getMessage());
                    if (!plan.required()) throw e;
                    quitSent = true; // nothing more to say on a broken connection
                    return Attempt.tlsFailed(TlsFailure.CUT, peer + ": STARTTLS failed: " + e.getMessage(), null,
                            null);
                }
                if (r.code() != 220) {
                    quietQuit();
                    String why = peer + ": STARTTLS refused: " + r.oneLine();
                    record(plan, null, null, 0, null, TlsSessionRecord.NoTls.REFUSED, why);
                    return Attempt.tlsFailed(TlsFailure.STARTTLS_REFUSED, why, null, null);
                }
                Constraints offered = plan.offered();
                SSLSocket ssl = TlsContexts.wrapClient(plan.context(), socket, plan.serverName(), hop.port(), offered);
                if (plan.broad()) TlsPlanner.broaden(ssl, plan.context());
                // The handshake writes too: a deadline for all of it, not only SO_TIMEOUT for its reads.
                deadline.arm(System.nanoTime() + commandTimeout.toNanos());
                long handshakeStart = System.currentTimeMillis();
                try {
                    ssl.startHandshake();
                } catch (IOException e) {
                    quitSent = true; // mid-handshake: no goodbye in clear text, which a stalled peer would not answer
                    String limits = offered.describe(); // a policy's constraints are the likely cause: name them
                    boolean timedOut = deadline.fired() || e instanceof java.net.SocketTimeoutException;
                    String why = timedOut ? "timed out after " + commandTimeout.toSeconds() + " s" : e.getMessage();
                    String text = peer + ": TLS handshake failed" + (plan.broad() ? " with the broad suite set" : "")
                            + (limits.isEmpty() ? "" : " with the policy's " + limits) + ": " + why;
                    record(plan, ssl, null, 0, null, TlsSessionRecord.NoTls.HANDSHAKE_FAILED, text);
                    // An alert or a protocol failure is the server's answer; a reset or a stall may pass.
                    // JSSE wraps a peer's close mid-handshake in an SSLException too: that is a cut, not an answer.
                    boolean answered = e instanceof javax.net.ssl.SSLException && !timedOut
                            && !(e.getCause() instanceof java.io.EOFException)
                            && !(e.getCause() instanceof java.net.SocketException);
                    return Attempt.tlsFailed(answered ? TlsFailure.HANDSHAKE : TlsFailure.CUT, text, null, null);
                } finally {
                    deadline.disarm();
                }
                tls = TlsFacts.ofClient(ssl.getSession());
                handshaken = ssl;
                bind(ssl);
                verdict = plan.judge(ssl.getSession(), Instant.now());
                if (verdict.failure() != null) {
                    record(plan, ssl, ssl.getSession(), handshakeStart, verdict,
                            TlsSessionRecord.NoTls.POLICY_CHECK_FAILED, peer + ": " + verdict.failure());
                    quietQuit(); // over TLS: nothing of the message was sent
                    return Attempt.tlsFailed(TlsFailure.POLICY_CHECK, peer + ": " + verdict.failure(), tls, verdict);
                }
                record(plan, ssl, ssl.getSession(), handshakeStart, verdict, null, null);
                if (!hello()) return hostFailed("EHLO after STARTTLS", lastReply);
            }
            this.verdict = verdict;
            if (m == null) { // a TLS probe: nothing of a message is sent
                quietQuit();
                return new Attempt(Outcome.COMPLETED, "no mail sent (TLS probe)", Map.of(), tls).withVerdict(verdict);
            }
            return transaction(m).withVerdict(verdict);
        }

        /**
         * Another message on this already established (and already judged) connection; null when the connection
         * turned out to be gone, so that the caller opens a new one.
         */
        Attempt reuse(Message m) {
            reusable = false;
            // With PIPELINING no RSET round trip: the pipelined MAIL's reply tells as well whether the connection is
            // still there (the last transaction ended with its end-of-data reply, so there is nothing to reset).
            boolean probeWithMail = extensions.containsKey("PIPELINING");
            if (!probeWithMail) {
                try {
                    stage = "resetting a cached connection";
                    Reply r = command("RSET");
                    if (r.code() != 250) {
                        quit();
                        return null;
                    }
                } catch (IOException e) {
                    close();
                    return null;
                }
            }
            try {
                return transaction(m, probeWithMail).withVerdict(verdict);
            } catch (Gone e) {
                if (e.reply == null) close();
                else quit();
                return null;
            } catch (IOException e) {
                close();
                return new Attempt(Outcome.HOST_FAILED, "lost connection with " + peer + " while " + stage + ": "
                        + e.getMessage(), Map.of(), tls);
            }
        }

        /** QUIT and close, quietly: the outcome is already known. */
        void quit() {
            quietQuit();
            close();
        }

        void close() {
            if (deadline != null) deadline.close();
            try {
                if (socket != null) socket.close();
            } catch (IOException ignored) {
                // nothing to tell
            }
        }

        Reply lastReply;

        /** EHLO, falling back to HELO when the server does not know EHLO. */
        boolean hello() throws IOException {
            stage = "sending EHLO";
            Reply r = command("EHLO " + heloName);
            ehlo = r;
            if (r.code() == 250) {
                Map<String, String> ext = new HashMap<>();
                for (String line : r.lines().subList(1, r.lines().size())) {
                    String[] kv = line.strip().split(" ", 2);
                    ext.put(kv[0].toUpperCase(Locale.ROOT), kv.length > 1 ? kv[1] : "");
                }
                extensions = ext;
                return true;
            }
            if (r.isTransient()) {
                lastReply = r;
                return false;
            }
            stage = "sending HELO";
            r = command("HELO " + heloName);
            ehlo = r;
            extensions = Map.of();
            lastReply = r;
            return r.code() == 250;
        }

        Attempt transaction(Message m) throws IOException {
            return transaction(m, false);
        }

        /**
         * @param firstOnCachedConnection the pipelined MAIL is the first command on a cached connection: a connection
         *                                found closed, or a 421, there throws {@link Gone} (nothing was accepted)
         */
        Attempt transaction(Message m, boolean firstOnCachedConnection) throws IOException {
            Map<String, RecipientResult> results = new LinkedHashMap<>();
            if (m.smtputf8() && !extensions.containsKey("SMTPUTF8")) {
                return allFailed(m, 553, "5.6.7", peer + " does not support SMTPUTF8, which this message needs");
            }
            boolean requireTls = m.requireTls();
            if (requireTls) {
                // RFC 8689 §4.2.1: never to a server that is not verified or does not promise to pass it on
                String why = tls == null || verdict == null || !verdict.verified()
                        ? peer + " is not verified by TLS"
                        : !extensions.containsKey("REQUIRETLS") ? peer + " does not advertise REQUIRETLS" : null;
                if (why != null && !m.sender().isEmpty()) {
                    return allFailed(m, 550, REQUIRETLS_STATUS, "REQUIRETLS support required: " + why);
                }
                if (why != null) {
                    // A DSN (null reverse path) of a REQUIRETLS message: §4.2.1 binds only messages with a return
                    // path, and §5: "the REQUIRETLS parameter SHOULD NOT cause a bounce message to be discarded even
                    // if the next-hop relay does not advertise REQUIRETLS". It goes without the parameter.
                    log.atWarn().addKeyValue("rcpts", m.recipients()).addKeyValue("relay", peer)
                            .addKeyValue("reason", why).log("REQUIRETLS DSN sent without REQUIRETLS (RFC 8689 §5)");
                    requireTls = false;
                }
            }
            long limit = sizeLimit();
            if (limit > 0 && m.size() > limit) {
                return allFailed(m, 552, "5.3.4", "message too big for " + peer + " (limit " + limit + " bytes)");
            }
            StringBuilder mail = new StringBuilder("MAIL FROM:<").append(m.sender()).append('>');
            if (extensions.containsKey("SIZE")) mail.append(" SIZE=").append(m.size());
            if (m.eightBit() && extensions.containsKey("8BITMIME")) mail.append(" BODY=8BITMIME");
            if (m.smtputf8()) mail.append(" SMTPUTF8");
            if (requireTls) mail.append(" REQUIRETLS");
            boolean pipelining = extensions.containsKey("PIPELINING");
            boolean probe = m.content() == null; // a verification probe: no DATA

            stage = "sending MAIL FROM";
            List<Reply> rcptReplies = new ArrayList<>();
            Reply mailReply;
            Reply dataReply = null;
            if (pipelining) {
                try {
                    write(mail.toString());
                    for (String r : m.recipients()) write("RCPT TO:<" + r + ">");
                    if (!probe) write("DATA");
                    out.flush();
                    mailReply = read();
                } catch (IOException e) {
                    if (firstOnCachedConnection) throw new Gone(null); // closed while cached: nothing was accepted
                    throw e;
                }
                // A server that timed the cached connection out says 421 and closes (RFC 5321 §4.2.2, §3.8).
                if (firstOnCachedConnection && mailReply.code() == 421) throw new Gone(mailReply);
                // A 421 closes the connection (RFC 5321 §3.8): the replies to the rest of the pipeline never come.
                if (mailReply.code() == 421) return closing("MAIL FROM", mailReply);
                stage = "sending RCPT TO";
                for (int i = 0; i < m.recipients().size(); i++) {
                    Reply r = read();
                    if (r.code() == 421) return closing("RCPT TO", r);
                    rcptReplies.add(r);
                }
                stage = "sending DATA";
                if (!probe) dataReply = read();
            } else {
                mailReply = command(mail.toString());
                if (mailReply.code() == 250) {
                    stage = "sending RCPT TO";
                    for (String r : m.recipients()) {
                        Reply reply = command("RCPT TO:<" + r + ">");
                        if (reply.code() == 421) return closing("RCPT TO", reply);
                        rcptReplies.add(reply);
                    }
                }
            }
            if (mailReply.code() != 250) {
                quietQuit();
                if (mailReply.isPermanent()) return allSaid(m, mailReply);
                return hostFailed("MAIL FROM", mailReply);
            }
            List<String> accepted = new ArrayList<>();
            for (int i = 0; i < m.recipients().size(); i++) {
                String rcpt = m.recipients().get(i);
                Reply r = rcptReplies.get(i);
                if (r.code() == 250 || r.code() == 251) {
                    accepted.add(rcpt);
                    if (probe) results.put(rcpt, new RecipientResult(RecipientResult.Status.DELIVERED,
                            peer + " accepted: " + r.oneLine()));
                } else results.put(rcpt, RecipientResult.said(r.isPermanent() ? RecipientResult.Status.FAILED
                        : RecipientResult.Status.DEFERRED, peer + " said: " + r.oneLine(), new Remote(hopHost, r)));
            }
            if (probe) {
                quietRset();
                return new Attempt(Outcome.COMPLETED, "verification probe", results, tls);
            }
            if (accepted.isEmpty()) {
                if (!pipelining) quietQuit();
                else quietRset();
                return new Attempt(Outcome.COMPLETED, "no recipient accepted", results, tls);
            }
            if (!pipelining) {
                stage = "sending DATA";
                dataReply = command("DATA");
            }
            if (dataReply.code() == 421) return closing("DATA", dataReply);
            if (dataReply.code() != 354) {
                settle(accepted, dataReply, results);
                quietQuit();
                return new Attempt(Outcome.COMPLETED, "DATA refused", results, tls);
            }
            stage = "sending message content";
            socket.setSoTimeout((int) dataTimeout.toMillis());
            writeLimit = dataTimeout;
            try (InputStream content = m.content().open()) {
                SmtpOutput.writeData(content, out);
            }
            out.flush();
            stage = "waiting for the end-of-data reply";
            Reply done = read();
            socket.setSoTimeout((int) commandTimeout.toMillis());
            writeLimit = commandTimeout;
            settle(accepted, done, results);
            uses++;
            reusable = true; // the caller parks the connection for the next message, or says QUIT
            return new Attempt(Outcome.COMPLETED, done.oneLine(), results, tls);
        }

        void settle(List<String> accepted, Reply r, Map<String, RecipientResult> results) {
            RecipientResult.Status s = r.isPositive() ? RecipientResult.Status.DELIVERED
                    : r.isPermanent() ? RecipientResult.Status.FAILED : RecipientResult.Status.DEFERRED;
            String text = (r.isPositive() ? peer + " accepted: " : peer + " said: ") + r.oneLine();
            for (String a : accepted) results.put(a, RecipientResult.said(s, text, new Remote(hopHost, r)));
        }

        long sizeLimit() {
            String v = extensions.get("SIZE");
            if (v == null || v.isBlank()) return 0;
            try {
                return Long.parseLong(v.strip());
            } catch (NumberFormatException e) {
                return 0;
            }
        }

        /** Every recipient fails for a reason of Postern's own. */
        Attempt allFailed(Message m, int code, String enhanced, String text) {
            Map<String, RecipientResult> results = new LinkedHashMap<>();
            RecipientResult each = RecipientResult.own(RecipientResult.Status.FAILED, code, enhanced, text);
            for (String r : m.recipients()) results.put(r, each);
            quietQuit();
            return new Attempt(Outcome.COMPLETED, each.reply(), results, tls);
        }

        /** Every recipient fails with the next hop's permanent reply {@code r}. */
        Attempt allSaid(Message m, Reply r) {
            Map<String, RecipientResult> results = new LinkedHashMap<>();
            RecipientResult each = RecipientResult.said(RecipientResult.Status.FAILED, peer + " said: " + r.oneLine(),
                    new Remote(hopHost, r));
            for (String rcpt : m.recipients()) results.put(rcpt, each);
            quietQuit();
            return new Attempt(Outcome.COMPLETED, each.reply(), results, tls);
        }

        /**
         * The host said 421 to {@code what} and closed the connection: nothing of this transaction was accepted, and
         * the 421 is the reason (not the end of stream that reading on would meet); the next host is tried.
         */
        Attempt closing(String what, Reply r) {
            quitSent = true; // no goodbye on a connection the server has closed
            return hostFailed(what, r);
        }

        Attempt hostFailed(String what, Reply r) {
            quietQuit();
            return new Attempt(Outcome.HOST_FAILED, peer + " refused " + what + ": "
                    + (r == null ? "no reply" : r.oneLine()), Map.of(), tls, null,
                    r == null ? null : new Remote(hopHost, r), null, fallback, null, null);
        }

        /**
         * Reads one reply, which must be complete within the current limit ({@link #writeLimit}: the command timeout,
         * the data timeout for the end-of-data reply). SO_TIMEOUT bounds each read only, and a peer that trickles a
         * byte a second would keep it alive for hours; the watchdog closes the connection at the limit instead. A
         * silent peer and a trickling one are reported alike, whichever of the two timers fired first.
         */
        Reply read() throws IOException {
            Duration limit = writeLimit;
            deadline.arm(System.nanoTime() + limit.toNanos());
            try {
                Reply r = ReplyReader.read(in);
                if (!deadline.fired()) return r;
            } catch (java.net.SocketTimeoutException e) {
                // SO_TIMEOUT: nothing at all for the whole limit
            } catch (IOException e) {
                if (!deadline.fired()) throw e;
            } finally {
                deadline.disarm();
            }
            throw new java.net.SocketTimeoutException("reply timed out after " + limit.toMillis() / 1000.0 + " s");
        }

        Reply command(String line) throws IOException {
            write(line);
            out.flush();
            Reply r = read();
            lastReply = r;
            return r;
        }

        void write(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        }

        void quietRset() {
            try {
                command("RSET");
            } catch (IOException ignored) {
                // best effort
            }
            quietQuit();
        }

        void quietQuit() {
            if (quitSent) return;
            quitSent = true;
            try {
                writeLimit = Duration.ofSeconds(2); // a peer that stops reading does not hold a goodbye either
                socket.setSoTimeout(2000);
                command("QUIT");
            } catch (IOException ignored) {
                // the transaction's outcome is already known
            }
        }
    }

    /** A cached connection found closed (or timed out, {@code reply} 421) before the server accepted anything. */
    private static final class Gone extends IOException {
        final transient Reply reply;

        Gone(Reply reply) {
            super("cached connection gone");
            this.reply = reply;
        }
    }
}
