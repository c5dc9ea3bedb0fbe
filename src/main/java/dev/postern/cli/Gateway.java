package dev.postern.cli;

import dev.postern.admin.AdminServer;
import dev.postern.admin.AdminToken;
import dev.postern.admin.StoreAccess;
import dev.postern.audit.Audit;
import dev.postern.audit.Fanout;
import dev.postern.audit.AuditWriter;
import dev.postern.audit.ReopeningStore;
import dev.postern.config.Config;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.ReverseNames;
import dev.postern.files.DurableFiles;
import dev.postern.inbound.InboundServer;
import dev.postern.inbound.RecipientPolicy;
import dev.postern.inbound.Authentication;
import dev.postern.auth.AuthLimiter;
import dev.postern.auth.PasswordFile;
import java.time.Clock;
import dev.postern.local.MaildirDelivery;
import dev.postern.outbound.PeerFloors;
import dev.postern.outbound.RecipientProbe;
import dev.postern.peers.PeerLevels;
import dev.postern.outbound.Router;
import dev.postern.outbound.Scheduler;
import dev.postern.outbound.TlsPlanner;
import dev.postern.outbound.PolicyOverrides;
import dev.postern.outbound.SmtpClient;
import dev.postern.outbound.TlsPolicies;
import dev.postern.mtasts.MtaSts;
import dev.postern.mtasts.PolicyCache;
import dev.postern.mtasts.PolicyFetcher;
import dev.postern.mtasts.PolicyPublisher;
import dev.postern.mtasts.PolicySource;
import dev.postern.queue.RetrySchedule;
import dev.postern.recipients.VerificationCache;
import dev.postern.recipients.Verifier;
import dev.postern.queue.Spool;
import dev.postern.tlsrpt.TlsRptSender;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.ReloadingServerContext;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsProviders;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: the one place where the parts are built from a {@link Config} and wired together. Tests start
 * gateways in-process through {@link #start(Config)}; {@code postern serve} does the same.
 */
public final class Gateway implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    /** A gateway that cannot start; the message is one line for the administrator. */
    public static final class StartException extends Exception {
        StartException(String message, Throwable cause) { super(message, cause); }
    }

    /**
     * The data directories (real paths) locked by gateways in this JVM. Nothing in this JVM may open such a lock file
     * a second time: the lock is a POSIX record lock, which belongs to the process, so closing any other channel on
     * the file would silently release it.
     */
    private static final Set<Path> LOCKED_HERE = ConcurrentHashMap.newKeySet();

    /**
     * The configuration in force: the one holder every part that follows a reload reads per use (routes, TLS
     * policies, MTA-STS exceptions); the listeners and the scheduler get theirs handed on by {@link #reload}.
     */
    private volatile Config config;
    /** Where a reload reads the configuration from (serve: the file and options it was started with). */
    private volatile Loader loader;
    /** Kept for a reload, which makes recipient verification anew from them. */
    private Router router;
    private DnsResolver dns;
    private TlsPolicies policies;
    private PeerFloors floors;
    private TlsPlanner planner;
    /**
     * Where every part hands its audit records (sessions, messages, deliveries, administrative actions): the audit
     * writer made at boot, or the sink a test passed.
     */
    private Audit audit;
    /** The writer of the audit store; null when a test passed a sink of its own. */
    private AuditWriter auditWriter;
    private final List<Closeable> parts = new ArrayList<>();
    private Path lockedHere;
    private FileChannel lockChannel;
    private Spool spool;
    private Scheduler scheduler;
    private InboundServer inbound;
    private ControlServer control;
    /** Every record goes to the writer, then to the observers (metrics, alerts). */
    private Fanout fanout;
    private AdminServer admin;
    /** The parts' one reading connection to the audit store (the writer has its own). */
    private StoreAccess readers;
    /** TLS reports others send about our domains (mail to [tls_rpt] receive_address, POST to the admin server). */
    private dev.postern.tlsrpt.ReportReceiver tlsReports;
    /** The health probes ([probes]); started after the scheduler. */
    private dev.postern.probes.HealthProbes probes;
    private dev.postern.alerts.Alerts alerts;
    /** The listeners' certificates, reloaded when their files change (metrics read their expiry). */
    private ReloadingServerContext serverTls;

    private Gateway(Config config, Audit audit) {
        this.config = config;
        this.audit = audit;
        Path file = config.source();
        this.loader = () -> {
            if (file == null) {
                throw new dev.postern.config.ConfigException(List.of("(embedded default): the gateway was started "
                        + "without a config file; there is nothing to re-read"));
            }
            return dev.postern.config.ConfigLoader.load(file);
        };
    }

    /** Builds and starts everything; on failure, whatever was started is stopped again. */
    public static Gateway start(Config config) throws StartException {
        return start(config, null);
    }

    /** As {@link #start(Config)}, with the records going to {@code audit} (null: to the configured store). */
    public static Gateway start(Config config, Audit audit) throws StartException {
        Gateway g = new Gateway(config, audit);
        try (StartupWatchdog watchdog = new StartupWatchdog(StartupWatchdog.BOUND, config.dataDir())) {
            g.boot();
            return g;
        } catch (StartException e) {
            g.close();
            throw e;
        } catch (IOException | RuntimeException e) {
            g.close();
            throw new StartException("cannot start: " + e.getMessage(), e);
        }
    }

    /** What {@code [tls] provider} came to for the listeners ({@code auto} resolved at start). */
    private volatile Config.TlsProvider listenersProvider;

    private void boot() throws IOException, StartException {
        Path data = config.dataDir();
        DurableFiles.SYSTEM.createDirectories(data); // 0700 when we make it; an existing one keeps its mode
        lock(data);
        if (audit == null) startAuditWriter(data);
        // metrics and alerts watch the records as they are made (issue 16); the writer still gets each one first
        fanout = new Fanout(audit);
        audit = fanout;
        // Reloaded when the certificate files change: new sessions get the new certificate, open ones keep theirs.
        serverTls = serverContext().auditTo(audit);

        spool = Spool.open(data.resolve("queue"));
        parts.add(spool);
        List<Spool.Entry> recovered = spool.recover();
        // The downgrade memory: made before the parts that use it, so it is closed (and flushed) after them.
        Config.PeerMemory pm = config.peerMemory();
        PeerLevels peers = PeerLevels.open(data, pm.maxDomains(), pm.flushInterval());
        parts.add(peers);

        dns = dnsResolver(config.dns());
        Config.Delivery d = config.delivery();
        SmtpClient client = new SmtpClient(config.hostname(), d.connectTimeout(), d.commandTimeout(),
                d.dataTimeout(), audit);
        // [outbound_tls] and [routes] read from the holder per attempt: a reload applies to the next attempt
        PolicySource sts = mtaSts(data, dns);
        policies = new TlsPolicies(() -> config.outboundTls(), new PolicyOverrides(data, audit),
                sts, config.mtaSts().caFile());
        router = new Router(domain -> config.routeFor(domain), dns, d.smtpPort());
        floors = new PeerFloors(peers, pm);
        // [delivery] tls_provider: an instance choice like the listeners', shared by delivery and recipient probes
        planner = outboundPlanner(d.tlsProvider());
        log.info("outbound TLS provider: {}", d.tlsProvider().name().toLowerCase(java.util.Locale.ROOT));
        MaildirDelivery maildir = new MaildirDelivery(data.resolve("mail"), config.hostname());
        scheduler = new Scheduler(spool, router, dns, client, policies, maildir, schedulerSettings(config), audit,
                floors, planner);
        parts.add(scheduler);
        // one reading connection to the audit store for every part that asks it (admin API, reports, alerts)
        readers = new StoreAccess(() -> AuditDatabase.open(config));
        parts.add(readers::close);
        tlsReports = tlsReportReceiver();
        scheduler.observeLocalDeliveries(tlsReports);
        startAlerts(data);

        control = new ControlServer(data.resolve("control.sock"), spool, scheduler, audit,
                auditWriter == null ? () -> null : auditWriter::stats, peers);
        control.onReload(this::reload);
        probes = healthProbes(peers);
        parts.add(probes);
        control.onProbe(probes::probe);
        TlsRptSender tlsRpt = tlsRptSender(data, sts);
        control.start();
        parts.add(control);
        startAdmin(data, serverTls);

        Authentication auth = new Authentication(new PasswordFile.Watcher(PasswordFile.defaultPath(data)),
                new AuthLimiter(authLimits(config.inbound().auth()), Clock.systemUTC()),
                config.inbound().auth().failureDelay());
        RecipientPolicy recipients = recipientPolicy(config);
        inbound = new InboundServer(config, serverTls, spool, auth, scheduler::enqueue, recipients, audit,
                new ReverseNames(dns), peers);
        inbound.start();
        parts.add(inbound);
        publishPolicy(serverTls);
        startAcme(); // [acme]: the self-signed copy serves until the first certificate is issued
        // Deliveries start last: the recovered messages' attempts (many threads, fsyncs) must not compete with the
        // start-up path, which is done once the listeners are bound. Messages received meanwhile wait in the queue.
        scheduler.start(recovered);
        probes.start();
        log.info("started with {} queued message(s) recovered", recovered.size());
        if (config.watch().tlsRpt().send()) tlsRpt.start();
        // A reload (SIGHUP, postern reload) records an AdminRecord CONFIG_RELOAD: see reload().
    }

    /**
     * The admin server ({@code [admin]}): API, dashboard, metrics. Its routes are registered here, one group per
     * part. A default address that is taken (a second gateway on the machine) is a warning, not a failed start: the
     * admin server is for watching, and mail must not wait for it. A configured one that cannot bind fails the start.
     */
    private void startAdmin(Path data, ReloadingServerContext serverTls) throws IOException, StartException {
        Config.Admin a = config.watch().admin();
        if (a.listen() == null) return;
        AdminToken.Loaded token = AdminToken.loadOrCreate(data);
        if (token.created()) announce(token.value(), AdminToken.file(data));
        // re-read when the file changes: postern admin token --rotate applies to the next request
        dev.postern.files.WatchedFile<AdminToken> tokens = AdminToken.watch(data);
        StoreAccess store = readers;
        // HTTPS with the listeners' certificates, a renewed one served from the next connection as they do
        AdminServer server = new AdminServer(a.listen(), tokens::current, a.tls() ? serverTls : null,
                AdminServer.Limits.DEFAULT);
        // routes (issue 16): one line per part
        dev.postern.tlsrpt.ReportRoutes.register(server, tlsReports, store);
        dev.postern.probes.ProbeApi.register(server, probes, store);
        dev.postern.alerts.AlertsApi.register(server, alerts, store);
        dev.postern.metrics.Metrics.register(server, fanout, new dev.postern.metrics.Metrics.Sources(spool::census,
                this::auditStats, () -> serverTls.currentAll().stream().map(KeyMaterial::leaf).toList()), store);
        dev.postern.admin.DashboardApi.register(server, new dev.postern.admin.DashboardApi.Parts(store,
                () -> config, spool, new OverrideDesk(() -> config), TraceCommand::search)); // dashboard
        AdminApi.register(server, () -> config, control.queueAdmin(), store);
        try {
            server.start();
        } catch (IOException e) {
            if (!a.listen().equals(Config.Admin.DEFAULT.listen())) {
                throw new StartException("[admin] listen: " + e.getMessage(), e);
            }
            log.warn("{}: the gateway runs without it ([admin] listen sets another address)", e.getMessage());
            return;
        }
        admin = server;
        parts.add(server::close);
    }

    /** The TLS report receiver; it asks the store whether a report came before. */
    private dev.postern.tlsrpt.ReportReceiver tlsReportReceiver() {
        dev.postern.tlsrpt.ReportReceiver r = new dev.postern.tlsrpt.ReportReceiver(() -> config, audit,
                (org, id, domain) -> readers.ask(s -> s.tlsRptKnown(dev.postern.audit.TlsRptRecord.Direction.IN, org,
                        id, domain)), Clock.systemUTC());
        parts.add(r::close);
        return r;
    }

    /**
     * The health probes: delivery's own policies, memory, resolver and planner, so that a probe and a delivery cannot
     * disagree; the configuration read from the holder per probe.
     */
    private dev.postern.probes.HealthProbes healthProbes(PeerLevels peers) {
        var prober = new dev.postern.probes.TlsProber(new dev.postern.probes.TlsProber.Parts(() -> config,
                d -> policies.resolve(d, java.time.Instant.now()), floors::floor, dns, planner));
        return new dev.postern.probes.HealthProbes(() -> config, prober, dev.postern.probes.ProbeTargets.live(
                () -> config, peers::all, Duration.ofMinutes(1)), audit);
    }

    /** The health probes of this gateway. */
    public dev.postern.probes.HealthProbes probes() { return probes; }
    /**
     * The alert engine ({@code [alerts]}): watches the records through the fan-out, and once a minute the queue and the
     * certificates; alert mail goes through the scheduler. Stopped before the scheduler (parts close in reverse).
     */
    private void startAlerts(Path data) {
        String name = config.audit().gatewayName() != null ? config.audit().gatewayName() : config.hostname();
        Spool queue = spool;
        alerts = dev.postern.alerts.Alerts.start(new dev.postern.alerts.Alerts.Wiring(data, config.hostname(), name,
                () -> config.watch().alerts(), audit, scheduler::submit, () -> {
                    // file names only, as the metrics' gauges: queue ids are made when a message is received
                    Spool.Census c = queue.census();
                    java.time.Instant oldest = c.oldest().values().stream().map(dev.postern.queue.QueueIds::time)
                            .min(java.util.Comparator.naturalOrder()).orElse(null);
                    int size = c.counts().values().stream().mapToInt(Integer::intValue).sum();
                    return new dev.postern.alerts.Alerts.QueueFigures(size, oldest);
                }, this::ownCertificates, auditWriter == null ? null
                        : before -> readers.ask(store -> store.certificatesSeen(before))));
        fanout.observe(alerts);
        parts.add(alerts::close);
    }

    /** The certificate files the gateway serves: [tls] (or the generated ones) and [mta_sts.publish]'s own. */
    private List<Path> ownCertificates() {
        Config c = config;
        List<Path> out = new ArrayList<>();
        if (c.tls().acme().enabled()) {
            new dev.postern.acme.AcmeFiles(c.dataDir()).slots(c.tls().acme().keyType())
                    .forEach(s -> out.add(s.certificate()));
        } else if (c.tls().generated()) {
            for (Generated g : generatedPairs(c.dataDir())) out.add(g.certificate());
        } else {
            c.tls().pairs().forEach(p -> out.add(p.certificate()));
        }
        if (c.mtaSts().publish().certificate() != null) out.add(c.mtaSts().publish().certificate());
        return out;
    }

    /** The alert engine; null before the start. */
    public dev.postern.alerts.Alerts alerts() { return alerts; }

    /**
     * A token made now is shown once: on the console when serve runs on a terminal; otherwise only its file is
     * logged, as a token in the journal would be a secret in the logs.
     */
    private static void announce(String token, Path file) {
        java.io.Console console = System.console();
        if (console != null && console.isTerminal()) {
            System.out.println("Admin token (shown once; postern admin token prints it again): " + token);
            System.out.flush();
        }
        log.atInfo().addKeyValue("file", file).log("admin token made (postern admin token prints it)");
    }

    /**
     * The SMTP TLS report sender ({@code [tls_rpt]}; its daily thread is started after the scheduler, when
     * {@code send} is true), answering {@code postern tlsrpt send} on the control socket.
     */
    private TlsRptSender tlsRpt;

    /** The SMTP TLS report sender (for a test that reports the day under way, which the CLI refuses). */
    public TlsRptSender tlsRpt() { return tlsRpt; }

    private TlsRptSender tlsRptSender(Path data, PolicySource sts) {
        TlsRptSender s = new TlsRptSender(data, TlsRptSender.Settings.of(config.watch().tlsRpt(), config.hostname()),
                TlsRptSendCommand.groups(config), dns, dev.postern.tlsrpt.Aggregate.PolicyTexts.of(sts, dns),
                scheduler::submit, audit, TlsRptSender.httpClient(), Clock.systemUTC());
        parts.add(s);
        tlsRpt = s;
        control.onTlsRpt((day, dryRun) -> TlsRptSendCommand.answer(s, config.watch().tlsRpt().send(), day, dryRun));
        return s;
    }

    /** The admin server's port, -1 when there is none. */
    public int adminPort() { return admin == null ? -1 : admin.port(); }

    private static Scheduler.Settings schedulerSettings(Config c) {
        Config.Queue q = c.queue();
        return new Scheduler.Settings(c.hostname(), c.localDomains(),
                new RetrySchedule(q.retryFirst(), q.retryMax(), q.lifetime()), q.delayWarning(),
                c.delivery().concurrency(), c.delivery().perDestination());
    }

    /** Who exists in each local and relay domain under {@code c}, with next-hop verification where it asks. */
    private RecipientPolicy recipientPolicy(Config c) throws IOException {
        return RecipientPolicy.of(c.inbound().recipients(), verifier(c, router, dns, policies, floors, planner));
    }

    /** Reads the configuration again for {@link #reload}; its problems are the lines {@code config check} prints. */
    @FunctionalInterface
    interface Loader {
        Config load() throws dev.postern.config.ConfigException;
    }

    /** Where {@link #reload} reads the configuration (serve: the same file and options as at start). */
    void reloadFrom(Loader from) { this.loader = from; }

    /**
     * What a reload did: applied (with one line per change, and the keys that keep their value until a restart)
     * or refused (one line per problem; the running configuration stays).
     */
    record Reload(boolean applied, List<String> lines) {}

    /**
     * Re-reads the configuration and applies it without dropping a session: listeners added or removed, routes,
     * {@code [outbound_tls]}, partners, relay clients, recipients, limits, local and relay domains, the retry
     * schedule. Sessions and delivery attempts under way keep the configuration they started with. Keys that cannot
     * change live are logged as needing a restart and keep their value. A configuration that does not validate, or
     * a new listener that cannot be bound, is refused and nothing changes. Recorded in the audit as CONFIG_RELOAD.
     *
     * @param actor who asked: the control socket peer's user, or "SIGHUP"
     */
    synchronized Reload reload(String actor) {
        Config running = config;
        String file = running.source() == null ? "(embedded default)" : running.source().toString();
        Config next;
        try {
            next = loader.load();
        } catch (dev.postern.config.ConfigException e) {
            return refused(actor, file, e.problems());
        }
        ConfigChanges changes = ConfigChanges.between(running, next);
        List<String> lines = new ArrayList<>();
        if (!changes.live().isEmpty()) {
            Config applied = changes.applied();
            try {
                RecipientPolicy recipients = recipientPolicy(applied);
                lines.addAll(inbound.reconfigure(applied, recipients));
            } catch (IOException e) {
                return refused(actor, file, List.of(file + ": " + e.getMessage()));
            }
            config = applied;
            scheduler.settings(schedulerSettings(applied));
            // [log] format: the next line is in the new one (POSTERN_LOG_FORMAT, when set, still wins)
            if (!applied.log().equals(running.log()) && System.getenv(dev.postern.logging.LogEncoder.ENV) == null) {
                dev.postern.logging.LogEncoder.use(
                        dev.postern.logging.LogEncoder.Format.valueOf(applied.log().format().name()));
            }
        }
        String changed = changes.live().isEmpty() ? "no change applied"
                : "applied: " + String.join(", ", changes.live());
        lines.addFirst(changed);
        for (String key : changes.restart()) lines.add(key + " changed: needs a restart (keeps its running value)");
        log.info("config reload ({}) from {}: {}", actor, file, changed);
        for (String line : lines.subList(1, lines.size())) log.info("config reload: {}", line);
        audit.record(new dev.postern.audit.AdminRecord(java.time.Instant.now(), actor,
                dev.postern.audit.AdminRecord.Action.CONFIG_RELOAD, file, String.join("; ", lines)));
        return new Reload(true, List.copyOf(lines));
    }

    private Reload refused(String actor, String file, List<String> problems) {
        log.warn("config reload ({}) refused; the running configuration stays: {} problem(s)", actor, problems.size());
        for (String p : problems) log.warn("{}", p);
        audit.record(new dev.postern.audit.AdminRecord(java.time.Instant.now(), actor,
                dev.postern.audit.AdminRecord.Action.CONFIG_RELOAD, file, "refused: " + String.join("; ", problems)));
        return new Reload(false, problems);
    }

    /**
     * The audit writer over the configured store. The store is opened on a thread of its own, not on the start-up
     * path: a PostgreSQL that is down or slow must not keep the gateway from taking mail; its records wait in
     * data/audit/spill until it answers. The writer is the first part made, so it is closed last, after every part
     * that writes to it has stopped.
     */
    private void startAuditWriter(Path data) throws IOException {
        Config.Audit a = config.audit();
        ReopeningStore store = new ReopeningStore(() -> AuditDatabase.open(config));
        // Connected and migrated beside the start-up, not on it: a store that is slow to answer delays nothing.
        Thread.ofVirtual().name("audit-open").start(() -> {
            try {
                store.open();
            } catch (dev.postern.audit.AuditStore.AuditStoreException e) {
                log.warn("audit: {}; records wait in data/audit/spill until it answers", e.getMessage());
            }
        });
        auditWriter = AuditWriter.start(store, data.resolve("audit").resolve("spill"),
                AuditWriter.Options.of(a.queueSize(), a.spillMax(), a.retention()));
        parts.add(auditWriter::close);
        audit = auditWriter;
    }

    /**
     * MTA-STS with its cache in data/mta-sts and its refresher running, or none when {@code [mta_sts]} says so;
     * domains with a static route never consult it.
     */
    private PolicySource mtaSts(Path data, DnsResolver dns) throws IOException {
        Config.MtaSts m = config.mtaSts();
        if (!m.enabled()) return PolicySource.NONE;
        PolicyFetcher fetcher;
        try {
            fetcher = new PolicyFetcher(dns, new PolicyFetcher.Settings(m.caFile(), m.connectTimeout(),
                    m.fetchTimeout(), m.httpsPort()));
        } catch (TlsConfigException e) {
            throw new IOException(e.getMessage(), e);
        }
        MtaSts sts = new MtaSts(dns, fetcher, PolicyCache.open(data.resolve("mta-sts"), m.maxDomains()),
                Clock.systemUTC(), m.maxDomains());
        sts.start(m.refreshInterval());
        parts.add(sts);
        return sts.except(d -> config.routeFor(d).isPresent()); // statically routed: not delivered by MX
    }

    private static AuthLimiter.Limits authLimits(Config.AuthLimits a) {
        return new AuthLimiter.Limits(a.maxFailures(), a.window(), a.lockout(), a.maxLockout(),
                a.networkMaxFailures(), a.networkLockout(), a.ipv4Prefix(), a.ipv6Prefix());
    }

    /**
     * The one resolver of the gateway, from {@code [dns]}. Unless DNSSEC is off, a virtual thread checks that the
     * trust anchors' keys validate through the configured servers (or come authenticated from the trusted one), and
     * says so once if they do not: a dead or DNSSEC-stripping resolver must not delay the start, but must not go
     * unnoticed either.
     */
    private static DnsResolver dnsResolver(Config.Dns c) {
        DnsResolver dns = resolver(c);
        if (dns.validation() != DnsResolver.Validation.OFF) {
            Thread.ofVirtual().name("dnssec-anchor-check")
                    .start(() -> dns.trustAnchorProblem().ifPresent(problem -> log.warn("{}", problem)));
        }
        return dns;
    }

    /** A resolver built from {@code [dns]} as the gateway builds its own (commands that ask DNS use this). */
    static DnsResolver resolver(Config.Dns c) {
        DnsResolver.Validation validation = switch (c.dnssec()) {
            case VALIDATE -> DnsResolver.Validation.VALIDATE;
            case TRUST_AD -> DnsResolver.Validation.TRUST_AD;
            case OFF -> DnsResolver.Validation.OFF;
        };
        return new DnsResolver(new DnsResolver.Settings(c.servers(), c.timeout(), validation, c.trustAnchorFile()));
    }

    /** Next-hop verification of recipients, cached; null when no domain asks for it. */
    private Verifier verifier(Config config, Router router, DnsResolver dns, TlsPolicies policies, PeerFloors floors,
                              TlsPlanner planner) {
        if (config.inbound().recipients().values().stream().noneMatch(Config.DomainRecipients::verify)) return null;
        Config.RecipientVerification v = config.inbound().verification();
        return new VerificationCache(new RecipientProbe(router, dns, policies, config.hostname(), v.timeout(), audit,
                floors, planner),
                v.positiveTtl(), v.negativeTtl(), v.cacheSize(), v.maxProbes(), Clock.systemUTC());
    }

    /** The TLS plans of delivery and probes, their contexts from {@code [delivery] tls_provider}'s implementation. */
    private static TlsPlanner outboundPlanner(Config.TlsProvider choice) throws StartException {
        try {
            return new TlsPlanner(TlsProviders.of(choice));
        } catch (TlsConfigException e) {
            throw new StartException("[delivery] tls_provider = \"conscrypt\": Conscrypt cannot be used on this "
                    + "machine: " + e.getCause(), e);
        }
    }

    /** The data directory is owned by one gateway at a time. */
    private void lock(Path data) throws IOException, StartException {
        Path real = data.toRealPath();
        if (!LOCKED_HERE.add(real)) {
            throw new StartException("another Postern gateway is running with data directory " + data, null);
        }
        lockedHere = real;
        lockChannel = DurableFiles.SYSTEM.openLockFile(data.resolve("postern.lock"));
        FileLock lock = lockChannel.tryLock();
        if (lock == null) {
            throw new StartException("another Postern gateway is running with data directory " + data, null);
        }
    }

    /**
     * Serves our MTA-STS policy file when {@code [mta_sts.publish] listen} is set, with its own certificate or the
     * [tls] ones (reloaded when their files change, as the SMTP listeners' are), the same file {@code postern mta-sts
     * policy} prints.
     */
    private void publishPolicy(ReloadingServerContext serverTls) throws IOException, StartException {
        Config.Publish p = config.mtaSts().publish();
        if (p.listen() == null) return;
        List<String> domains = MtaStsCommand.Publish.domains(config);
        if (domains.isEmpty()) {
            throw new StartException("[mta_sts.publish] listen is set but no local or relay domain has a dot: "
                    + "there is no mta-sts.DOMAIN to serve", null);
        }
        ReloadingServerContext tls;
        try {
            tls = p.certificate() == null ? serverTls : ReloadingServerContext.load(
                    List.of(new ReloadingServerContext.Pair(p.certificate(), p.key())));
        } catch (TlsConfigException e) {
            throw new StartException("[mta_sts.publish]: " + e.getMessage(), e);
        }
        PolicyPublisher publisher;
        try {
            publisher = new PolicyPublisher(p.listen(), tls, MtaStsCommand.Publish.policy(p, config.hostname()),
                    domains);
        } catch (IOException e) {
            throw new StartException("[mta_sts.publish] listen: cannot listen on " + p.listen().getHostString() + ":"
                    + p.listen().getPort() + ": " + e.getMessage(), e);
        }
        publisher.start();
        parts.add(publisher);
        InetSocketAddress at = publisher.address();
        String host = at.getAddress().getHostAddress();
        log.info("MTA-STS policy served on https://{}:{}{} for {}", host.indexOf(':') >= 0 ? "[" + host + "]" : host,
                at.getPort(), PolicyPublisher.PATH, String.join(", ", publisher.hosts()));
    }

    /**
     * The configured certificates, or the self-signed ones made on first start and kept under data/tls (see
     * {@link #generatedPairs}); all served together and watched, each reloaded when its files change.
     */
    private ReloadingServerContext serverContext() throws IOException, StartException {
        try {
            Config.Tls tls = config.tls();
            List<ReloadingServerContext.Pair> pairs = tls.acme().enabled() ? acmePairs()
                    : tls.generated() ? generate(config)
                    : tls.pairs().stream().map(p -> new ReloadingServerContext.Pair(p.certificate(), p.key())).toList();
            Config.TlsProvider provider = provider(tls.provider());
            listenersProvider = provider;
            if (provider == Config.TlsProvider.CONSCRYPT && pairs.size() > 1) {
                // Conscrypt 2.9 sets one certificate per connection (the config allows one only): of the generated
                // ones it serves the first, EC P-256.
                log.info("[tls] provider = \"conscrypt\" serves one certificate: {}", pairs.getFirst().certificate());
                pairs = pairs.subList(0, 1);
            }
            // An instance choice: this gateway's contexts use the provider, nothing is installed JVM-wide.
            return ReloadingServerContext.load(pairs, TlsProviders.of(provider));
        } catch (TlsConfigException e) {
            throw new StartException(e.getMessage(), e);
        }
    }

    /** The TLS provider the listeners use once started ({@code auto} resolved), for tests and the start-up line. */
    Config.TlsProvider listenersProvider() { return listenersProvider; }

    /**
     * The provider the listeners use: {@code auto} (the file's default) is Conscrypt, measured cheaper per handshake
     * and per relayed message on the bench (docs/performance.md), where it serves this configuration as the JDK would
     * and its native library loads here; else the JDK. The choice and its reason are logged.
     */
    private Config.TlsProvider provider(Config.TlsProvider configured) {
        if (configured != Config.TlsProvider.AUTO) return configured;
        String jdkBecause = Config.TlsProvider.autoChoice(config);
        if (jdkBecause == null) {
            try {
                TlsProviders.conscrypt();
                log.info("[tls] provider = \"auto\": conscrypt");
                return Config.TlsProvider.CONSCRYPT;
            } catch (TlsConfigException e) {
                jdkBecause = "Conscrypt cannot be loaded here (" + e.getCause() + ")";
            }
        }
        log.info("[tls] provider = \"auto\": jdk, because {}", jdkBecause);
        return Config.TlsProvider.JDK;
    }

    /** A certificate Postern generates when none is configured: its files under data/tls and its key type. */
    record Generated(String name, Path certificate, Path key, Certificates.KeyType keyType) {}

    /**
     * The self-signed certificates a gateway without [tls] certificates makes: EC P-256 first (the name it has always
     * had, so existing data directories keep their certificate), then RSA 2048 for clients that cannot use ECDSA.
     */
    static List<Generated> generatedPairs(Path dataDir) {
        Path dir = dataDir.resolve("tls");
        return List.of(
                new Generated("EC P-256", dir.resolve("self-signed.crt"), dir.resolve("self-signed.key"),
                        Certificates.KeyType.EC_P256),
                new Generated("RSA 2048", dir.resolve("self-signed-rsa.crt"), dir.resolve("self-signed-rsa.key"),
                        Certificates.KeyType.RSA_2048));
    }

    /**
     * Validity of a generated certificate: within the CA/Browser Forum's 398 days (testssl.sh rates longer ones
     * MEDIUM); it is made anew at a start within 30 days of its end.
     */
    static final Duration GENERATED_VALIDITY = Duration.ofDays(397);

    /** True when a generated certificate ends within 30 days (or cannot be read: then it is made anew too). */
    private static boolean expiresSoon(Path certificate) {
        try {
            java.time.Instant end = Pem.readCertificates(certificate).getFirst().getNotAfter().toInstant();
            return end.isBefore(java.time.Instant.now().plus(Duration.ofDays(30)));
        } catch (dev.postern.tls.TlsConfigException | RuntimeException e) {
            return true;
        }
    }

    /** Makes each generated certificate that is missing or about to expire; reuses the others. */
    private static List<ReloadingServerContext.Pair> generate(Config config) throws IOException {
        List<ReloadingServerContext.Pair> pairs = new ArrayList<>();
        for (Generated g : generatedPairs(config.dataDir())) {
            if (!Files.exists(g.certificate()) || !Files.exists(g.key()) || expiresSoon(g.certificate())) {
                KeyMaterial made = Certificates.selfSigned(List.of(config.hostname()), g.keyType(),
                        GENERATED_VALIDITY);
                Pem.writePrivate(made, g.certificate(), g.key()); // creates data/tls (0700) durably
                log.info("generated a self-signed {} certificate for {} in {}", g.name(), config.hostname(),
                        g.certificate());
            }
            pairs.add(new ReloadingServerContext.Pair(g.certificate(), g.key()));
        }
        return pairs;
    }

    /** The ACME renewer ({@code [acme] enabled}); null otherwise. Started once the listeners serve. */
    private dev.postern.acme.AcmeRenewer acme;

    /** The ACME slots' files, a self-signed copy in each until the first issuance (docs/certificates.md). */
    private List<ReloadingServerContext.Pair> acmePairs() throws IOException {
        acme = new dev.postern.acme.AcmeRenewer(config.tls().acme(), dev.postern.acme.AcmeRenewer.names(config),
                new dev.postern.acme.AcmeFiles(config.dataDir()), Clock.systemUTC());
        return acme.prepare().stream().map(s -> new ReloadingServerContext.Pair(s.certificate(), s.key())).toList();
    }

    /** Starts the ACME renewer, answering {@code postern cert acme} on the control socket. */
    private void startAcme() {
        if (acme == null) return;
        acme.start();
        parts.add(acme::close);
        control.onAcme((what, actor) -> CertAcmeCommand.answer(acme, what, actor));
    }

    /** The ACME renewer; null when {@code [acme]} is off (for tests). */
    public dev.postern.acme.AcmeRenewer acme() { return acme; }

    /** True when a gateway in this JVM holds {@code data}'s lock (then its lock file must be left alone). */
    static boolean runsInThisJvm(Path data) {
        try {
            return LOCKED_HERE.contains(data.toRealPath());
        } catch (IOException e) {
            return false; // no such directory: no gateway
        }
    }

    /**
     * Whether a gateway holds {@code data}'s lock, in this JVM or in another process (probed with a lock attempt that
     * is released at once; never in this JVM, where closing the probe would release the gateway's own lock).
     */
    static boolean runs(Path data) throws IOException {
        if (runsInThisJvm(data)) return true;
        Path lockFile = data.resolve("postern.lock");
        if (!Files.exists(lockFile)) return false;
        try (FileChannel ch = DurableFiles.SYSTEM.openLockFile(lockFile)) {
            FileLock lock = ch.tryLock();
            if (lock == null) return true;
            lock.release();
            return false;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            return true; // held in this JVM
        }
    }

    public Config config() { return config; }

    /** Where each listener is bound, in config order (useful when a test configured port 0). */
    public List<InetSocketAddress> boundAddresses() { return inbound.boundAddresses(); }

    public Spool spool() { return spool; }

    public Scheduler scheduler() { return scheduler; }

    /** The audit writer's figures now; null when a test passed a sink of its own. */
    public AuditWriter.Stats auditStats() { return auditWriter == null ? null : auditWriter.stats(); }

    /**
     * The orderly stop of {@code serve} (SIGTERM, SIGINT): the listeners close first; idle sessions are answered
     * 421 and closed; a DATA in progress and the delivery attempts under way get {@code [limits] shutdown_grace}
     * to finish (no new attempt starts; an unfinished one stays queued for the next start); then everything closes.
     * One log line at the start and one at the end, with the counts.
     */
    public void shutdown() {
        long started = System.nanoTime();
        Duration grace = config.limits().shutdownGrace();
        java.time.Instant deadline = java.time.Instant.now().plus(grace);
        log.info("shutting down: listeners closed, idle sessions answered 421; up to {} for DATA in progress and "
                + "deliveries under way", dev.postern.config.Durations.format(grace));
        java.util.concurrent.CompletableFuture<Scheduler.Drained> deliveries = new java.util.concurrent.CompletableFuture<>();
        Thread.ofVirtual().name("drain-deliveries").start(() -> deliveries.complete(scheduler.drain(deadline)));
        InboundServer.Drained sessions = inbound.drain(deadline);
        Scheduler.Drained d = deliveries.join();
        close();
        log.info("shut down in {} ms: sessions {} closed idle, {} busy closed at their next command, {} waited for in "
                        + "DATA, {} cut at the end of the grace; deliveries {} finished, {} unfinished left queued, {} "
                        + "message(s) queued for the next start",
                (System.nanoTime() - started) / 1_000_000, sessions.idle(), sessions.busy(), sessions.inData(),
                sessions.cut(), d.finished(), d.unfinished(), d.queued());
    }

    /** Stops listening first, then delivery, then the spool; releases the data directory. */
    @Override public void close() {
        for (int i = parts.size() - 1; i >= 0; i--) {
            try {
                parts.get(i).close();
            } catch (IOException | RuntimeException e) {
                log.warn("while stopping: {}", e.toString());
            }
        }
        parts.clear();
        if (lockChannel != null) {
            try {
                lockChannel.close();
            } catch (IOException ignored) {
                // the lock goes with the process anyway
            }
        }
        if (lockedHere != null) LOCKED_HERE.remove(lockedHere);
    }
}
