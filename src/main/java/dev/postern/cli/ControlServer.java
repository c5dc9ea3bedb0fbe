package dev.postern.cli;

import dev.postern.audit.AuditWriter;
import dev.postern.files.DurableFiles;
import dev.postern.outbound.Scheduler;
import dev.postern.peers.Direction;
import dev.postern.peers.PeerLevels;
import dev.postern.queue.Spool;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.function.Supplier;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway's control socket (a Unix domain socket in the data directory, mode 0600, answering only the
 * gateway's own user and root). One request line ("flush [ID]", "hold ID", "release ID", "delete ID", "audit",
 * "forget DOMAIN in|out|both", "reload", "queue JSON", "probe DOMAIN [BY]"), one answer line ("ok TEXT" or
 * "error TEXT"; for "probe", "ok" and the ProbeRecord as one line of JSON; for "audit",
 * "ok" and the writer's stats as one line of JSON; for "reload", "ok applied" or "error refused" and then one line per
 * change or problem), then close. "queue" carries a {@link QueueRequest} (operation, selector, the operator the
 * command named) and is answered with the {@link QueueAdmin.Report} as one line of JSON.
 */
final class ControlServer implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);

    private final Path socketPath;
    private final QueueAdmin admin;
    private final Supplier<AuditWriter.Stats> auditStats;
    private final PeerLevels peers;
    private final dev.postern.audit.Audit audit;
    private ServerSocketChannel server;
    private UserPrincipal owner;
    private volatile boolean closed;
    /** The gateway's reload, given the peer's user; null: this gateway cannot reload. */
    private volatile java.util.function.Function<String, Gateway.Reload> reload;

    ControlServer(Path socketPath, Spool spool, Scheduler scheduler) {
        this(socketPath, spool, scheduler, dev.postern.audit.Audit.NONE, () -> null);
    }

    ControlServer(Path socketPath, Spool spool, Scheduler scheduler, dev.postern.audit.Audit audit) {
        this(socketPath, spool, scheduler, audit, () -> null);
    }

    ControlServer(Path socketPath, Spool spool, Scheduler scheduler, Supplier<AuditWriter.Stats> auditStats) {
        this(socketPath, spool, scheduler, dev.postern.audit.Audit.NONE, auditStats);
    }

    /**
     * @param audit      receives a record of each queue operation done, naming the peer's user
     * @param auditStats the audit writer's stats now ({@code writer::stats}); null when there is no writer
     */
    ControlServer(Path socketPath, Spool spool, Scheduler scheduler, dev.postern.audit.Audit audit,
                  Supplier<AuditWriter.Stats> auditStats) {
        this(socketPath, spool, scheduler, audit, auditStats, null);
    }

    /** @param peers the downgrade memory, for "forget DOMAIN in|out|both" (null: not held by this gateway) */
    ControlServer(Path socketPath, Spool spool, Scheduler scheduler, dev.postern.audit.Audit audit,
                  Supplier<AuditWriter.Stats> auditStats, PeerLevels peers) {
        this.peers = peers;
        this.audit = audit;
        this.socketPath = socketPath;
        this.admin = new QueueAdmin(spool, scheduler, audit,
                dev.postern.audit.AdminLog.in(socketPath.toAbsolutePath().getParent()));
        this.auditStats = auditStats;
    }

    /** The gateway's probe on demand, given the domain and who asked; null: this gateway runs no probes. */
    private volatile java.util.function.BiFunction<String, String, dev.postern.audit.ProbeRecord> probe;

    /** Answers "probe DOMAIN [BY]" through {@code probe} (the health probes'): the ProbeRecord as one JSON line. */
    void onProbe(java.util.function.BiFunction<String, String, dev.postern.audit.ProbeRecord> probe) {
        this.probe = probe;
    }
    /** The queue operations of this gateway: the admin API's use the same ones (one lock, one admin log). */
    QueueAdmin queueAdmin() { return admin; }
    /** Answers "tlsrpt DAY send|dry-run" (postern tlsrpt send) through the gateway's report sender. */
    void onTlsRpt(TlsRptRequests requests) { this.tlsRpt = requests; }

    /** The gateway's side of "tlsrpt DAY MODE": one line of JSON, or Refused with why. */
    @FunctionalInterface
    interface TlsRptRequests {
        String answer(String day, boolean dryRun) throws QueueAdmin.Refused;
    }

    private volatile TlsRptRequests tlsRpt;

    /** Answers "acme status|renew|revoke" (postern cert acme) through the gateway's ACME renewer. */
    void onAcme(AcmeRequests requests) { this.acme = requests; }

    /** The gateway's side of "acme WHAT": one line of JSON, or Refused with why. */
    @FunctionalInterface
    interface AcmeRequests {
        String answer(String what, String actor) throws QueueAdmin.Refused;
    }

    private volatile AcmeRequests acme;

    /** Answers "reload" through {@code reload} (the gateway's, with the peer's user as the actor). */
    void onReload(java.util.function.Function<String, Gateway.Reload> reload) { this.reload = reload; }

    void start() throws IOException {
        Files.deleteIfExists(socketPath); // a stale socket from a killed gateway; the data dir lock is already ours
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        // bind(2) gives the socket the umask's mode, and connecting needs only write permission: narrow it at once,
        // and check the peer's user on every connection, which also covers the moment before the chmod.
        Files.setPosixFilePermissions(socketPath, DurableFiles.PRIVATE_FILE);
        owner = Files.getOwner(socketPath);
        Thread.ofPlatform().name("control").daemon(true).start(this::serve);
    }

    private void serve() {
        while (!closed) {
            try {
                SocketChannel ch = server.accept();
                Thread.ofVirtual().name("control-request").start(() -> answer(ch));
            } catch (IOException e) {
                if (!closed) log.warn("control socket: {}", e.getMessage());
                return;
            }
        }
    }

    private void answer(SocketChannel ch) {
        try (ch) {
            UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
            if (!peer.user().equals(owner) && !peer.user().getName().equals("root")) {
                log.atWarn().addKeyValue("user", peer.user().getName()).log("control: refused a request");
                ch.write(StandardCharsets.UTF_8.encode("error not allowed\n"));
                return;
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8));
            OutputStream out = Channels.newOutputStream(ch);
            String line = in.readLine();
            String answer = line == null ? "error empty request" : execute(line.strip(), peer.user().getName());
            out.write((answer + "\n").getBytes(StandardCharsets.UTF_8));
            // a queue command's answer lists every message it matched: the log keeps its start (admin.log has them all)
            log.atInfo().addKeyValue("request", line).addKeyValue("answer",
                    answer.length() > 400 ? answer.substring(0, 400) + "... (" + answer.length() + " chars)" : answer)
                    .log("control");
        } catch (IOException e) {
            log.atWarn().addKeyValue("reason", e.getMessage()).log("control request failed");
        }
    }

    /** @param actor the peer's operating-system user, for the audit */
    private String execute(String request, String actor) {
        String[] w = request.split(" +");
        if (w[0].equals("reload") && w.length == 1 && reload != null) {
            Gateway.Reload r = reload.apply(actor);
            return (r.applied() ? "ok applied" : "error refused") + "\n" + String.join("\n", r.lines());
        }
        try {
            String text = switch (w[0]) {
                case "flush" -> admin.single(QueueAdmin.Operation.FLUSH, w.length > 1 ? w[1] : null,
                        QueueAdmin.Who.socketPeer(actor));
                case "hold" -> admin.single(QueueAdmin.Operation.HOLD, arg(w), QueueAdmin.Who.socketPeer(actor));
                case "release" -> admin.single(QueueAdmin.Operation.RELEASE, arg(w), QueueAdmin.Who.socketPeer(actor));
                case "delete" -> admin.single(QueueAdmin.Operation.DELETE, arg(w), QueueAdmin.Who.socketPeer(actor));
                case "queue" -> queue(request.substring(w[0].length()).strip(), actor);
                case "audit" -> audit();
                case "forget" -> forget(w, actor);
                case "probe" -> probe(w, request, actor);
                case "tlsrpt" -> {
                    if (tlsRpt == null || w.length != 3) throw new QueueAdmin.Refused("tlsrpt takes a day and a mode");
                    yield tlsRpt.answer(w[1], w[2].equals("dry-run"));
                }
                case "acme" -> {
                    if (acme == null) throw new QueueAdmin.Refused("this gateway does not use ACME ([acme] enabled)");
                    if (w.length != 2) throw new QueueAdmin.Refused("acme takes status, renew or revoke");
                    yield acme.answer(w[1], actor);
                }
                default -> throw new QueueAdmin.Refused("unknown request " + w[0]);
            };
            return "ok " + text;
        } catch (QueueAdmin.Refused e) {
            return "error " + e.getMessage();
        } catch (IOException e) {
            return "error " + e.getMessage();
        }
    }

    /**
     * A queue command from the CLI: the operation, which messages, and the operator it named.
     *
     * @param by the operator ({@code --by}, else the CLI's login user); null: the socket peer's user
     */
    record QueueRequest(String operation, QueueSelector selector, String by) {}

    private String queue(String json, String peerUser) throws QueueAdmin.Refused, IOException {
        QueueRequest r;
        QueueAdmin.Operation op;
        try {
            r = dev.postern.trace.Json.mapper().readValue(json, QueueRequest.class);
            op = QueueAdmin.Operation.valueOf(r.operation().toUpperCase(java.util.Locale.ROOT));
        } catch (IOException | RuntimeException e) {
            throw new QueueAdmin.Refused("queue: expected {\"operation\":...,\"selector\":{...}}, got " + json);
        }
        if (r.selector() == null || r.selector().none()) throw new QueueAdmin.Refused("queue: no message selected");
        String by = r.by() == null || r.by().isBlank() ? peerUser : r.by();
        QueueAdmin.Report report = admin.apply(op, r.selector(), new QueueAdmin.Who(by, peerUser));
        return dev.postern.trace.Json.mapper().writeValueAsString(report);
    }

    private String audit() throws QueueAdmin.Refused {
        AuditWriter.Stats stats = auditStats.get();
        if (stats == null) throw new QueueAdmin.Refused("this gateway has no audit writer");
        return stats.toJson();
    }

    /** "forget DOMAIN in|out|both": the domain in lookup form, as the CLI sends it. */
    private String forget(String[] w, String actor) throws QueueAdmin.Refused, IOException {
        if (peers == null) throw new QueueAdmin.Refused("this gateway keeps no peer levels");
        if (w.length != 3) throw new QueueAdmin.Refused("forget takes a domain and in, out or both");
        Direction d = switch (w[2]) {
            case "in" -> Direction.IN;
            case "out" -> Direction.OUT;
            case "both" -> null;
            default -> throw new QueueAdmin.Refused("forget: expected in, out or both, got " + w[2]);
        };
        return DomainsCommand.forget(peers, w[1], d, actor, audit);
    }

    /** "probe DOMAIN [BY]": the domain in lookup form as the CLI sends it, BY the operator it named (else the peer). */
    private String probe(String[] w, String request, String actor) throws QueueAdmin.Refused, IOException {
        if (probe == null) throw new QueueAdmin.Refused("this gateway runs no probes");
        if (w.length < 2) throw new QueueAdmin.Refused("probe takes a domain");
        String by = w.length > 2 ? request.substring(request.indexOf(w[1]) + w[1].length()).strip() : actor;
        dev.postern.audit.ProbeRecord r = probe.apply(w[1], by);
        if (r == null) throw new QueueAdmin.Refused("the gateway is stopping");
        return dev.postern.trace.Json.mapper().writeValueAsString(r);
    }

    private static String arg(String[] w) throws QueueAdmin.Refused {
        if (w.length != 2) throw new QueueAdmin.Refused(w[0] + " takes one queue id");
        return w[1];
    }

    @Override public void close() throws IOException {
        closed = true;
        if (server != null) server.close();
        Files.deleteIfExists(socketPath);
    }
}
