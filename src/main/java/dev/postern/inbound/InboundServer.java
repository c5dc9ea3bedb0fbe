package dev.postern.inbound;

import dev.postern.audit.Audit;
import dev.postern.deadline.IoWatchdog;
import dev.postern.config.Config;
import dev.postern.dns.ReverseNames;
import dev.postern.peers.PeerLevels;
import dev.postern.queue.Envelope;
import dev.postern.queue.Spool;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ServerSocketFactory;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners: one accepting thread per listener, one virtual thread per session, the connection limits
 * (overall and per client IP) enforced with a 421 4.7.0 before any session starts, and the number of sessions
 * served at once ({@code max_active_sessions}; the others wait for a turn before their greeting).
 */
public final class InboundServer implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(InboundServer.class);

    private final Config config;
    private final Supplier<SSLContext> tls;
    private final Spool spool;
    private final Consumer<Envelope> onQueued;
    private final RelayPolicy relay;
    private final InboundPolicy policy;
    private final Authentication auth;
    private final ServerSocketFactory serverSockets;
    /** Closes the sockets of sessions whose read or write deadline passed. */
    private final IoWatchdog watchdog = new IoWatchdog("postern-inbound-watchdog", Duration.ofMillis(100));
    private final RecipientPolicy recipients;
    /** Where each session's TLS record and each received message's record go. */
    private final Audit audit;
    /** The clients' confirmed reverse DNS names, for the session records and Received headers. */
    private final ReverseNames reverseNames;
    private final List<ServerSocket> sockets = new ArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    /** Turns to be served: {@code max_active_sessions}; connections beyond it wait for one before their greeting. */
    private final Semaphore active;
    /**
     * Open sessions per client (see {@link #client}); a client leaves the map with its last session (merge/compute are
     * atomic).
     */
    private final Map<InetAddress, Integer> perIp = new ConcurrentHashMap<>();
    private volatile boolean closed;
    /** The downgrade memory per MAIL FROM domain; set once by the constructor. */
    private SenderMemory senders;

    /**
     * @param tls      the current server TLS context (a supplier, so a reloaded certificate applies to new sessions)
     * @param onQueued told about every message the moment it is durable
     */
    public InboundServer(Config config, Supplier<SSLContext> tls, Spool spool, Authentication auth,
                         Consumer<Envelope> onQueued) {
        this(config, tls, spool, auth, onQueued, RecipientPolicy.CATCH_ALL);
    }

    /** @param recipients who exists in local and relay domains (recipients files, next-hop verification) */
    public InboundServer(Config config, Supplier<SSLContext> tls, Spool spool, Authentication auth,
                         Consumer<Envelope> onQueued, RecipientPolicy recipients) {
        this(config, tls, spool, auth, onQueued, recipients, Audit.NONE);
    }

    /** @param audit receives one TLS session record per session and one message record per queued message */
    public InboundServer(Config config, Supplier<SSLContext> tls, Spool spool, Authentication auth,
                         Consumer<Envelope> onQueued, RecipientPolicy recipients, Audit audit) {
        this(config, tls, spool, auth, onQueued, recipients, ServerSocketFactory.getDefault(), audit,
                ReverseNames.NONE);
    }

    /** @param reverseNames looks up each client's forward-confirmed reverse DNS name when it connects */
    public InboundServer(Config config, Supplier<SSLContext> tls, Spool spool, Authentication auth,
                         Consumer<Envelope> onQueued, RecipientPolicy recipients, Audit audit,
                         ReverseNames reverseNames) {
        this(config, tls, spool, auth, onQueued, recipients, audit, reverseNames, null);
    }

    /** @param peers the downgrade memory (null: none), checked per MAIL FROM domain as [peer_memory] inbound says */
    public InboundServer(Config config, Supplier<SSLContext> tls, Spool spool, Authentication auth,
                         Consumer<Envelope> onQueued, RecipientPolicy recipients, Audit audit,
                         ReverseNames reverseNames, PeerLevels peers) {
        this(config, tls, spool, auth, onQueued, recipients, ServerSocketFactory.getDefault(), audit, reverseNames);
        this.senders = peers == null ? SenderMemory.NONE : new SenderMemory(peers, config.peerMemory().inbound());
    }

    /** @param serverSockets makes the listening sockets (tests pass one whose accept() fails on demand) */
    InboundServer(Config config, Supplier<SSLContext> tls, Spool spool, Authentication auth,
                  Consumer<Envelope> onQueued, RecipientPolicy recipients, ServerSocketFactory serverSockets) {
        this(config, tls, spool, auth, onQueued, recipients, serverSockets, Audit.NONE, ReverseNames.NONE);
    }

    InboundServer(Config config, Supplier<SSLContext> tls, Spool spool, Authentication auth,
                  Consumer<Envelope> onQueued, RecipientPolicy recipients, ServerSocketFactory serverSockets,
                  Audit audit, ReverseNames reverseNames) {
        this.config = config;
        this.audit = audit;
        this.reverseNames = reverseNames;
        this.serverSockets = serverSockets;
        this.recipients = recipients;
        this.auth = auth;
        this.tls = tls;
        this.spool = spool;
        this.onQueued = onQueued;
        this.relay = RelayPolicy.of(config);
        this.policy = new InboundPolicy(config.inbound());
        this.senders = SenderMemory.NONE;
        this.active = new Semaphore(config.limits().maxActiveSessions(), true);
    }

    /** Binds every listener (all or none) and starts accepting. */
    public void start() throws IOException {
        try {
            for (int i = 0; i < config.listeners().size(); i++) {
                Config.Listener l = config.listeners().get(i);
                ServerSocket server = serverSockets.createServerSocket();
                server.setReuseAddress(true);
                try {
                    server.bind(l.address(), 256);
                } catch (IOException e) {
                    server.close();
                    // The key too: with several listeners, "which one" is the first question.
                    throw new IOException("listeners[" + i + "].address: cannot listen on " + describe(l.address())
                            + ": " + e.getMessage(), e);
                }
                sockets.add(server);
                Thread.ofPlatform().name("accept-" + l.role().name().toLowerCase() + "-" + l.address().getPort())
                        .daemon(true).start(() -> accept(server, l));
            }
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    /** The bound addresses, in listener order (ports resolved when configured as 0). */
    public List<InetSocketAddress> boundAddresses() {
        return sockets.stream().map(s -> (InetSocketAddress) s.getLocalSocketAddress()).toList();
    }

    private void accept(ServerSocket server, Config.Listener listener) {
        AcceptBackoff backoff = new AcceptBackoff(log, String.valueOf(server.getLocalSocketAddress()));
        while (!closed) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                // EMFILE and the like: accepting again at once fails again, so wait, and log the flood in summary.
                if (!closed) backoff.failed(e);
                continue;
            }
            backoff.succeeded();
            InetAddress from = socket.getInetAddress();
            InetAddress ip = client(from); // the key of the per-client count
            int total = connections.incrementAndGet();
            int fromIp = perIp.merge(ip, 1, Integer::sum);
            if (total > config.limits().maxConnections() || fromIp > config.limits().maxConnectionsPerIp()) {
                log.warn("refused connection from [{}]: {} connections, {} from this {}", from.getHostAddress(),
                        total, fromIp, from == ip ? "address" : "/64");
                Thread.ofVirtual().start(() -> refuse(socket, ip));
                continue;
            }
            InboundContext ctx = new InboundContext(config, listener, tls.get(), spool, relay, policy, auth,
                    onQueued, recipients, audit, reverseNames, senders);
            Thread.ofVirtual().name("smtpd-" + from.getHostAddress()).start(() -> {
                if (!awaitTurn(socket)) {
                    release(ip);
                    return;
                }
                Session session = new Session(ctx, socket, watchdog);
                try {
                    session.run();
                } finally {
                    active.release();
                    release(ip);
                }
                // After the release: waiting here for the reverse DNS lookup holds no connection slot.
                session.recordSession();
            });
        }
    }

    /**
     * Waits, before the greeting, until fewer than {@code max_active_sessions} sessions are being served, as a
     * connection beyond Postfix's process limit waits in the listen queue. Finishing the sessions already under way
     * before starting more keeps each one's replies prompt under load; the wait is in arrival order (a fair
     * semaphore). False, with the socket closed, when the gateway stops meanwhile.
     */
    private boolean awaitTurn(Socket socket) {
        active.acquireUninterruptibly(); // fair: waiters are served in the order they came to wait
        if (!closed) return true;
        active.release(); // close() freed every waiter: pass it on
        try {
            socket.close();
        } catch (IOException ignored) {
            // stopping anyway
        }
        return false;
    }

    private void refuse(Socket socket, InetAddress ip) {
        try (socket; OutputStream out = socket.getOutputStream()) {
            out.write(Replies.TOO_MANY_CONNECTIONS.toWire().getBytes(StandardCharsets.US_ASCII));
        } catch (IOException ignored) {
            // the client left already
        } finally {
            release(ip);
        }
    }

    private void release(InetAddress ip) {
        if (connections.decrementAndGet() == 0 && closed) watchdog.close();
        perIp.computeIfPresent(ip, (k, n) -> n == 1 ? null : n - 1);
    }

    /**
     * The client a connection counts against for {@code max_connections_per_ip}: its address, or for IPv6 its /64.
     * One host usually has a whole /64 and can pick a fresh source address for every connection, so counting IPv6
     * addresses one by one would let a single host take every slot.
     */
    static InetAddress client(InetAddress address) {
        if (!(address instanceof java.net.Inet6Address)) return address;
        byte[] a = java.util.Arrays.copyOf(address.getAddress(), 16);
        java.util.Arrays.fill(a, 8, 16, (byte) 0);
        try {
            return InetAddress.getByAddress(a);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // 16 bytes are always an address
        }
    }

    static String describe(InetSocketAddress a) {
        String host = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    @Override public void close() {
        boolean first = !closed;
        closed = true;
        if (first) active.release(Integer.MAX_VALUE / 2); // every connection still waiting for a turn ends now
        if (connections.get() == 0) watchdog.close(); // else the last session's end stops it
        for (ServerSocket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
