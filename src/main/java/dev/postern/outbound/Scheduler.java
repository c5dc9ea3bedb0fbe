package dev.postern.outbound;

import dev.postern.audit.Audit;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageRecord;
import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Addresses;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.local.MaildirDelivery;
import dev.postern.queue.Bounces;
import dev.postern.queue.Envelope;
import dev.postern.queue.Envelope.Recipient;
import dev.postern.queue.QueueState;
import dev.postern.queue.RetrySchedule;
import dev.postern.queue.Spool;
import dev.postern.smtp.HopCounter;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsFacts;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.postern.logging.Untrusted;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Decides when each queued message is tried, runs the attempts (local Maildir or remote SMTP) with a global and a
 * per-destination concurrency limit, records every recipient's outcome in the spool, retries with backoff, and
 * bounces (RFC 3464) what failed or expired. The envelopes of queued messages are held in memory while the gateway
 * runs; the spool on disk is written on every change so a crash loses nothing.
 */
public final class Scheduler implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    /** Everything the scheduler needs; wired once by the gateway. */
    public record Settings(String hostname, Set<String> localDomains, RetrySchedule retry, Duration delayWarning,
                           int concurrency, int perDestination) {}

    private record Due(String id, Instant at) implements Delayed {
        @Override public long getDelay(TimeUnit unit) {
            return unit.convert(Duration.between(Instant.now(), at));
        }

        @Override public int compareTo(Delayed o) {
            return at.compareTo(((Due) o).at);
        }
    }

    private final Spool spool;
    private final Router router;
    private final DnsResolver dns;
    private final SmtpClient client;
    private final TlsPolicies policies;
    private final TlsPlanner planner;
    private final MaildirDelivery local;
    /** Swapped by a reload ({@link #settings(Settings)}); each use reads the current one. */
    private volatile Settings settings;
    private final DelayQueue<Due> due = new DelayQueue<>();
    /**
     * Ids {@link #withdraw}n (held, deleted) before the scheduler had them: {@link #enqueue} and {@link #start} skip
     * them once. Guards, as its monitor, every change of {@link #envelopes} that decides whether a message is taken.
     */
    private final java.util.Set<String> withdrawnEarly = new java.util.HashSet<>();
    /** Queued messages by id, with the instant they are scheduled for (stale Due entries are skipped). */
    private final Map<String, Envelope> envelopes = new ConcurrentHashMap<>();
    private final Map<String, Instant> scheduled = new ConcurrentHashMap<>();
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    /**
     * Per next hop (the route's host set), not per recipient domain: many domains may share one MX. A set, not the
     * list: DNS gives MX hosts of equal preference in random order, and every order is the same next hop.
     */
    private final Map<Set<NextHop>, NextHopLimit> destinations = new ConcurrentHashMap<>();

    /**
     * A next hop's limit and how many attempts hold or wait for it (counted inside the map's atomic compute), so that
     * the entry goes when nobody uses it: one per next hop ever seen would grow without bound.
     */
    private static final class NextHopLimit {
        final Semaphore permits;
        int users;

        NextHopLimit(int permits) { this.permits = new Semaphore(permits); }
    }

    /** Next hops with a limit in use right now (for tests: idle ones are forgotten). */
    int nextHopsInUse() {
        return destinations.size();
    }
    private final Semaphore slots;
    /** Receives a delivery record per recipient per attempt and a message record per DSN made here. */
    private final Audit audit;
    /** The downgrade memory: the floor under each destination's plan, and what each session teaches it. */
    private final PeerFloors floors;
    private volatile boolean closed;
    /** Set by {@link #drain}: no attempt starts any more; the ones under way may finish. */
    private volatile boolean stopping;
    /** Attempts that ran to their end (settled) since {@link #drain} began. */
    private final java.util.concurrent.atomic.AtomicInteger finishedWhileStopping =
            new java.util.concurrent.atomic.AtomicInteger();
    private Thread dispatcher;

    public Scheduler(Spool spool, Router router, DnsResolver dns, SmtpClient client, TlsPolicies policies,
                     MaildirDelivery local, Settings settings) {
        this(spool, router, dns, client, policies, local, settings, Audit.NONE);
    }

    public Scheduler(Spool spool, Router router, DnsResolver dns, SmtpClient client, TlsPolicies policies,
                     MaildirDelivery local, Settings settings, Audit audit) {
        this(spool, router, dns, client, policies, local, settings, audit, PeerFloors.NONE);
    }

    public Scheduler(Spool spool, Router router, DnsResolver dns, SmtpClient client, TlsPolicies policies,
                     MaildirDelivery local, Settings settings, Audit audit, PeerFloors floors) {
        this(spool, router, dns, client, policies, local, settings, audit, floors, new TlsPlanner());
    }

    /** @param planner the TLS plans of every session, whose contexts come from {@code [delivery] tls_provider} */
    public Scheduler(Spool spool, Router router, DnsResolver dns, SmtpClient client, TlsPolicies policies,
                     MaildirDelivery local, Settings settings, Audit audit, PeerFloors floors, TlsPlanner planner) {
        this.planner = planner;
        this.audit = audit;
        this.floors = floors;
        this.spool = spool;
        this.router = router;
        this.dns = dns;
        this.client = client;
        this.policies = policies;
        this.local = local;
        this.settings = settings;
        this.slots = new Semaphore(settings.concurrency());
    }

    /** Starts dispatching, with the messages found by spool recovery (held ones stay held). */
    public void start(List<Spool.Entry> recovered) {
        for (Spool.Entry e : recovered) {
            if (e.state() == QueueState.HOLD) continue;
            Envelope env = e.envelope();
            if (!take(env)) continue; // held or deleted since the spool was read (the control socket is up already)
            schedule(env.id(), env.nextAttempt() == null ? Instant.now() : env.nextAttempt());
        }
        dispatcher = Thread.ofPlatform().name("scheduler").daemon(true).start(this::dispatch);
        // Closes the outbound connections nobody reused in time, busy or not (QUIT may wait on a slow peer).
        Thread.ofVirtual().name("connection-sweeper").start(() -> {
            while (!closed) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                client.sweep();
                policies.refresh(Instant.now()); // overrides set, cleared or ended: the audit hears of them
            }
        });
    }

    /**
     * A message the inbound side (or a bounce) has just made durable: try it now, unless an administrator held or
     * deleted it in the moment between its commit and this call ({@link #withdraw}).
     */
    public void enqueue(Envelope envelope) {
        if (take(envelope)) schedule(envelope.id(), Instant.now());
    }

    /** A held message released by an administrator: try it now. */
    public void release(Envelope envelope) {
        synchronized (withdrawnEarly) {
            withdrawnEarly.remove(envelope.id());
        }
        enqueue(envelope);
    }

    /** Takes a message into scheduling; false when it was withdrawn before it came. */
    private boolean take(Envelope envelope) {
        synchronized (withdrawnEarly) {
            if (withdrawnEarly.remove(envelope.id())) return false;
            envelopes.put(envelope.id(), envelope);
            return true;
        }
    }

    /** Tries one message (or, with null, every queued message) now. Returns false when the id is not queued. */
    public boolean flush(String id) {
        if (id != null) {
            if (!envelopes.containsKey(id)) return false;
            schedule(id, Instant.now());
            return true;
        }
        for (String each : envelopes.keySet()) schedule(each, Instant.now());
        return true;
    }

    /** An administrator's change to a message that is being delivered right now. */
    public static final class BusyException extends Exception {
        BusyException(String id) { super("message " + id + " is being delivered right now; try again in a moment"); }
    }

    /**
     * Takes a message out of scheduling (to hold or delete it) unless an attempt is running; returns its current
     * envelope, or null when the scheduler did not have it.
     */
    public Envelope withdraw(String id) throws BusyException {
        if (!running.add(id)) throw new BusyException(id);
        try {
            scheduled.remove(id);
            synchronized (withdrawnEarly) {
                Envelope had = envelopes.remove(id);
                // committed but not handed over yet (a session between its commit and enqueue, a start before the
                // recovered messages are scheduled): it must not be scheduled when it comes
                if (had == null) withdrawnEarly.add(id);
                return had;
            }
        } finally {
            running.remove(id);
        }
    }

    /** True while an attempt for {@code id} is running. */
    public boolean isRunning(String id) {
        return running.contains(id);
    }

    /** Number of messages the scheduler knows about (queued, not held). */
    public int size() {
        return envelopes.size();
    }

    private void schedule(String id, Instant at) {
        scheduled.put(id, at);
        due.put(new Due(id, at));
    }

    private void dispatch() {
        while (!closed) {
            Due d;
            try {
                d = due.take();
            } catch (InterruptedException e) {
                return;
            }
            Instant current = scheduled.get(d.id());
            if (!d.at().equals(current) || !running.add(d.id())) {
                // Stale entry (rescheduled or forgotten), or an attempt is already running; the running attempt
                // offers it again when done (see below).
                continue;
            }
            // No global slot here: the attempt takes its destination's slot first, then a global one (see
            // deliverRemotely), so messages waiting for a busy destination never hold slots other destinations need.
            scheduled.remove(d.id(), current);
            Thread.ofVirtual().name("delivery-" + d.id()).start(() -> {
                try {
                    attempt(d.id());
                } catch (Stopped e) {
                    // not tried: the gateway stops; the envelope stays where it is on disk, recovered at the next start
                } catch (RuntimeException e) {
                    log.atError().setCause(e).addKeyValue("id", d.id())
                            .addKeyValue("retry-in", settings.retry().first()).log("delivery failed unexpectedly");
                    schedule(d.id(), Instant.now().plus(settings.retry().first()));
                } finally {
                    running.remove(d.id());
                    // A flush that came while this attempt ran was skipped above: offer it again. A duplicate of an
                    // entry already queued is harmless (only the one matching 'scheduled' runs).
                    Instant requested = scheduled.get(d.id());
                    if (requested != null) due.put(new Due(d.id(), requested));
                }
            });
        }
    }

    /** One delivery attempt for every pending recipient of a message, then the bookkeeping. */
    private void attempt(String id) {
        Envelope env = envelopes.get(id);
        if (env == null) return;
        if (stopping) throw new Stopped();
        Map<String, List<String>> byDomain = new LinkedHashMap<>();
        for (Recipient r : env.pending()) {
            byDomain.computeIfAbsent(domainOf(r.address()), k -> new ArrayList<>()).add(r.address());
        }
        Map<String, SmtpClient.RecipientResult> results = new LinkedHashMap<>();
        Map<String, Via> vias = new java.util.HashMap<>();
        for (Map.Entry<String, List<String>> group : byDomain.entrySet()) {
            if (settings.localDomains().contains(group.getKey())) {
                slots.acquireUninterruptibly();
                try {
                    stopIfNothingDone(results.isEmpty());
                    results.putAll(deliverLocally(env, group.getValue()));
                } finally {
                    slots.release();
                }
                for (String r : group.getValue()) vias.put(r, Via.LOCAL);
            } else {
                results.putAll(deliverRemotely(env, group.getKey(), group.getValue(), vias));
            }
        }
        try {
            settle(env, results, vias);
            if (stopping) finishedWhileStopping.incrementAndGet();
        } catch (IOException e) {
            // The spool could not record the outcome; the attempt will be repeated (at worst a duplicate delivery).
            log.atError().addKeyValue("id", id).addKeyValue("reason", e.toString())
                    .log("could not record delivery results");
            schedule(id, Instant.now().plus(settings.retry().first()));
        }
    }

    private Map<String, SmtpClient.RecipientResult> deliverLocally(Envelope env, List<String> recipients) {
        Map<String, SmtpClient.RecipientResult> out = new LinkedHashMap<>();
        for (String r : recipients) {
            try (InputStream content = spool.openContent(env.id())) {
                java.nio.file.Path file = local.deliver(r, content);
                observeDelivery(env, r, file);
                out.put(r, new SmtpClient.RecipientResult(SmtpClient.RecipientResult.Status.DELIVERED,
                        "delivered to maildir " + file.getParent().getParent()));
            } catch (IOException e) { // a full Maildir disk is RFC 3463's 4.3.1 "mail system full", retried
                boolean full = dev.postern.files.DurableFiles.noSpace(e);
                out.put(r, SmtpClient.RecipientResult.own(SmtpClient.RecipientResult.Status.DEFERRED,
                        full ? 452 : 451, full ? "4.3.1" : "4.3.0", "local delivery failed: " + e.getMessage()));
            }
        }
        return out;
    }

    /** Told of each local delivery (the TLS report reader, issue 16); it only queues work. */
    private volatile dev.postern.local.DeliveryObserver deliveryObserver = dev.postern.local.DeliveryObserver.NONE;

    /** Sets who is told of each message delivered to a Maildir here. */
    public void observeLocalDeliveries(dev.postern.local.DeliveryObserver observer) {
        deliveryObserver = observer;
    }

    private void observeDelivery(Envelope env, String recipient, java.nio.file.Path file) {
        try {
            deliveryObserver.delivered(recipient, env.sender(), env.client(), file);
        } catch (RuntimeException e) { // the mail is delivered whatever the observer does
            log.atWarn().addKeyValue("id", env.id()).addKeyValue("reason", e.toString())
                    .log("local delivery observer failed");
        }
    }

    /**
     * Where the outcome of a recipient's attempt was decided, for its delivery record: the host (MX name, "local",
     * null when none was reached), its MX preference, address and port, the TLS session used, why there was no
     * TLS, and each host's one-line result in this attempt.
     */
    private record Via(String host, int preference, String ip, int port, String tlsSessionId, String noTlsReason,
                       List<String> hostsTried, TlsPolicies.Resolved policy, SmtpClient.Attempt attempt,
                       TlsPlanner.Plan plan) {
        static final Via NONE = new Via(null, -1, null, -1, null, null, List.of());
        static final Via LOCAL = new Via("local", -1, null, -1, null, null, List.of());

        /** Where no host answered: no session to describe (the log line names the policy when there was one). */
        Via(String host, int preference, String ip, int port, String tlsSessionId, String noTlsReason,
            List<String> hostsTried) {
            this(host, preference, ip, port, tlsSessionId, noTlsReason, hostsTried, null, null, null);
        }

        static Via of(NextHop hop, InetAddress address, SmtpClient.Attempt a, List<String> tried,
                      TlsPlanner.Plan plan) {
            return new Via(hop.host(), hop.preference(), address.getHostAddress(), hop.port(), a.tlsSessionId(),
                    a.tls() == null || a.outcome() == SmtpClient.Outcome.TLS_FAILED ? a.noTlsReason() : null,
                    List.copyOf(tried), plan.resolved(), a, plan);
        }

        Via with(List<String> tried, String noTls) {
            return new Via(host, preference, ip, port, tlsSessionId, noTls, List.copyOf(tried), policy, attempt, plan);
        }

        Via withPolicy(TlsPolicies.Resolved p) {
            return policy != null ? this
                    : new Via(host, preference, ip, port, tlsSessionId, noTlsReason, hostsTried, p, attempt, plan);
        }

        /** host[ip]:port, the host alone when it has no address, or null when none was reached. */
        String relay() {
            return host == null ? null : ip == null ? host : host + "[" + ip + "]:" + port;
        }
    }

    /** One host's result in an attempt, as the delivery record lists it. */
    private static String tried(NextHop hop, InetAddress address, SmtpClient.Attempt a) {
        String result = switch (a.outcome()) {
            case COMPLETED -> "completed";
            case HOST_FAILED -> "host failed";
            case TLS_FAILED -> "TLS failed";
        };
        return hop.host() + "[" + address.getHostAddress() + "]:" + hop.port() + " " + result
                + (a.tls() == null ? " without TLS" : " over " + a.tls().protocol()) + ": " + a.detail();
    }

    private Map<String, SmtpClient.RecipientResult> deliverRemotely(Envelope env, String domain, List<String> rcpts,
                                                                    Map<String, Via> vias) {
        // DNS under a global slot, so a large due backlog never floods the resolver; released before waiting for the
        // destination below.
        Router.Result route;
        slots.acquireUninterruptibly();
        try {
            route = router.route(domain);
        } finally {
            slots.release();
        }
        if (!(route instanceof Router.Result.Hops)) for (String r : rcpts) vias.put(r, Via.NONE);
        return switch (route) {
            case Router.Result.Undeliverable u -> uniform(rcpts, SmtpClient.RecipientResult.own(
                    SmtpClient.RecipientResult.Status.FAILED, 550, u.status(), u.reason()));
            case Router.Result.Later l -> uniform(rcpts, SmtpClient.RecipientResult.own(
                    SmtpClient.RecipientResult.Status.DEFERRED, 451, "4.4.3", l.reason()));
            case Router.Result.Hops h -> {
                // The destination's slot first, then a global one: a backlogged next hop parks only its own waiters
                // (virtual threads), never global slots (head-of-line blocking).
                Set<NextHop> key = Set.copyOf(h.hops());
                NextHopLimit limit = destinations.compute(key, (k, l) -> {
                    NextHopLimit used = l == null ? new NextHopLimit(settings.perDestination()) : l;
                    used.users++;
                    return used;
                });
                try {
                    limit.permits.acquireUninterruptibly();
                    try {
                        slots.acquireUninterruptibly();
                        try {
                            if (stopping) {
                                // waited for a slot while the gateway began to stop: not tried (vias: earlier groups)
                                stopIfNothingDone(vias.isEmpty());
                                yield uniform(rcpts, SmtpClient.RecipientResult.own(
                                        SmtpClient.RecipientResult.Status.DEFERRED, 451, "4.3.2",
                                        "the gateway was stopping; tried again after its restart"));
                            }
                            yield tryHops(env, domain, h, rcpts, vias);
                        } finally {
                            slots.release();
                        }
                    } finally {
                        limit.permits.release();
                    }
                } finally {
                    destinations.compute(key, (k, l) -> --l.users == 0 ? null : l);
                }
            }
        };
    }

    /**
     * What one host (one address of a next hop, or a next hop whose name did not resolve) did in an attempt, so the
     * deferral reason is built from every host's result instead of the last one only.
     *
     * @param tlsRequired the host failed a TLS requirement of the policy (no STARTTLS, failed handshake or check)
     * @param remote      the reply that ended the attempt, when the host said something
     */
    record HostResult(String host, boolean tlsRequired, String detail, SmtpClient.Remote remote) {}

    private Map<String, SmtpClient.RecipientResult> tryHops(Envelope env, String domain, Router.Result.Hops route,
                                                            List<String> rcpts, Map<String, Via> vias) {
        List<NextHop> hops = route.hops();
        SmtpClient.Message message = new SmtpClient.Message(env.sender(), rcpts, env.size(),
                "8BITMIME".equals(env.bodyType()), env.smtputf8(), () -> spool.openContent(env.id()),
                env.requireTls());
        // TLS-Required: No sets aside a recipient-side policy (MTA-STS) here, DANE and the memory in the planner
        TlsPolicies.Resolved policy = policies.resolve(domain, Instant.now(), env.tlsRequiredNo());
        // RFC 8689 §4.2.1 binds a REQUIRETLS message with a return path; its DSN (null reverse path) goes back with
        // REQUIRETLS to a next hop that takes it and without to one that does not (§5, SmtpClient), never refused
        boolean requireTls = env.requireTls() && !env.nullSender();
        // the downgrade memory's floor (RFC 8689 §3: set aside too for TLS-Required: No, a recipient-side policy)
        TlsPlanner.Floor floor = TlsPolicies.setAside(TlsPolicies.SourceKind.MEMORY, env.tlsRequiredNo()) ? null
                : floors.floor(policy);
        TlsPlanner.Floor refusedBy = null; // the floor, once it refused a host: the deferral names the ways out
        List<HostResult> hosts = new ArrayList<>();
        List<String> tried = new ArrayList<>();
        // REQUIRETLS: hosts that answered but cannot take it as asked (no TLS, not verified, no REQUIRETLS)
        List<HostResult> noRequireTls = new ArrayList<>();
        boolean lacksExtension = false; // one of them had verified TLS but does not advertise REQUIRETLS
        Via last = null;
        Via refusedHop = null; // the first host whose plan cannot carry REQUIRETLS, when no connection was made
        for (NextHop hop : hops) {
            Addresses found;
            try {
                found = dns.resolve(hop.host());
            } catch (DnsException e) {
                hosts.add(new HostResult(hop.host(), false, "DNS lookup of " + hop.host() + " failed: "
                        + e.getMessage(), null));
                tried.add(hosts.getLast().detail());
                continue;
            }
            List<InetAddress> addresses = found.addresses();
            if (addresses.isEmpty()) {
                hosts.add(new HostResult(hop.host(), false, "host " + hop.host() + " has no address", null));
                tried.add(hosts.getLast().detail());
                continue;
            }
            // RFC 7672: under a DANE level, this host's TLSA records (when everything on the way is DNSSEC-secure)
            TlsaLookup.Found tlsa = TlsPlanner.tlsa(policy, env.tlsRequiredNo(), dns, hop, route.security(), found);
            String daneRefusal = TlsPlanner.daneRefusal(policy, tlsa);
            if (daneRefusal != null) {
                // A TLS requirement this host cannot meet now: never clear text; the next host, then defer.
                log.atInfo().addKeyValue("id", env.id()).addKeyValue("domain", domain)
                        .addKeyValue("relay", hop.host() + ":" + hop.port())
                        .addKeyValue("policy", policy.policy().level().word())
                        .addKeyValue("policy-source", policy.source()).addKeyValue("result", "tls-failed")
                        .addKeyValue("reason", daneRefusal).log("attempt");
                hosts.add(new HostResult(hop.host(), true, hop.host() + ": " + daneRefusal, null));
                tried.add(hop + " not used: " + daneRefusal);
                continue;
            }
            TlsPlanner.Plan plan;
            try {
                plan = planner.plan(policy, hop.host(), tlsa, floor);
            } catch (TlsConfigException e) {
                // A broken partner CA or client certificate must never mean "send without it".
                String why = "TLS policy for " + domain + " cannot be applied: " + e.getMessage();
                log.atError().addKeyValue("id", env.id()).addKeyValue("domain", domain)
                        .addKeyValue("policy", policy.policy().level().word())
                        .addKeyValue("policy-source", policy.source()).addKeyValue("reason", e.getMessage())
                        .log("policy cannot be applied");
                for (String r : rcpts) {
                    vias.put(r, new Via(hop.host(), hop.preference(), null, -1, null, why, List.copyOf(tried))
                            .withPolicy(policy));
                }
                return uniform(rcpts, SmtpClient.RecipientResult.own(SmtpClient.RecipientResult.Status.DEFERRED,
                        451, "4.7.5", why));
            }
            // the policy's own enforcement, not `required`, which the downgrade memory's floor may set alone
            String outsidePolicy = plan.policyRequired() ? plan.mxMismatch() : null;
            if (outsidePolicy != null) {
                // RFC 8461 §4.1: an enforced MTA-STS policy rules this host out; it counts as a failed TLS requirement
                log.atWarn().addKeyValue("id", env.id()).addKeyValue("domain", domain)
                        .addKeyValue("policy-source", policy.source()).addKeyValue("reason", outsidePolicy)
                        .log("MTA-STS");
                hosts.add(new HostResult(hop.host(), true, outsidePolicy, null));
                tried.add(outsidePolicy);
                continue;
            }
            String refusal = requireTls ? plan.requireTlsRefusal() : null;
            if (refusal != null) {
                // No retry can make this host's plan verify (RFC 8689 §4.2.1): not connected to. DANE is decided per
                // host, so another MX host may yet qualify: the message bounces only when none does (below).
                log.atWarn().addKeyValue("id", env.id()).addKeyValue("domain", domain)
                        .addKeyValue("reason", refusal).log("REQUIRETLS");
                hosts.add(new HostResult(hop.host(), false, refusal, null));
                noRequireTls.add(hosts.getLast());
                lacksExtension = true; // 5.7.30, "REQUIRETLS support required"
                tried.add(hop + " not used: " + refusal);
                if (refusedHop == null) {
                    refusedHop = new Via(hop.host(), hop.preference(), null, -1, null, refusal, List.of());
                }
                continue;
            }
            for (InetAddress address : addresses) {
                SmtpClient.Attempt a = client.send(hop, address, message, plan);
                if (a.outcome() == SmtpClient.Outcome.TLS_FAILED && plan.required()) {
                    // Enforced: no clear text, no weaker retry; try the next host, then defer.
                    logAttempt(env, domain, hop, address, a, plan);
                    String down = downgradeAlert(env, domain, hop, address, a, plan);
                    if (down != null) refusedBy = plan.floor();
                    hosts.add(new HostResult(hop.host(), true, down != null ? hop.host() + "["
                            + address.getHostAddress() + "]:" + hop.port() + ": " + down : a.detail(), null));
                    tried.add(tried(hop, address, a));
                    last = Via.of(hop, address, a, tried, plan);
                    // REQUIRETLS: the host answered, and not with verified TLS (a broken connection may yet)
                    if (requireTls && a.tlsFailure().answered()) noRequireTls.add(hosts.getLast());
                    continue;
                }
                if (a.outcome() == SmtpClient.Outcome.TLS_FAILED) {
                    a = opportunisticRetry(env, domain, hop, address, message, plan, a, tried);
                }
                logAttempt(env, domain, hop, address, a, plan);
                downgradeAlert(env, domain, hop, address, a, plan); // flag: delivered, but said loudly
                floors.learn(domain, a, Instant.now());
                tried.add(tried(hop, address, a));
                last = Via.of(hop, address, a, tried, plan);
                if (requireTls && lacksRequireTls(a)) {
                    // RFC 8689 §4.2.1: this host cannot take it as asked; try the other hosts before failing
                    hosts.add(new HostResult(hop.host(), false, a.detail(), null));
                    noRequireTls.add(hosts.getLast());
                    lacksExtension = true;
                    continue;
                }
                if (a.outcome() == SmtpClient.Outcome.COMPLETED) {
                    for (String r : rcpts) vias.put(r, last);
                    return keepTlsFailures(a.recipients(), domain, source(policy, refusedBy), hosts, hop, address);
                }
                hosts.add(new HostResult(hop.host(), false, a.detail(), a.remote()));
            }
        }
        if (!noRequireTls.isEmpty()) {
            Via via = last != null ? last : refusedHop != null ? refusedHop.with(tried, refusedHop.noTlsReason())
                    : Via.NONE.with(tried, null);
            for (String r : rcpts) vias.put(r, via.withPolicy(policy));
            return uniform(rcpts, requireTlsFailure(noRequireTls, lacksExtension, hosts));
        }
        SmtpClient.RecipientResult deferred = deferral(domain, source(policy, refusedBy), hosts);
        if (refusedBy != null) { // the partner may have changed for good: say how to let its mail go
            deferred = new SmtpClient.RecipientResult(deferred.status(), deferred.reply() + "; "
                    + refusedBy.waysOut(), deferred.enhanced(), deferred.remote());
        }
        List<HostResult> tlsHosts = hosts.stream().filter(HostResult::tlsRequired).toList();
        // A TLS requirement that a host failed is why no transaction ran, whatever the other hosts did.
        String noTls = tlsHosts.isEmpty() ? null : tlsRequired(domain, source(policy, refusedBy), tlsHosts);
        Via via = last == null ? Via.NONE.with(tried, noTls)
                : last.with(tried, noTls != null ? noTls : last.noTlsReason());
        for (String r : rcpts) vias.put(r, via.withPolicy(policy));
        return uniform(rcpts, deferred);
    }

    /**
     * A REQUIRETLS message that no host took (RFC 8689 §4.2.1: each MX host is tried; with none left "the client
     * MUST NOT transmit the message" and "MUST send a non-delivery notification"). When every host answered and
     * could not take it ({@code refused}: no STARTTLS, STARTTLS refused, a handshake refused, a certificate that
     * fails the policy, no REQUIRETLS after verified TLS), it bounces now: 5.7.30 "REQUIRETLS support required" when
     * a host lacked only the extension, else 5.7.10 "encryption needed" (unable to establish a TLS-protected
     * session), the codes §4.2.1 names. A retry cannot change an answer, and the RFC leaves no room to wait for one.
     * When some host could not be asked (connection refused, a 4xx, a connection broken during STARTTLS), that host
     * may yet qualify: the message waits for it (4.7.30 / 4.7.10, and 5.7.x when it expires, see
     * {@link #expiredStatus}). Never sent in clear text or to an unverified host either way.
     */
    static SmtpClient.RecipientResult requireTlsFailure(List<HostResult> refused, boolean lacksExtension,
                                                        List<HostResult> hosts) {
        String status = lacksExtension ? SmtpClient.REQUIRETLS_STATUS : "5.7.10";
        String text = "REQUIRETLS support required: "
                + String.join("; ", refused.stream().map(HostResult::detail).distinct().toList());
        List<String> notAsked = hosts.stream().filter(h -> !refused.contains(h)).map(HostResult::detail).toList();
        if (notAsked.isEmpty()) {
            return SmtpClient.RecipientResult.own(SmtpClient.RecipientResult.Status.FAILED, 550, status, text);
        }
        return SmtpClient.RecipientResult.own(SmtpClient.RecipientResult.Status.DEFERRED, 451,
                "4" + status.substring(1), text + "; other hosts: " + String.join("; ", notAsked));
    }

    /** The policy's source, or the downgrade memory's over it once the floor refused a host. */
    private static String source(TlsPolicies.Resolved policy, TlsPlanner.Floor refusedBy) {
        return refusedBy == null ? policy.source() : "peer memory, over " + policy.source();
    }

    /**
     * Logs the "downgrade alert" of a session below the plan's floor and returns the downgrade's reason, or null when
     * the session was not one: refused (refuse) or delivered anyway (flag), either way an administrator should know.
     */
    private static String downgradeAlert(Envelope env, String domain, NextHop hop, InetAddress address,
                                         SmtpClient.Attempt a, TlsPlanner.Plan plan) {
        if (plan.floor() == null || PeerFloors.achieved(a) == null && a.outcome() != SmtpClient.Outcome.TLS_FAILED) {
            return null; // no floor, or a session that never got as far as TLS (connection lost)
        }
        String down = plan.downgrade(PeerFloors.reached(a), PeerFloors.offered(a));
        if (down == null) return null;
        log.atWarn().addKeyValue("id", env.id()).addKeyValue("domain", domain)
                .addKeyValue("relay", hop.host() + "[" + address.getHostAddress() + "]:" + hop.port())
                .addKeyValue("action", plan.floor().enforce() ? "refused" : "flagged (delivered anyway)")
                .addKeyValue("policy-source", "memory").addKeyValue("reason", down)
                .addKeyValue("fix", plan.floor().waysOut()).log("downgrade alert");
        return down;
    }

    /** The client refused to hand a REQUIRETLS message to this host (unverified, or no REQUIRETLS in its EHLO). */
    private static boolean lacksRequireTls(SmtpClient.Attempt a) {
        return a.outcome() == SmtpClient.Outcome.COMPLETED && !a.recipients().isEmpty()
                && a.recipients().values().stream().allMatch(r -> SmtpClient.REQUIRETLS_STATUS.equals(r.enhanced()));
    }

    /** "TLS required by policy for D (source): what each host did". */
    private static String tlsRequired(String domain, String policySource, List<HostResult> tlsHosts) {
        return "TLS required by policy for " + domain + " (" + policySource + "): "
                + String.join("; ", tlsHosts.stream().map(HostResult::detail).toList());
    }

    /**
     * Opportunistic TLS (may, testing) after STARTTLS failed with {@code failed}: when the handshake itself failed,
     * once more with the broad suite set (RFC 7435: any encryption beats none), then, like Postfix, in clear text.
     */
    private SmtpClient.Attempt opportunisticRetry(Envelope env, String domain, NextHop hop, InetAddress address,
                                                  SmtpClient.Message message, TlsPlanner.Plan plan,
                                                  SmtpClient.Attempt failed, List<String> tried) {
        logAttempt(env, domain, hop, address, failed, plan);
        tried.add(tried(hop, address, failed));
        String why = failed.detail();
        if (failed.tlsFailure() == SmtpClient.TlsFailure.HANDSHAKE
                || failed.tlsFailure() == SmtpClient.TlsFailure.CUT) {
            SmtpClient.Attempt broad = client.send(hop, address, message, plan.broadRetry(why));
            if (broad.outcome() != SmtpClient.Outcome.TLS_FAILED) {
                // In testing mode the enforced level would have stopped at the strict handshake: record that.
                return plan.testing() && broad.verdict() != null ? broad.withVerdict(withWouldFail(broad.verdict(),
                        plan, why)) : broad;
            }
            logAttempt(env, domain, hop, address, broad, plan);
            tried.add(tried(hop, address, broad));
        }
        SmtpClient.Attempt clear = client.send(hop, address, message, plan.clearText(why));
        // testing: the enforced level would have stopped here: record that
        return plan.testing() ? clear.withVerdict(plan.withoutTls(why)) : clear;
    }

    /**
     * The results of the host that completed the transaction, except that a recipient it deferred (a backup that
     * greylists, say) keeps the TLS requirement an earlier host failed as its reason (4.7.10, 5.7.10 on expiry),
     * followed by this host's reply: otherwise stripping STARTTLS on the primary would again look like a mere delay.
     */
    static Map<String, SmtpClient.RecipientResult> keepTlsFailures(Map<String, SmtpClient.RecipientResult> results,
                                                                  String domain, String policySource,
                                                                  List<HostResult> earlier, NextHop hop,
                                                                  InetAddress address) {
        if (earlier.stream().noneMatch(HostResult::tlsRequired)) return results;
        Map<String, SmtpClient.RecipientResult> out = new LinkedHashMap<>();
        results.forEach((rcpt, r) -> {
            if (r.status() != SmtpClient.RecipientResult.Status.DEFERRED) {
                out.put(rcpt, r);
                return;
            }
            List<HostResult> all = new ArrayList<>(earlier);
            all.add(new HostResult(hop.host() + "[" + address.getHostAddress() + "]", false, r.reply(), r.remote()));
            SmtpClient.RecipientResult tls = deferral(domain, policySource, all);
            // The partner's reply stays the DSN's Remote-MTA and Diagnostic-Code; the status is the TLS failure's.
            out.put(rcpt, new SmtpClient.RecipientResult(r.status(), tls.reply(), tls.enhanced(), r.remote()));
        });
        return out;
    }

    private static TlsPlanner.Verdict withWouldFail(TlsPlanner.Verdict v, TlsPlanner.Plan plan, String why) {
        if (!plan.policy().level().requiresTls()) return v;
        List<String> all = new ArrayList<>(v.wouldFail());
        all.addFirst(why);
        return new TlsPlanner.Verdict(v.failure(), v.summary(), v.reason(), List.copyOf(all), v.facts(),
                v.verified());
    }

    /**
     * The deferral of a destination none of whose hosts took the message, from every host's result. A TLS
     * requirement that any host failed comes first (4.7.10): an attacker who strips STARTTLS on the primary and
     * blocks the backup must not make the partner look merely unreachable. Otherwise the last reply a host gave
     * (the partner's own status, e.g. 4.3.2), else 4.4.1. The other hosts' results follow.
     */
    static SmtpClient.RecipientResult deferral(String domain, String policySource, List<HostResult> hosts) {
        var deferred = SmtpClient.RecipientResult.Status.DEFERRED;
        if (hosts.isEmpty()) return SmtpClient.RecipientResult.own(deferred, 451, "4.4.1", "no next hop");
        List<HostResult> tls = hosts.stream().filter(HostResult::tlsRequired).toList();
        List<HostResult> others = hosts.stream().filter(h -> !h.tlsRequired()).toList();
        if (!tls.isEmpty()) {
            String text = tlsRequired(domain, policySource, tls)
                    + (others.isEmpty() ? "" : "; other hosts: "
                    + String.join("; ", others.stream().map(HostResult::detail).toList()));
            return SmtpClient.RecipientResult.own(deferred, 451, "4.7.10", text);
        }
        HostResult decisive = hosts.getLast();
        for (HostResult h : hosts) if (h.remote() != null) decisive = h;
        List<String> details = new ArrayList<>();
        details.add(decisive.detail());
        for (HostResult h : hosts) if (h != decisive) details.add(h.detail());
        String status = decisive.remote() != null && decisive.remote().status().startsWith("4.")
                ? decisive.remote().status() : "4.4.1";
        return new SmtpClient.RecipientResult(deferred, "451 " + status + " " + String.join("; ", details), status,
                decisive.remote());
    }

    /**
     * The line of a host that did not complete the transaction (each recipient's outcome is logged once the attempt
     * settles, see {@link #settle}), and the would-fail list of a testing policy.
     */
    private static void logAttempt(Envelope env, String domain, NextHop hop, InetAddress address,
                                   SmtpClient.Attempt a, TlsPlanner.Plan plan) {
        TlsPolicies.Resolved policy = plan.resolved();
        if (a.verdict() != null && !a.verdict().wouldFail().isEmpty()) {
            log.atWarn().addKeyValue("id", env.id()).addKeyValue("domain", domain)
                    .addKeyValue("relay", hop.host() + "[" + address.getHostAddress() + "]")
                    .addKeyValue("level", policy.policy().level().word())
                    .addKeyValue("would-fail", String.join("; ", a.verdict().wouldFail())).log("tls-policy-testing");
        }
        if (a.outcome() != SmtpClient.Outcome.COMPLETED) {
            LoggingEventBuilder e = log.atInfo().addKeyValue("id", env.id()).addKeyValue("domain", domain)
                    .addKeyValue("relay", hop.host() + "[" + address.getHostAddress() + "]:" + hop.port());
            session(e, env, a, plan).addKeyValue("result",
                            a.outcome() == SmtpClient.Outcome.TLS_FAILED ? "tls-failed" : "host-failed")
                    .addKeyValue("reason", Untrusted.clip(a.detail())).log("attempt");
        }
    }

    /**
     * The fields of a session with a host: TLS, the policy and always its source, every decision of the defences (an
     * override while in force, a DANE level, an MTA-STS policy by its id, what TLS-Required: No set aside, the
     * downgrade memory's floor when it asks more than the policy), the certificate's verdict.
     */
    private static LoggingEventBuilder session(LoggingEventBuilder e, Envelope env, SmtpClient.Attempt a,
                                               TlsPlanner.Plan plan) {
        TlsPolicies.Resolved policy = plan.resolved();
        String tls = (a.tls() == null ? "none" : a.tls().protocol() + "/" + a.tls().cipher())
                + (a.fallback() == null ? "" : a.fallback().note(a.tls() != null));
        // Whether the server asked for our certificate: always named when the policy has one to present.
        TlsFacts.ClientCertificate client = a.tls() == null ? null : a.tls().clientCertificate();
        return e.addKeyValue("tls", tls)
                .addKeyValue("policy", policy.policy().level().word()
                        + (policy.policy().mode() == dev.postern.config.Config.PolicyMode.TESTING ? "(testing)" : ""))
                .addKeyValue("policy-source", policy.source())
                .addKeyValue("tls-required", env.tlsRequiredNo() ? "no" : null)
                .addKeyValue("requiretls", !env.tlsRequiredNo() && env.requireTls() ? "yes" : null)
                .addKeyValue("peer-memory", plan.floor() == null ? null : plan.floor().level().word()
                        + (plan.floor().enforce() ? "" : "(flag)"))
                .addKeyValue("cert", a.verdict() == null || a.tls() == null ? null : a.verdict().summary())
                .addKeyValue("client-cert", client != null && (policy.policy().clientCertificate() != null
                        || client == TlsFacts.ClientCertificate.ASKED_NONE_SENT) ? client.word() : null);
    }

    /**
     * The one line of a recipient's outcome in an attempt: delivered, deferred or bounced, where (host, address,
     * port; "local"), the reply (the remote server's, or our own reason), the DSN status and the policy's source.
     */
    private static void logOutcome(Envelope env, String rcpt, Recipient.Status status, String code, String reply,
                                   int attempts, Via via) {
        LoggingEventBuilder e = (status == Recipient.Status.DELIVERED ? log.atInfo() : log.atWarn())
                .addKeyValue("id", env.id()).addKeyValue("to", Untrusted.address(rcpt))
                .addKeyValue("relay", via.relay());
        if (via.attempt() != null) session(e, env, via.attempt(), via.plan());
        else if (via.policy() != null) e.addKeyValue("policy", via.policy().policy().level().word())
                .addKeyValue("policy-source", via.policy().source());
        else e.addKeyValue("policy-source", via == Via.LOCAL ? "local" : "none (no next hop)");
        e.addKeyValue("result", switch (status) {
                    case DELIVERED -> "delivered";
                    case FAILED -> "bounced";
                    default -> "deferred";
                }).addKeyValue("dsn", code).addKeyValue("attempts", attempts)
                .addKeyValue("reply", Untrusted.clip(reply)).log("delivery");
    }

    private static Map<String, SmtpClient.RecipientResult> uniform(List<String> rcpts,
                                                                   SmtpClient.RecipientResult result) {
        Map<String, SmtpClient.RecipientResult> out = new LinkedHashMap<>();
        for (String r : rcpts) out.put(r, result);
        return out;
    }

    /** Applies the results to the envelope, bounces failures, then deletes or reschedules the message. */
    private void settle(Envelope env, Map<String, SmtpClient.RecipientResult> results, Map<String, Via> vias)
            throws IOException {
        Instant now = Instant.now();
        List<DeliveryRecord> records = new ArrayList<>();
        boolean expired = settings.retry().expired(env.received(), now);
        List<Recipient> updated = new ArrayList<>();
        List<Bounces.Report> failures = new ArrayList<>();
        int maxAttempts = 0;
        for (Recipient r : env.recipients()) {
            SmtpClient.RecipientResult res = results.get(r.address());
            if (r.status() != Recipient.Status.PENDING || res == null) {
                updated.add(r);
                continue;
            }
            int attempts = r.attempts() + 1;
            Recipient.Status status = switch (res.status()) {
                case DELIVERED -> Recipient.Status.DELIVERED;
                case FAILED -> Recipient.Status.FAILED;
                case DEFERRED -> expired ? Recipient.Status.FAILED : Recipient.Status.PENDING;
            };
            String reason = res.status() == SmtpClient.RecipientResult.Status.DEFERRED && expired
                    ? "delivery time expired after " + settings.retry().lifetime() + "; last error: " + res.reply()
                    : res.reply();
            String code = switch (status) {
                case FAILED -> expired && res.status() == SmtpClient.RecipientResult.Status.DEFERRED
                        ? expiredStatus(res) : dsnStatus(res, "5.0.0");
                case DELIVERED -> dsnStatus(res, "2.0.0");
                default -> dsnStatus(res, "4.0.0");
            };
            if (status == Recipient.Status.FAILED) {
                failures.add(report(r.address(), "failed", code, reason, res));
            }
            Via via = vias.getOrDefault(r.address(), Via.NONE);
            logOutcome(env, r.address(), status, code, reason, attempts, via);
            records.add(new DeliveryRecord(now, env.id(), r.address(), attempts, via.host(), via.preference(),
                    via.ip(), via.port(), via.tlsSessionId(), via.noTlsReason(),
                    res.remote() == null ? List.of() : res.remote().wireLines(),
                    switch (status) {
                        case DELIVERED -> DeliveryRecord.Outcome.DELIVERED;
                        case FAILED -> DeliveryRecord.Outcome.BOUNCED;
                        default -> DeliveryRecord.Outcome.DEFERRED;
                    }, code, reason, null, via.hostsTried()));
            if (status == Recipient.Status.PENDING) maxAttempts = Math.max(maxAttempts, attempts);
            updated.add(new Recipient(r.address(), status, attempts, reason, now));
        }
        Envelope next = env.withRecipients(updated, settings.retry().next(maxAttempts, now));
        String bounceId = null;
        if (!failures.isEmpty()) {
            if (!env.nullSender()) bounceId = bounce(env, failures, now);
            else log.atInfo().addKeyValue("id", env.id())
                    .addKeyValue("rcpts", Untrusted.clip(String.join(",", failures.stream()
                            .map(f -> Untrusted.address(f.recipient())).toList())))
                    .addKeyValue("reason", "null sender (RFC 5321 §4.5.5): failed recipients dropped")
                    .log("no bounce");
        }
        if (next.pending().isEmpty()) {
            record(records, bounceId, null);
            // Not waited for: the removal shares its fsync with other messages' (group commit). A crash before it is
            // durable means this message is delivered again, which RFC 5321 §6.1 accepts; it is never lost.
            spool.remove(env.id()).whenComplete((ok, e) -> {
                if (e != null) log.atError().addKeyValue("id", env.id()).addKeyValue("reason", e.toString())
                        .log("could not remove a delivered message (it may be delivered again after a restart)");
            });
            envelopes.remove(env.id());
            log.atInfo().addKeyValue("id", env.id()).log("removed");
            return;
        }
        String delayId = null;
        Duration warnAfter = settings.delayWarning();
        if (warnAfter != null && !next.delayWarned() && !env.nullSender()
                && Duration.between(env.received(), now).compareTo(warnAfter) >= 0) {
            List<Bounces.Report> delayed = next.pending().stream().map(r -> {
                SmtpClient.RecipientResult res = results.get(r.address());
                return res == null // not tried in this attempt: what the queue recorded
                        ? new Bounces.Report(r.address(), "delayed", statusOf(r.lastResult(), "4.0.0"),
                                r.lastResult(), remoteOf(r.lastResult()))
                        : report(r.address(), "delayed", dsnStatus(res, "4.0.0"), r.lastResult(), res);
            }).toList();
            delayId = bounce(env, delayed, now);
            next = next.withDelayWarned();
        }
        record(records, bounceId, delayId);
        Envelope stored = spool.update(next, QueueState.DEFERRED);
        if (envelopes.replace(env.id(), stored) != null) {
            // The backoff, unless a flush during this attempt asked for an earlier one.
            Instant at = scheduled.merge(env.id(), stored.nextAttempt(), (requested, backoff) ->
                    requested.isBefore(backoff) ? requested : backoff);
            due.put(new Due(env.id(), at));
        }
    }

    /**
     * Hands the attempt's delivery records to the audit, each with the DSN made for it: the failure DSN for a bounced
     * recipient, the delay DSN for one still pending when a delay warning went out.
     */
    private void record(List<DeliveryRecord> records, String bounceId, String delayId) {
        for (DeliveryRecord d : records) {
            String dsn = d.outcome() == DeliveryRecord.Outcome.BOUNCED ? bounceId
                    : d.outcome() == DeliveryRecord.Outcome.DEFERRED ? delayId : null;
            audit(dsn == null ? d : new DeliveryRecord(d.at(), d.queueId(), d.recipient(), d.attempt(), d.mxHost(),
                    d.mxPreference(), d.ip(), d.port(), d.tlsSessionId(), d.noTlsReason(), d.replies(), d.outcome(),
                    d.status(), d.reason(), dsn, d.hostsTried()));
        }
    }

    private void audit(dev.postern.audit.AuditRecord r) {
        try {
            audit.record(r);
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue("reason", e.toString()).log("audit"); // the sink must not throw; mail goes on
        }
    }

    /** A DSN report with the next hop's name and its reply verbatim when it said something. */
    private static Bounces.Report report(String rcpt, String action, String status, String diagnostic,
                                         SmtpClient.RecipientResult res) {
        SmtpClient.Remote remote = res.remote();
        return remote == null ? new Bounces.Report(rcpt, action, status, diagnostic, remoteOf(res.reply()))
                : new Bounces.Report(rcpt, action, status, diagnostic, remote.mta(), remote.wireLines());
    }

    /** The result's enhanced status code, or the one in its text, or {@code fallback}. */
    static String dsnStatus(SmtpClient.RecipientResult res, String fallback) {
        return res.enhanced() != null ? res.enhanced() : statusOf(res.reply(), fallback);
    }

    /**
     * Queues a DSN to the original sender, from the null sender so that it can never bounce in turn; returns its
     * queue id.
     */
    private String bounce(Envelope original, List<Bounces.Report> reports, Instant now) throws IOException {
        Bounces.Dsn made;
        try (InputStream content = spool.openContent(original.id())) {
            made = Bounces.make(original, reports, settings.hostname(), content, now);
        }
        byte[] dsn = made.content();
        try (Spool.Incoming in = spool.receive()) {
            in.body().write(dsn);
            // BODY= and SMTPUTF8 from the DSN itself, not from the original: an ASCII sender must get its DSN from
            // a server without SMTPUTF8 even when the original needed it. REQUIRETLS from the original: the DSN
            // quotes its headers, so it goes back only as the sender asked the message to go.
            Envelope env = Bounces.envelopeFor(in.id(), original.sender(), dsn, now, original.requireTls());
            in.commit(env);
            // why the DSN was made: each recipient's status and reason
            log.atInfo().addKeyValue("id", in.id()).addKeyValue("original", original.id())
                    .addKeyValue("to", Untrusted.address(original.sender()))
                    .addKeyValue("action", reports.getFirst().action())
                    .addKeyValue("rcpts", Untrusted.clip(String.join(",", reports.stream()
                            .map(r -> Untrusted.address(r.recipient())).toList())))
                    .addKeyValue("status", String.join(",", reports.stream().map(Bounces.Report::status).toList()))
                    .addKeyValue("reason", Untrusted.clip(String.join("; ", reports.stream()
                            .map(r -> Untrusted.address(r.recipient()) + " " + r.diagnostic()).toList())))
                    .log("bounce");
            boolean delay = reports.stream().allMatch(r -> "delayed".equals(r.action()));
            audit(new MessageRecord(now, in.id(), made.messageId(), "", List.of(original.sender()), env.size(), null,
                    null, null, null, null, env.requireTls(), (delay ? "delay of " : "bounce of ") + original.id()));
            enqueue(env);
            return in.id();
        }
    }

    /**
     * Queues a message made by this gateway (an alert, a TLS report): the one way a part of Postern sends mail of its
     * own. Written and fsynced to the spool like a received message, recorded as a {@link MessageRecord} with
     * {@code origin}, then delivered as any other. {@code content} is the whole message, CRLF line ends, headers
     * included (the caller writes From, To, Date, Message-ID, Subject). A {@code TLS-Required: No} field in its header
     * section (RFC 8689, read as for received mail by {@link HopCounter}) is kept in the envelope, as inbound does: a
     * TLS report must get through even when TLS with the domain fails (RFC 8460 §5.3).
     *
     * @param sender     the envelope sender, "" for the null reverse path
     * @param recipients the envelope recipients, lookup-form domains
     * @param messageId  the Message-ID written in {@code content}, without angle brackets (for the audit record)
     * @param origin     what made it ("alert", "tls-rpt report"), in the message record
     * @return the queue id
     */
    public String submit(String sender, List<String> recipients, byte[] content, String messageId, String origin)
            throws IOException {
        Instant now = Instant.now();
        try (Spool.Incoming in = spool.receive()) {
            HopCounter headers = new HopCounter(in.body());
            headers.write(content, 0, content.length);
            boolean utf8 = !java.nio.charset.StandardCharsets.US_ASCII.newEncoder().canEncode(
                    sender + String.join("", recipients));
            boolean eightBit = false;
            for (byte b : content) {
                if (b < 0) {
                    eightBit = true;
                    break;
                }
            }
            Envelope env = new Envelope(in.id(), sender, recipients.stream().map(Envelope.Recipient::pending).toList(),
                    now, "postern (" + origin + ")", eightBit ? "8BITMIME" : "7BIT", utf8, content.length, now, false,
                    0, false, headers.tlsRequiredNo());
            in.commit(env);
            log.atInfo().addKeyValue("id", in.id()).addKeyValue("from", Untrusted.address(sender))
                    .addKeyValue("rcpts", recipients.size()).addKeyValue("size", content.length)
                    .addKeyValue("origin", origin).addKeyValue("tls-required", env.tlsRequiredNo() ? "no" : null)
                    .log("queued");
            audit(new MessageRecord(now, in.id(), messageId, sender, recipients, content.length, null, null, null,
                    null, null, false, env.tlsRequiredNo(), origin));
            enqueue(env);
            return in.id();
        }
    }

    /** A reply code followed by an enhanced status code of the same class: "550 5.1.1". */
    private static final Pattern REPLY_STATUS =
            Pattern.compile("^([245])\\d\\d[ -](([245])\\.\\d{1,3}\\.\\d{1,3})(?=\\s|$)");

    /**
     * The enhanced status code of a result, or {@code fallback}: of the remote reply in "host[ip]:port said: 550
     * 5.1.1 ..." text, else of our own "451 4.4.1 ..." text. Only the code right after the reply code counts, never
     * digits elsewhere (an IP address such as 10.4.4.7 in the text is not a status).
     */
    static String statusOf(String reply, String fallback) {
        int said = reply.indexOf(SAID);
        Matcher m = REPLY_STATUS.matcher(said >= 0 ? reply.substring(said + SAID.length()) : reply);
        return m.find() && m.group(1).equals(m.group(3)) ? m.group(2) : fallback;
    }

    /**
     * The DSN status of a recipient whose lifetime ran out: a security failure keeps its x.7.x detail as a permanent
     * 5.7.x (so the sender learns "TLS required by policy", RFC 3463); the partner's own last status (4.2.2 mailbox
     * full, 4.3.2) when the next hop said something; else 4.4.7 "delivery time expired".
     */
    static String expiredStatus(SmtpClient.RecipientResult last) {
        String s = dsnStatus(last, "4.4.7");
        if (s.startsWith("4.7.")) return "5" + s.substring(1);
        return last.remote() != null ? last.remote().status() : "4.4.7";
    }

    private static final String SAID = " said: ";

    /** The host name in "host[ip]:port said: ..." text, for the DSN's Remote-MTA; null for local reasons. */
    static String remoteOf(String reply) {
        int bracket = reply.indexOf('[');
        int space = reply.indexOf(' ');
        return bracket > 0 && (space < 0 || bracket < space) ? reply.substring(0, bracket) : null;
    }

    /**
     * The lookup form of a recipient's domain. Addresses are spooled with it already (Mailbox.address()); this
     * keeps envelopes from older versions right. Address literals, which have no such form, are lower-cased.
     */
    private static String domainOf(String address) {
        String domain = address.substring(address.lastIndexOf('@') + 1);
        String key = dev.postern.names.Domains.toAsciiOrNull(domain);
        return key != null ? key : domain.toLowerCase(Locale.ROOT);
    }

    /** Thrown out of an attempt that must not start because the gateway stops; nothing of it was done. */
    private static final class Stopped extends RuntimeException {
        Stopped() { super(null, null, false, false); }
    }

    /**
     * While stopping, an attempt that has delivered nothing yet ends untried ({@link Stopped}): its envelope stays as
     * it is on disk. One that delivered to some recipients goes on to record that, so a restart does not repeat them.
     */
    private void stopIfNothingDone(boolean nothingDone) {
        if (stopping && nothingDone) throw new Stopped();
    }

    /** What {@link #drain} saw: attempts finished while it waited, attempts still under way at its deadline. */
    public record Drained(int finished, int unfinished, int queued) {}

    /**
     * Stops starting attempts and waits until the ones under way have ended, or {@code deadline} has come. An
     * unfinished attempt is left to the stop: its envelope is still in the spool (active or deferred), so the next
     * start tries it again; at worst a recipient whose next hop had accepted the message just before gets it twice,
     * as after a crash (docs/architecture.md, "The spool").
     */
    public Drained drain(Instant deadline) {
        stopping = true;
        if (dispatcher != null) dispatcher.interrupt();
        while (!running.isEmpty() && Instant.now().isBefore(deadline)) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return new Drained(finishedWhileStopping.get(), running.size(), envelopes.size());
    }

    /**
     * A reloaded configuration's local domains, retry schedule and delay warning, for the attempts that start from
     * now on. Concurrency, per-destination limit and host name stay as the gateway started (they need a restart).
     */
    public void settings(Settings next) {
        Settings now = settings;
        settings = new Settings(now.hostname(), next.localDomains(), next.retry(), next.delayWarning(),
                now.concurrency(), now.perDestination());
    }

    @Override public void close() {
        closed = true;
        if (dispatcher != null) dispatcher.interrupt();
        client.close();
    }
}
