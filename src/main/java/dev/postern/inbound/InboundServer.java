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
import java.time.Instant;
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

    /**
     * What new sessions are made with: the configuration and the policies built from it. A reload swaps it
     * ({@link #reconfigure}); each session takes the one current when it starts and keeps it to its end.
     */
    private record Live(Config config, RelayPolicy relay, InboundPolicy policy, RecipientPolicy recipients) {
        Live(Config config, RecipientPolicy recipients) {
            this(config, RelayPolicy.of(config), new InboundPolicy(config.inbound()), recipients);
        }
    }

    /** A listening socket and the listener it serves (a reload may change its role or TLS settings). */
    private static final class Bound {
        final ServerSocket socket;
        volatile Config.Listener listener;
        /** A reload removed it: it accepts no more, its sessions finish. */
        volatile boolean removed;

        Bound(ServerSocket socket, Config.Listener listener) {
            this.socket = socket;
            this.listener = listener;
        }
    }

    private volatile Live live;
    private final Supplier<SSLContext> tls;
    private final Spool spool;
    private final Consumer<Envelope> onQueued;
    private final Authentication auth;
    private final ServerSocketFactory serverSockets;
    /** Closes the sockets of sessions whose read or write deadline passed. */
    private final IoWatchdog watchdog = new IoWatchdog("postern-inbound-watchdog", Duration.ofMillis(100));
    /** Where each session's TLS record and each received message's record go. */
    private final Audit audit;
    /** The clients' confirmed reverse DNS names, for the session records and Received headers. */
    private final ReverseNames reverseNames;
    /**
     * The listening sockets in listener order; guarded by {@code this}. A list, not a map by address: several
     * listeners may be configured on port 0 (tests), each with a socket of its own.
     */
    private List<Bound> bound = new ArrayList<>();
    /** The sessions running (greeted or about to be), for a stop. */
    private final java.util.Set<Session> sessions = ConcurrentHashMap.newKeySet();
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
        this.live = new Live(config, recipients);
        this.audit = audit;
        this.reverseNames = reverseNames;
        this.serverSockets = serverSockets;
        this.auth = auth;
        this.tls = tls;
        this.spool = spool;
        this.onQueued = onQueued;
        this.senders = SenderMemory.NONE;
        this.active = new Semaphore(config.limits().maxActiveSessions(), true);
    }

    /** Binds every listener (all or none) and starts accepting. */
    public synchronized void start() throws IOException {
        try {
            List<Config.Listener> listeners = live.config().listeners();
            for (int i = 0; i < listeners.size(); i++) {
                try {
                    bound.add(bind(listeners.get(i)));
                } catch (IOException e) {
                    // The key too: with several listeners, "which one" is the first question.
                    throw new IOException("listeners[" + i + "].address: " + e.getMessage(), e);
                }
            }
        } catch (IOException e) {
            close();
            throw e;
        }
        bound.forEach(this::startAccepting);
        Thread.ofVirtual().name("inbound-stress").start(this::sweep);
    }

    /** How often the sweeper looks for slow sessions while connections wait for a turn. */
    private static final long SWEEP_MILLIS = 100;

    /**
     * While connections wait for a turn, cuts the sessions too slow to keep theirs ({@link Session#cutIfSlow}: idle
     * or trickling past {@code stress_timeout}), as Postfix shortens its timeouts under stress: else a flood of idle
     * connections holding every turn would keep the line, legitimate clients in it, waiting {@code command_timeout}
     * per round. Nothing is cut while nobody waits.
     */
    private void sweep() {
        while (!closed) {
            try {
                Thread.sleep(SWEEP_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            if (!active.hasQueuedThreads()) continue;
            long now = System.nanoTime();
            int cut = 0;
            for (Session s : sessions) if (s.cutIfSlow(now)) cut++;
            if (cut > 0) {
                log.atWarn().addKeyValue("cut", cut).addKeyValue("waiting", active.getQueueLength())
                        .log("slow sessions cut: connections wait for a turn");
            }
        }
    }

    private Bound bind(Config.Listener l) throws IOException {
        ServerSocket server = serverSockets.createServerSocket();
        server.setReuseAddress(true);
        try {
            server.bind(l.address(), 256);
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + describe(l.address()) + ": " + e.getMessage(), e);
        }
        return new Bound(server, l);
    }

    private void startAccepting(Bound b) {
        Config.Listener l = b.listener;
        Thread.ofPlatform().name("accept-" + l.role().name().toLowerCase() + "-" + l.address().getPort())
                .daemon(true).start(() -> accept(b));
    }

    /** The bound addresses, in listener order (ports resolved when configured as 0). */
    public synchronized List<InetSocketAddress> boundAddresses() {
        return bound.stream().map(b -> (InetSocketAddress) b.socket.getLocalSocketAddress()).toList();
    }

    /**
     * Applies a reloaded configuration to the sessions that start from now on; the sessions under way keep theirs.
     * Listeners are matched by address: an unchanged one keeps its socket (and takes the new role and TLS settings),
     * a new one is bound, a removed one stops accepting while its sessions finish. Every new listener is bound before
     * anything changes: if one cannot be, nothing changes and the reason is thrown.
     *
     * @return one line per listener added or removed, for the log
     */
    public synchronized List<String> reconfigure(Config nextConfig, RecipientPolicy recipients) throws IOException {
        if (closed) throw new IOException("the gateway is stopping");
        List<Bound> unmatched = new ArrayList<>(bound);
        List<Bound> next = new ArrayList<>(); // in the new listener order
        List<Bound> added = new ArrayList<>();
        try {
            for (Config.Listener l : nextConfig.listeners()) {
                Bound kept = unmatched.stream().filter(b -> b.listener.address().equals(l.address())).findFirst()
                        .orElse(null);
                if (kept != null) {
                    unmatched.remove(kept);
                    next.add(kept);
                } else {
                    Bound b;
                    try {
                        b = bind(l);
                    } catch (IOException e) {
                        throw new IOException("listeners[" + nextConfig.listeners().indexOf(l) + "].address: "
                                + e.getMessage(), e);
                    }
                    added.add(b);
                    next.add(b);
                }
            }
        } catch (IOException e) {
            for (Bound b : added) closeQuietly(b.socket);
            throw e;
        }
        live = new Live(nextConfig, recipients);
        List<String> changes = new ArrayList<>();
        for (int i = 0; i < next.size(); i++) next.get(i).listener = nextConfig.listeners().get(i);
        for (Bound b : unmatched) {
            b.removed = true;
            closeQuietly(b.socket);
            changes.add("listener removed: " + b.listener.role().name().toLowerCase(java.util.Locale.ROOT) + " "
                    + describe((InetSocketAddress) b.socket.getLocalSocketAddress()) + " (its open sessions finish)");
        }
        bound = next;
        for (Bound b : added) {
            startAccepting(b);
            changes.add("listener added: " + b.listener.role().name().toLowerCase(java.util.Locale.ROOT) + " "
                    + describe((InetSocketAddress) b.socket.getLocalSocketAddress()));
        }
        return changes;
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    private void accept(Bound b) {
        ServerSocket server = b.socket;
        AcceptBackoff backoff = new AcceptBackoff(log, String.valueOf(server.getLocalSocketAddress()));
        while (!closed && !b.removed) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                // EMFILE and the like: accepting again at once fails again, so wait, and log the flood in summary.
                if (!closed && !b.removed) backoff.failed(e);
                continue;
            }
            Live now = live;
            Config config = now.config();
            Config.Listener listener = b.listener;
            backoff.succeeded();
            InetAddress from = socket.getInetAddress();
            InetAddress ip = client(from); // the key of the per-client count
            int total = connections.incrementAndGet();
            int fromIp = perIp.merge(ip, 1, Integer::sum);
            if (total > config.limits().maxConnections() || fromIp > config.limits().maxConnectionsPerIp()) {
                log.atWarn().addKeyValue("client", from.getHostAddress()).addKeyValue("connections", total)
                        .addKeyValue(from == ip ? "from-address" : "from-net64", fromIp)
                        .addKeyValue("reply", Replies.TOO_MANY_CONNECTIONS.oneLine()).log("refused connection");
                // counted out at once, not when the 421 is written: under a flood the connections being refused
                // (their 421s queued behind each other) would otherwise fill max_connections and turn away a
                // legitimate client from another address
                release(ip);
                Thread.ofVirtual().start(() -> refuse(socket));
                continue;
            }
            InboundContext ctx = new InboundContext(config, listener, tls.get(), spool, now.relay(), now.policy(), auth,
                    onQueued, now.recipients(), audit, reverseNames, senders);
            Thread.ofVirtual().name("smtpd-" + from.getHostAddress()).start(() -> {
                if (!awaitTurn(socket, listener.role() == Config.Role.SUBMISSIONS ? null : config.hostname())) {
                    release(ip);
                    return;
                }
                Session session = new Session(ctx, socket, watchdog);
                sessions.add(session);
                // a drain that began meanwhile either saw it in the set or is seen here: told either way
                if (closed) session.stop();
                try {
                    session.run();
                } finally {
                    sessions.remove(session);
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
    private boolean awaitTurn(Socket socket, String hostname) {
        active.acquireUninterruptibly(); // fair: waiters are served in the order they came to wait
        if (!closed) return true;
        active.release(); // close() freed every waiter: pass it on
        try (socket) {
            // not greeted yet: a 421 greeting (RFC 5321 §3.1) tells the client to come back later
            // (a fresh socket's send buffer is empty: the write does not block; none on an implicit-TLS listener)
            if (hostname != null) {
                socket.getOutputStream().write(Replies.shuttingDown(hostname).toWire()
                        .getBytes(StandardCharsets.US_ASCII));
            }
        } catch (IOException ignored) {
            // stopping anyway
        }
        return false;
    }

    /** A 421 into an empty send buffer (it cannot block) and a close. */
    private static void refuse(Socket socket) {
        try (socket; OutputStream out = socket.getOutputStream()) {
            out.write(Replies.TOO_MANY_CONNECTIONS.toWire().getBytes(StandardCharsets.US_ASCII));
        } catch (IOException ignored) {
            // the client left already
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

    /** What {@link #drain} did: sessions answered 421 at once, in DATA (waited for), busy, and cut at the end. */
    public record Drained(int idle, int inData, int busy, int cut) {}

    /**
     * Stops the listeners and ends every session as a stopping gateway should: the listening sockets close first;
     * connections waiting for a turn get a 421 greeting; sessions waiting for a command are answered
     * {@code 421 4.3.2 HOST shutting down} and closed; a session receiving a message may finish it (250, then 421);
     * any other says 421 before its next command. At {@code deadline}, whatever still runs is cut (421 to a session
     * still in DATA, whose message is then not taken).
     */
    public Drained drain(Instant deadline) {
        close();
        int idle = 0, inData = 0, busy = 0;
        for (Session s : sessions) {
            switch (s.stop()) {
                case IDLE -> idle++;
                case DATA -> inData++;
                case BUSY -> busy++;
            }
        }
        awaitSessions(deadline);
        int cut = 0;
        for (Session s : sessions) {
            s.force();
            cut++;
        }
        // the cut sessions end at once (their sockets are closed); their partial files go before the spool closes
        awaitSessions(Instant.now().plusSeconds(2));
        return new Drained(idle, inData, busy, cut);
    }

    private void awaitSessions(Instant deadline) {
        while (!sessions.isEmpty() && Instant.now().isBefore(deadline)) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override public void close() {
        boolean first = !closed;
        closed = true;
        if (first) active.release(Integer.MAX_VALUE / 2); // every connection still waiting for a turn ends now
        if (connections.get() == 0) watchdog.close(); // else the last session's end stops it
        synchronized (this) {
            for (Bound b : bound) closeQuietly(b.socket);
        }
    }
}
