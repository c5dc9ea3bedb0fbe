package dev.postern.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The whole gateway configuration, validated. Built by {@link ConfigLoader} from a TOML file or from the embedded
 * default; immutable. Domain names in sets and maps are lower-case.
 *
 * @param source        the file it came from, or null for the embedded default
 * @param hostname      this gateway's name (banner, EHLO, Received, bounces)
 * @param dataDir       spool, Maildirs, generated certificate, control socket
 * @param localDomains  domains delivered to Maildir here
 * @param relayDomains  domains the MX role accepts and relays onward (Postfix's relay_domains)
 * @param relayNetworks client networks allowed to relay anywhere through submission listeners
 * @param routes        static routes by domain, taking precedence over MX lookup (Postfix's transport map)
 * @param outboundTls   TLS policy for delivery: a default and per-destination-domain entries
 * @param peerMemory    the downgrade memory ({@code [peer_memory]}): what to do about a session below the TLS level
 *                      a domain showed before
 */
public record Config(Path source, String hostname, Path dataDir, List<Listener> listeners, Set<String> localDomains,
                     Set<String> relayDomains, List<Network> relayNetworks, Tls tls, Limits limits, Queue queue,
                     Delivery delivery, Dns dns, Map<String, Route> routes, OutboundTls outboundTls,
                     Inbound inbound, Audit audit, MtaSts mtaSts, PeerMemory peerMemory, Log log, Watch watch) {

    public Config {
        listeners = List.copyOf(listeners);
        localDomains = Set.copyOf(localDomains);
        relayDomains = Set.copyOf(relayDomains);
        relayNetworks = List.copyOf(relayNetworks);
        routes = Map.copyOf(routes);
        if (outboundTls == null) outboundTls = OutboundTls.OPPORTUNISTIC;
        if (inbound == null) inbound = Inbound.NONE;
        if (audit == null) audit = Audit.DEFAULT;
        if (mtaSts == null) mtaSts = MtaSts.DEFAULT;
        if (peerMemory == null) peerMemory = PeerMemory.DEFAULT;
        if (log == null) log = Log.DEFAULT;
        if (watch == null) watch = Watch.DEFAULT;
    }

    /** A config with the default {@code [admin]}, {@code [alerts]}, {@code [probes]} and {@code [tls_rpt]}. */
    public Config(Path source, String hostname, Path dataDir, List<Listener> listeners, Set<String> localDomains,
                  Set<String> relayDomains, List<Network> relayNetworks, Tls tls, Limits limits, Queue queue,
                  Delivery delivery, Dns dns, Map<String, Route> routes, OutboundTls outboundTls, Inbound inbound,
                  Audit audit, MtaSts mtaSts, PeerMemory peerMemory, Log log) {
        this(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits, queue,
                delivery, dns, routes, outboundTls, inbound, audit, mtaSts, peerMemory, log, Watch.DEFAULT);
    }

    /** This config with {@code watch} instead of its own. */
    public Config withWatch(Watch watch) {
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits,
                queue, delivery, dns, routes, outboundTls, inbound, audit, mtaSts, peerMemory, log, watch);
    }

    /**
     * Watching the gateway: {@code [admin]} (the admin server: API, dashboard, metrics), {@code [alerts]},
     * {@code [probes]} and {@code [tls_rpt]}. See docs/monitoring.md.
     */
    public record Watch(Admin admin, Alerts alerts, Probes probes, TlsRpt tlsRpt) {
        public static final Watch DEFAULT = new Watch(Admin.DEFAULT, Alerts.DEFAULT, Probes.DEFAULT, TlsRpt.DEFAULT);

        public Watch {
            if (admin == null) admin = Admin.DEFAULT;
            if (alerts == null) alerts = Alerts.DEFAULT;
            if (probes == null) probes = Probes.DEFAULT;
            if (tlsRpt == null) tlsRpt = TlsRpt.DEFAULT;
        }
    }

    /**
     * {@code [admin]}: the HTTP admin server (JSON API, dashboard, {@code /metrics}).
     *
     * @param listen where it listens; null: no admin server ({@code listen = ""})
     * @param tls    HTTPS with the gateway's [tls] certificate instead of plain HTTP
     */
    public record Admin(InetSocketAddress listen, boolean tls) {
        public static final Admin DEFAULT = new Admin(new InetSocketAddress(
                java.net.InetAddress.getLoopbackAddress(), 8025), false);
    }

    /**
     * {@code [alerts]}: when to raise an alert and where to send it. Every alert goes to the audit store and the log
     * whatever the channels.
     *
     * @param webhook            an http: or https: URL that gets each alert as a JSON POST; null: none
     * @param mailTo             an address that gets each alert as mail through this gateway's queue; null: none
     * @param certificateWarning a certificate (own or a partner's seen on the wire) ending within this is an alert
     * @param queueSize          more queued messages than this is an alert
     * @param queueAge           an oldest queued message older than this is an alert
     */
    public record Alerts(java.net.URI webhook, String mailTo, Duration certificateWarning, int queueSize,
                         Duration queueAge) {
        public static final Alerts DEFAULT = new Alerts(null, null, Duration.ofDays(21), 10_000, Duration.ofHours(4));
    }

    /**
     * {@code [probes]}: health probes of the domains with an enforced, DANE or MTA-STS policy, and of {@code domains}.
     *
     * @param enabled  whether the periodic probes run ({@code postern probe} works either way)
     * @param interval how often each domain is probed (each run jittered by up to a tenth of it)
     * @param timeout  the most one probe of one domain may take, all hosts together
     * @param domains  more domains to probe, lookup form
     */
    public record Probes(boolean enabled, Duration interval, Duration timeout, List<String> domains) {
        public static final Probes DEFAULT = new Probes(true, Duration.ofHours(1), Duration.ofSeconds(60), List.of());

        public Probes {
            domains = List.copyOf(domains);
        }
    }

    /**
     * {@code [tls_rpt]}: SMTP TLS reporting (RFC 8460).
     *
     * @param send           whether daily reports are sent to the domains that ask for them ({@code _smtp._tls} TXT)
     * @param organization   the report's {@code organization-name}; null: the hostname
     * @param contact        the report's {@code contact-info}; null: postmaster@hostname
     * @param from           the envelope and header sender of reports sent by mail; null: postmaster@hostname
     * @param receiveAddress mail to this address is read as reports about our domains (lookup form domain); null: none
     * @param maxReportSize  the largest report accepted, uncompressed, in bytes (mail or POST); larger is refused
     */
    public record TlsRpt(boolean send, String organization, String contact, String from, String receiveAddress,
                         long maxReportSize) {
        public static final TlsRpt DEFAULT = new TlsRpt(false, null, null, null, null, 5L << 20);
    }

    /** A config with the default {@code [log]} settings. */
    public Config(Path source, String hostname, Path dataDir, List<Listener> listeners, Set<String> localDomains,
                  Set<String> relayDomains, List<Network> relayNetworks, Tls tls, Limits limits, Queue queue,
                  Delivery delivery, Dns dns, Map<String, Route> routes, OutboundTls outboundTls, Inbound inbound,
                  Audit audit, MtaSts mtaSts, PeerMemory peerMemory) {
        this(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits, queue,
                delivery, dns, routes, outboundTls, inbound, audit, mtaSts, peerMemory, Log.DEFAULT, Watch.DEFAULT);
    }

    /** {@code [log]}: how log lines are written (the level is {@code POSTERN_LOG_LEVEL}'s). */
    public record Log(LogFormat format) {
        public static final Log DEFAULT = new Log(LogFormat.LOGFMT);
    }

    /** One line per event: logfmt ({@code key=value}) or one JSON object. */
    public enum LogFormat {
        LOGFMT, JSON;

        public String word() { return name().toLowerCase(Locale.ROOT); }
    }

    /** A config with the default MTA-STS settings and downgrade memory. */
    public Config(Path source, String hostname, Path dataDir, List<Listener> listeners, Set<String> localDomains,
                  Set<String> relayDomains, List<Network> relayNetworks, Tls tls, Limits limits, Queue queue,
                  Delivery delivery, Dns dns, Map<String, Route> routes, OutboundTls outboundTls, Inbound inbound,
                  Audit audit) {
        this(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits, queue,
                delivery, dns, routes, outboundTls, inbound, audit, MtaSts.DEFAULT, PeerMemory.DEFAULT);
    }

    /**
     * {@code [mta_sts]}: MTA-STS (RFC 8461) for outbound mail.
     *
     * @param caFile          trusted besides the system store, for the policy fetch and for MX hosts under an MTA-STS
     *                        policy (private PKI, tests); null: the system store only
     * @param connectTimeout  per address of the policy host
     * @param fetchTimeout    the whole policy fetch; the first delivery to a domain waits at most this long
     * @param httpsPort       where policy hosts are asked: 443 (another port only for tests)
     * @param maxDomains      most policies cached (the one expiring first goes)
     * @param refreshInterval how often cached policies are checked for a new TXT id or near expiry
     */
    public record MtaSts(boolean enabled, Path caFile, Duration connectTimeout, Duration fetchTimeout, int httpsPort,
                         int maxDomains, Duration refreshInterval, Publish publish) {
        public static final MtaSts DEFAULT = new MtaSts(true, null, Duration.ofSeconds(10), Duration.ofSeconds(60),
                443, 10_000, Duration.ofHours(1));

        public MtaSts {
            if (publish == null) publish = Publish.DEFAULT;
        }

        /** Without {@code [mta_sts.publish]}: the policy file is not served. */
        public MtaSts(boolean enabled, Path caFile, Duration connectTimeout, Duration fetchTimeout, int httpsPort,
                      int maxDomains, Duration refreshInterval) {
            this(enabled, caFile, connectTimeout, fetchTimeout, httpsPort, maxDomains, refreshInterval, null);
        }
    }

    /**
     * {@code [mta_sts.publish]}: the MTA-STS policy this gateway publishes for its own domains ({@code postern mta-sts
     * policy} prints it) and where it is served over HTTPS.
     *
     * @param listen      where the policy file is served; null: not served
     * @param certificate with {@code key}: the certificate served there; null: the [tls] ones
     * @param mode        "enforce", "testing" or "none"
     * @param mx          host names or "*.domain" patterns, lookup form; empty: the hostname
     */
    public record Publish(InetSocketAddress listen, Path certificate, Path key, String mode, Duration maxAge,
                          List<String> mx) {
        public static final Publish DEFAULT = new Publish(null, null, null, "testing", Duration.ofDays(7), List.of());

        public Publish {
            mx = List.copyOf(mx);
            if ((certificate == null) != (key == null)) throw new IllegalArgumentException("certificate and key");
        }
    }

    /** The same config with other MTA-STS settings. */
    public Config withMtaSts(MtaSts newMtaSts) {
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits,
                queue, delivery, dns, routes, outboundTls, inbound, audit, newMtaSts, peerMemory, log, watch);
    }

    /**
     * {@code [peer_memory]}: the downgrade memory. Per domain, Postern remembers the highest TLS level seen with it
     * (plain, encrypted, verified, dane) in each direction; a later session below it is refused, flagged or let be.
     *
     * @param outbound    delivery to a domain below its remembered level: refuse (defer, 4.7.10), flag (deliver, log
     *                    and audit a downgrade alert) or off
     * @param inbound     mail whose MAIL FROM domain was seen at a higher level: refuse at MAIL FROM, flag, or off
     * @param domains     per destination domain ({@code [outbound_tls."example.com"] memory = "off"}), exact or
     *                    ".parent" keys as for policies; overrides {@code outbound}
     * @param maxDomains  most domains remembered; past it, the one seen longest ago is forgotten
     * @param flushInterval how often "last seen" times are written (a rise is written at once)
     */
    public record PeerMemory(MemoryMode outbound, MemoryMode inbound, Map<String, MemoryMode> domains, int maxDomains,
                             Duration flushInterval) {
        public static final PeerMemory DEFAULT = new PeerMemory(MemoryMode.REFUSE, MemoryMode.FLAG, Map.of(),
                100_000, Duration.ofMinutes(1));

        public PeerMemory {
            domains = Map.copyOf(domains);
        }

        /** The outbound mode for a destination domain (lookup form). */
        public MemoryMode outboundFor(String domain) {
            return DomainKeys.lookup(domains, domain).map(Map.Entry::getValue).orElse(outbound);
        }

        public PeerMemory withModes(MemoryMode newOutbound, MemoryMode newInbound) {
            return new PeerMemory(newOutbound, newInbound, domains, maxDomains, flushInterval);
        }
    }

    /** What the downgrade memory does about a session below a domain's remembered level. */
    public enum MemoryMode {
        REFUSE, FLAG, OFF;

        public String word() { return name().toLowerCase(Locale.ROOT); }
    }

    /** The same config with another downgrade memory. */
    public Config withPeerMemory(PeerMemory newPeerMemory) {
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits,
                queue, delivery, dns, routes, outboundTls, inbound, audit, mtaSts, newPeerMemory, log, watch);
    }

    /** A config with the default audit store (SQLite in the data directory). */
    public Config(Path source, String hostname, Path dataDir, List<Listener> listeners, Set<String> localDomains,
                  Set<String> relayDomains, List<Network> relayNetworks, Tls tls, Limits limits, Queue queue,
                  Delivery delivery, Dns dns, Map<String, Route> routes, OutboundTls outboundTls, Inbound inbound) {
        this(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits, queue,
                delivery, dns, routes, outboundTls, inbound, Audit.DEFAULT);
    }

    /**
     * The audit store ([audit]).
     *
     * @param url          JDBC URL; null: SQLite at data/audit/audit.db
     * @param user         database user (PostgreSQL), null when the URL or the driver's defaults say
     * @param passwordFile a file holding the database password on its first line (0600), null when none
     * @param gatewayName  the name each record carries (several gateways may share one PostgreSQL); null: hostname
     * @param retention    records older than this are pruned
     * @param queueSize    records held in memory before they go to the spill file
     * @param spillMax     the spill file's largest size in bytes; past it records are dropped (and counted)
     */
    public record Audit(String url, String user, Path passwordFile, String gatewayName, Duration retention,
                        int queueSize, long spillMax) {
        public static final Audit DEFAULT = new Audit(null, null, null, null, Duration.ofDays(400), 10_000,
                1L << 30);
    }

    /** Whether a listener asks clients for a certificate during the TLS handshake. */
    public enum ClientCertificates { NONE, REQUEST, REQUIRE }

    /**
     * Inbound TLS of one listener.
     *
     * @param requireTls        530 5.7.0 to MAIL until STARTTLS (always so for submission roles)
     * @param clientCertificate none: never ask; request: ask, mail without one is fine; require: no mail without a
     *                          certificate that chains to {@code clientCaFile}
     * @param clientCaFile      trust anchors for client certificates (PEM bundle); null: the system store
     * @param minProtocol       lowest TLS protocol accepted at all ("TLSv1.2" or "TLSv1.3")
     * @param ciphers           allowed suites; empty: Postern's safe default set
     * @param minCipherBits     fewest symmetric key bits accepted (256 = AES-256 or ChaCha20 only)
     */
    public record ListenerTls(boolean requireTls, ClientCertificates clientCertificate, Path clientCaFile,
                              String minProtocol, List<String> ciphers, int minCipherBits) {
        public static final ListenerTls DEFAULT = new ListenerTls(false, ClientCertificates.NONE, null, "TLSv1.2",
                List.of(), 0);

        public ListenerTls {
            ciphers = List.copyOf(ciphers);
        }
    }

    /**
     * What a partner gateway must show when it sends us mail. A session belongs to a partner when the envelope
     * sender's domain is one of {@code senderDomains}, the client's address is in {@code networks}, or its verified
     * client certificate matches {@code clientNames}.
     *
     * @param requireClientCertificate no mail without a client certificate that chains to {@code caFile} (else the
     *                                 listener's client CA) and, when {@code clientNames} is not empty, matches one
     */
    public record Partner(String name, List<String> senderDomains, List<Network> networks, List<String> clientNames,
                          boolean requireTls, boolean requireClientCertificate, Path caFile, String minProtocol,
                          int minCipherBits) {
        public Partner {
            senderDomains = List.copyOf(senderDomains);
            networks = List.copyOf(networks);
            clientNames = List.copyOf(clientNames);
        }
    }

    /**
     * A client certificate that may relay through submission listeners without a password: either a pinned SHA-256
     * fingerprint (of the certificate or its public key), or a CA plus name patterns the certificate must match.
     */
    public record RelayClient(List<String> fingerprints, Path caFile, List<String> names) {
        public RelayClient {
            fingerprints = fingerprints.stream().map(Config::normalisePin).toList();
            names = List.copyOf(names);
        }
    }

    /**
     * Inbound policy beyond listeners: partners, certificate-authorised relay clients, recipient validation
     * ({@code [recipients."domain"]}, {@code [recipient_verification]}) and the AUTH limiter ({@code [auth]}).
     *
     * @param recipients by domain (A-label form), for local and relay domains; a domain without an entry accepts
     *                   every local part
     */
    public record Inbound(List<Partner> partners, List<RelayClient> relayClients,
                          Map<String, DomainRecipients> recipients, RecipientVerification verification,
                          AuthLimits auth) {
        public static final Inbound NONE = new Inbound(List.of(), List.of());

        public Inbound {
            partners = List.copyOf(partners);
            relayClients = List.copyOf(relayClients);
            recipients = Map.copyOf(recipients);
            if (verification == null) verification = RecipientVerification.DEFAULT;
            if (auth == null) auth = AuthLimits.DEFAULT;
        }

        /** Partners and relay clients; every domain catch-all, default verification and AUTH limits. */
        public Inbound(List<Partner> partners, List<RelayClient> relayClients) {
            this(partners, relayClients, Map.of(), RecipientVerification.DEFAULT, AuthLimits.DEFAULT);
        }

        /** The same with other recipient validation and AUTH limits. */
        public Inbound with(Map<String, DomainRecipients> newRecipients, RecipientVerification newVerification,
                            AuthLimits newAuth) {
            return new Inbound(partners, relayClients, newRecipients, newVerification, newAuth);
        }
    }

    /**
     * Who exists in one local or relay domain ({@code [recipients."domain"]}).
     *
     * @param file   a list of addresses and local parts (re-read when it changes); null: no list
     * @param verify relay domains: ask the domain's next hop at RCPT time (Postfix's reject_unverified_recipient)
     */
    public record DomainRecipients(Path file, boolean verify) {}

    /**
     * {@code [recipient_verification]}: how answers of next hops to verification probes are kept.
     *
     * @param positiveTtl how long an accepted address stays known
     * @param negativeTtl how long a refused address stays refused
     * @param cacheSize   most addresses kept (least recently used go first)
     * @param timeout     longest a probe may take, from connect to the RCPT reply
     * @param maxProbes   most probes to one domain at a time (more: 450 at once, so a flood cannot hammer the partner)
     */
    public record RecipientVerification(Duration positiveTtl, Duration negativeTtl, int cacheSize, Duration timeout,
                                        int maxProbes) {
        public static final RecipientVerification DEFAULT = new RecipientVerification(Duration.ofDays(7),
                Duration.ofHours(3), 100_000, Duration.ofSeconds(30), 10);

        /** With the default {@code maxProbes}. */
        public RecipientVerification(Duration positiveTtl, Duration negativeTtl, int cacheSize, Duration timeout) {
            this(positiveTtl, negativeTtl, cacheSize, timeout, 10);
        }
    }

    /**
     * {@code [auth]}: limits on failed SMTP AUTH attempts. Failures are counted per (client address, user name), IPv6
     * clients per /64: after {@code maxFailures} within {@code window} that user is locked out from that client for
     * {@code lockout}, doubling with every further failure up to {@code maxLockout}. Independently, more than
     * {@code networkMaxFailures} failures from one network (IPv4 /{@code ipv4Prefix}, IPv6 /{@code ipv6Prefix}) within
     * {@code window} lock the whole network out for {@code networkLockout}. Every failed attempt is answered after
     * {@code failureDelay} (as Dovecot's auth_failure_delay), so guesses on one connection come slowly.
     */
    public record AuthLimits(int maxFailures, Duration window, Duration lockout, Duration maxLockout,
                             int networkMaxFailures, Duration networkLockout, int ipv4Prefix, int ipv6Prefix,
                             Duration failureDelay) {
        public static final Duration DEFAULT_FAILURE_DELAY = Duration.ofSeconds(1);
        public static final AuthLimits DEFAULT = new AuthLimits(5, Duration.ofMinutes(15), Duration.ofMinutes(1),
                Duration.ofHours(1), 50, Duration.ofMinutes(15), 24, 48, DEFAULT_FAILURE_DELAY);

        /** With the default {@code failure_delay}. */
        public AuthLimits(int maxFailures, Duration window, Duration lockout, Duration maxLockout,
                          int networkMaxFailures, Duration networkLockout, int ipv4Prefix, int ipv6Prefix) {
            this(maxFailures, window, lockout, maxLockout, networkMaxFailures, networkLockout, ipv4Prefix, ipv6Prefix,
                    DEFAULT_FAILURE_DELAY);
        }
    }

    /** A SHA-256 pin as compared: lower-case hex without colons or a "sha256:" prefix. */
    static String normalisePin(String pin) {
        return pin.toLowerCase(Locale.ROOT).replaceFirst("^sha256:", "").replace(":", "");
    }

    /** A config without outbound TLS policies (opportunistic TLS everywhere). */
    public Config(Path source, String hostname, Path dataDir, List<Listener> listeners, Set<String> localDomains,
                  Set<String> relayDomains, List<Network> relayNetworks, Tls tls, Limits limits, Queue queue,
                  Delivery delivery, Dns dns, Map<String, Route> routes) {
        this(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits, queue,
                delivery, dns, routes, OutboundTls.OPPORTUNISTIC, Inbound.NONE);
    }

    /** The same config with other outbound TLS policies. */
    public Config withOutboundTls(OutboundTls policies) {
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits,
                queue, delivery, dns, routes, policies, inbound, audit, mtaSts, peerMemory, log, watch);
    }

    /** The same config with other inbound partners and relay clients. */
    public Config withInbound(Inbound newInbound) {
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits,
                queue, delivery, dns, routes, outboundTls, newInbound, audit, mtaSts, peerMemory, log, watch);
    }

    /** The same config with another data directory ({@code --data} on the command line). */
    public Config withDataDir(Path newDataDir) {
        return new Config(source, hostname, newDataDir, listeners, localDomains, relayDomains, relayNetworks, tls,
                limits, queue, delivery, dns, routes, outboundTls, inbound, audit, mtaSts, peerMemory, log, watch);
    }

    /** The same config with other listeners. */
    public Config withListeners(List<Listener> newListeners) {
        return new Config(source, hostname, dataDir, newListeners, localDomains, relayDomains, relayNetworks, tls,
                limits, queue, delivery, dns, routes, outboundTls, inbound, audit, mtaSts, peerMemory, log, watch);
    }

    /** The same config with other {@code [delivery]} settings. */
    public Config withDelivery(Delivery newDelivery) {
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls,
                limits, queue, newDelivery, dns, routes, outboundTls, inbound, audit, mtaSts, peerMemory, log, watch);
    }

    /** The same config with another audit store. */
    public Config withAudit(Audit newAudit) {
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls,
                limits, queue, delivery, dns, routes, outboundTls, inbound, newAudit, mtaSts, peerMemory, log, watch);
    }

    /**
     * Outbound TLS security levels, with Postfix's names and meanings (smtp_tls_security_level).
     * {@code dane}, {@code dane-only} and {@code mta-sts} come with the DNS-security work.
     */
    public enum TlsLevel {
        /** Never STARTTLS. */
        NONE,
        /** Opportunistic: TLS when offered, any certificate; clear text when TLS is not possible. */
        MAY,
        /** TLS required, any certificate. */
        ENCRYPT,
        /** TLS required; the leaf certificate or its public key must match a pinned SHA-256 fingerprint. */
        FINGERPRINT,
        /** TLS required; trusted chain, and the name matches the MX host (as found in DNS) or a match pattern. */
        VERIFY,
        /** Like verify, but the name must match the next-hop domain or a match pattern, never the MX name. */
        SECURE,
        /**
         * DANE (RFC 7672) for every MX host whose MX and TLSA records are DNSSEC-secure; {@code may} for the others
         * (or the domain's MTA-STS policy, when it has one).
         */
        DANE,
        /** DANE required: a host without usable, secure TLSA records is not used. */
        DANE_ONLY;

        /** Whether the level by itself refuses clear text ({@code dane} does only for hosts with TLSA records). */
        public boolean requiresTls() {
            return switch (this) {
                case NONE, MAY, DANE -> false;
                default -> true;
            };
        }

        /** The word of the config file and the command line: "may", "dane-only". */
        public String word() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

        /** The level a word names ("dane-only" and "dane_only" alike, any case), or null. */
        public static TlsLevel parse(String word) {
            String key = word.strip().toUpperCase(Locale.ROOT).replace('-', '_');
            for (TlsLevel l : values()) if (l.name().equals(key)) return l;
            return null;
        }
    }

    /** Whether a policy blocks delivery or only records what it would have blocked. */
    public enum PolicyMode { ENFORCE, TESTING }

    /**
     * One outbound TLS policy.
     *
     * @param minProtocol   "TLSv1.2" or "TLSv1.3"
     * @param ciphers       allowed suite names (IANA/JSSE names); empty: Postern's safe default set
     * @param minCipherBits minimum symmetric key bits of the negotiated suite (256 = "AES-256 only"); 0: no minimum
     * @param minKeyBits    minimum strength of the peer's certificate key in RSA-equivalent bits (NIST SP 800-57:
     *                      EC P-256 counts as 3072, P-384 as 7680); 0: no minimum; {@link #LEVEL_KEY_FLOOR} (not
     *                      set): the level's default floor (RSA 2048 / EC 256 bits from encrypt up, none below)
     * @param match         name patterns the certificate must match: "host.example", "*.example" (one left-most
     *                      label), ".example" (the domain and any subdomain); empty: the level's default names
     * @param caFile        trust anchors for verify/secure (PEM bundle); null: the JDK's system store
     * @param fingerprints  SHA-256 pins of the leaf certificate or its public key, as 64 hex digits (colons allowed)
     * @param clientCertificate certificate chain (PEM) to present to this destination; null: none
     * @param clientKey     its private key (PEM)
     */
    public record TlsPolicy(TlsLevel level, PolicyMode mode, String minProtocol, List<String> ciphers,
                            int minCipherBits, int minKeyBits, List<String> match, Path caFile,
                            List<String> fingerprints, Path clientCertificate, Path clientKey) {
        public TlsPolicy {
            ciphers = List.copyOf(ciphers);
            match = List.copyOf(match);
            fingerprints = fingerprints.stream().map(Config::normalisePin).toList();
        }

        /** {@code min_key_bits} not set: the level's default key floor applies. */
        public static final int LEVEL_KEY_FLOOR = -1;

        public static TlsPolicy of(TlsLevel level) {
            return new TlsPolicy(level, PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0, LEVEL_KEY_FLOOR, List.of(), null,
                    List.of(), null, null);
        }

        public TlsPolicy withLevel(TlsLevel newLevel) {
            return new TlsPolicy(newLevel, mode, minProtocol, ciphers, minCipherBits, minKeyBits, match, caFile,
                    fingerprints, clientCertificate, clientKey);
        }
    }

    /**
     * Outbound TLS policies: {@code defaultPolicy} for every destination without an entry, and entries by recipient
     * domain (".example.com" entries cover subdomains, as for routes); {@code maxOverride} ({@code [policy]
     * max_override}) is the longest {@code postern policy override} may relax one.
     */
    public record OutboundTls(TlsPolicy defaultPolicy, Map<String, TlsPolicy> domains, Duration maxOverride) {
        public static final OutboundTls OPPORTUNISTIC = new OutboundTls(TlsPolicy.of(TlsLevel.MAY), Map.of());
        /** {@code [policy] max_override} when the file does not set it: the longest an override may last. */
        public static final Duration MAX_OVERRIDE = Duration.ofDays(30);

        public OutboundTls {
            domains = Map.copyOf(domains);
            if (maxOverride == null) maxOverride = MAX_OVERRIDE;
        }

        public OutboundTls(TlsPolicy defaultPolicy, Map<String, TlsPolicy> domains) {
            this(defaultPolicy, domains, MAX_OVERRIDE);
        }

        /** The entry for a domain: exact, then the nearest ".parent" entry; empty when only the default applies. */
        public Optional<Map.Entry<String, TlsPolicy>> entryFor(String domain) {
            return DomainKeys.lookup(domains, domain);
        }
    }

    /**
     * The static route for a recipient domain: the exact entry, else the entry ".parent" of the nearest parent domain
     * ("a.b.example.com" tries ".b.example.com", then ".example.com", then ".com"). A ".example.com" entry therefore
     * covers every subdomain of example.com but not example.com itself. {@code d} is in lookup form
     * ({@code Domains.toAscii}), as the keys are.
     */
    public Optional<Route> routeFor(String domain) {
        return DomainKeys.lookup(routes, domain).map(Map.Entry::getValue);
    }

    /** What a listener is for. */
    public enum Role {
        /** Port 25 style: STARTTLS offered, accepts mail for local and relay domains from anyone. */
        MX,
        /** Port 587 style: STARTTLS required before MAIL; relays for relay networks. */
        SUBMISSION,
        /** Port 465 style: implicit TLS from the first byte (RFC 8314); otherwise as submission. */
        SUBMISSIONS
    }

    /** A socket to listen on and what it is for. */
    /**
     * A listener and its inbound TLS settings ({@link ListenerTls#DEFAULT} when none are given).
     */
    public record Listener(InetSocketAddress address, Role role, ListenerTls tls) {
        public Listener {
            if (tls == null) tls = ListenerTls.DEFAULT;
        }

        public Listener(InetSocketAddress address, Role role) {
            this(address, role, ListenerTls.DEFAULT);
        }

        /** Submission roles always require TLS before mail; the MX role when {@code require_tls} says so. */
        public boolean requiresTls() {
            return role != Role.MX || tls.requireTls();
        }
        /**
         * Parses "host:port" where host is an IP address literal ("0.0.0.0:25", "[::]:25"); never consults DNS.
         *
         * @throws IllegalArgumentException with a message "expected ..., got ..." naming what is wrong
         */
        public static InetSocketAddress parseAddress(String text) {
            String host, port;
            if (text.startsWith("[")) {
                int close = text.indexOf(']');
                if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                    throw Syntax.invalid("host:port like [::]:25", text);
                }
                host = text.substring(1, close);
                port = text.substring(close + 2);
                if (host.indexOf(':') < 0) throw Syntax.invalid("an IPv6 address inside [ ]", text);
            } else {
                int colon = text.lastIndexOf(':');
                if (colon < 0) throw Syntax.invalid("host:port", text);
                host = text.substring(0, colon);
                port = text.substring(colon + 1);
                if (host.indexOf(':') >= 0) throw Syntax.invalid("host:port with IPv6 in brackets like [::]:25", text);
            }
            InetAddress address = Syntax.ipLiteral(host);
            if (address == null) {
                throw Syntax.invalid("host:port with an IP address as host, like 0.0.0.0:25 or [::]:25", text);
            }
            return new InetSocketAddress(address, Syntax.port(port, "host:port", text));
        }

        /** Parses a role name: "mx", "submission" or "submissions" (any case). */
        public static Role parseRole(String text) {
            for (Role r : Role.values()) if (r.name().equalsIgnoreCase(text)) return r;
            List<String> names = Arrays.stream(Role.values()).map(r -> r.name().toLowerCase(Locale.ROOT)).toList();
            String hint = Suggestions.closest(text, names).map(n -> " (did you mean " + Syntax.quote(n) + "?)")
                    .orElse("");
            throw new IllegalArgumentException(Syntax.invalid("mx, submission or submissions", text).getMessage()
                    + hint);
        }
    }

    /** An address block "192.0.2.0/24" or "::1/128"; equal when address bytes and prefix are. */
    public record Network(byte[] address, int prefixLength) {
        public Network {
            if (address.length != 4 && address.length != 16) {
                throw new IllegalArgumentException("address must have 4 or 16 bytes, not " + address.length);
            }
            if (prefixLength < 0 || prefixLength > address.length * 8) {
                throw new IllegalArgumentException("prefix length out of range: " + prefixLength);
            }
            address = address.clone(); // a record holding an array must copy it to stay immutable
        }

        /**
         * Parses CIDR notation; a bare address means a single host (/32 or /128). Bits beyond the prefix must be zero,
         * since "192.0.2.1/24" is more often a mistake than a way to write 192.0.2.0/24.
         *
         * @throws IllegalArgumentException with a message "expected ..., got ..." naming what is wrong
         */
        public static Network parse(String text) {
            String expected = "a network like 192.0.2.0/24, 2001:db8::/32 or a single IP address";
            int slash = text.indexOf('/');
            String host = slash < 0 ? text : text.substring(0, slash);
            InetAddress ip = host.indexOf('%') >= 0 ? null : Syntax.ipLiteral(host);
            if (ip == null) throw Syntax.invalid(expected, text);
            byte[] bytes = ip.getAddress();
            if (ip instanceof Inet4Address && host.indexOf(':') >= 0) {
                throw Syntax.invalid("an IPv4-mapped network written as IPv4, like 192.0.2.0/24", text);
            }
            int bits = bytes.length * 8;
            int prefix = bits;
            if (slash >= 0) {
                String p = text.substring(slash + 1);
                if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')
                        || Integer.parseInt(p) > bits) {
                    throw Syntax.invalid(expected + " with a prefix length from 0 to " + bits, text);
                }
                prefix = Integer.parseInt(p);
            }
            byte[] masked = bytes.clone();
            for (int i = 0; i < masked.length; i++) {
                int keep = Math.clamp(prefix - i * 8L, 0, 8);
                masked[i] &= (byte) (0xff << (8 - keep));
            }
            if (!Arrays.equals(bytes, masked)) {
                Network meant = new Network(masked, prefix);
                throw new IllegalArgumentException(Syntax.invalid("a network address with the bits beyond /" + prefix
                        + " zero", text).getMessage() + " (did you mean " + Syntax.quote(meant.toString()) + "?)");
            }
            return new Network(bytes, prefix);
        }

        @Override
        public byte[] address() { return address.clone(); }

        @Override
        public boolean equals(Object o) {
            return o instanceof Network n && n.prefixLength == prefixLength && Arrays.equals(n.address, address);
        }

        @Override
        public int hashCode() { return Arrays.hashCode(address) * 31 + prefixLength; }

        /** CIDR notation, e.g. "127.0.0.0/8" or "::1/128". */
        @Override
        public String toString() { return Syntax.formatIp(address) + "/" + prefixLength; }

        public boolean contains(java.net.InetAddress candidate) {
            byte[] c = candidate.getAddress();
            if (c.length != address.length) return false;
            int full = prefixLength / 8, rest = prefixLength % 8;
            for (int i = 0; i < full; i++) if (c[i] != address[i]) return false;
            if (rest == 0) return true;
            int mask = (0xff << (8 - rest)) & 0xff;
            return (c[full] & mask) == (address[full] & mask);
        }
    }

    /** One certificate chain file (PEM, leaf first) and the file of its private key; they may be the same file. */
    public record CertificatePair(Path certificate, Path key) {
        public CertificatePair {
            if (certificate == null || key == null) throw new IllegalArgumentException("certificate and key needed");
        }
    }

    /**
     * The gateway's own certificates. {@code certificate} and {@code key} are the first (often the only) pair;
     * {@code more} holds any further pairs, typically an ECDSA certificate next to an RSA one, so that every client
     * gets a certificate of a key type it supports (the TLS provider picks per handshake). All null and empty means
     * "generate self-signed ones under data/tls on first start". Use {@link #pairs()} for every configured pair.
     *
     * <p>{@code [tls] certificate/key} gives one pair; {@code [[tls.certificates]]} gives one or more, the first of
     * which becomes {@code certificate} and {@code key}, so that code reading only those sees the first certificate.
     *
     * @param more     the pairs after the first, in file order; empty when there is only one (or none)
     * @param provider the TLS implementation of the inbound listeners ({@code [tls] provider}); null means JDK
     */
    public record Tls(Path certificate, Path key, List<CertificatePair> more, TlsProvider provider, Acme acme) {
        /** No configured certificate: the gateway generates its own. */
        public static final Tls GENERATED = new Tls(null, null);

        public Tls {
            more = more == null ? List.of() : List.copyOf(more);
            if (provider == null) provider = TlsProvider.JDK;
            if (acme == null) acme = Acme.OFF;
            if ((certificate == null) != (key == null)) {
                throw new IllegalArgumentException("certificate and key go together, got only one");
            }
            if (certificate == null && !more.isEmpty()) {
                throw new IllegalArgumentException("further certificates without a first one");
            }
        }

        /** One pair, or none when both are null (the form every existing caller uses). */
        public Tls(Path certificate, Path key) {
            this(certificate, key, List.of());
        }

        /** These pairs with the JDK's TLS. */
        public Tls(Path certificate, Path key, List<CertificatePair> more) {
            this(certificate, key, more, TlsProvider.JDK);
        }

        /** These pairs served by {@code provider}, no ACME. */
        public Tls(Path certificate, Path key, List<CertificatePair> more, TlsProvider provider) {
            this(certificate, key, more, provider, Acme.OFF);
        }

        /** The same certificates served by {@code provider}. */
        public Tls withProvider(TlsProvider provider) {
            return new Tls(certificate, key, more, provider, acme);
        }

        /** The same settings with {@code acme} ({@code [acme]}) obtaining the certificates. */
        public Tls withAcme(Acme acme) {
            return new Tls(certificate, key, more, provider, acme);
        }

        /** These pairs, first one first; empty: generate. */
        public static Tls of(List<CertificatePair> pairs) {
            if (pairs.isEmpty()) return GENERATED;
            return new Tls(pairs.getFirst().certificate(), pairs.getFirst().key(), pairs.subList(1, pairs.size()));
        }

        /** Every configured pair, first one first; empty when the gateway generates its own certificates. */
        public List<CertificatePair> pairs() {
            if (certificate == null) return List.of();
            List<CertificatePair> all = new java.util.ArrayList<>(more.size() + 1);
            all.add(new CertificatePair(certificate, key));
            all.addAll(more);
            return List.copyOf(all);
        }

        /** Whether no certificate is configured, so that self-signed ones are generated under data/tls. */
        public boolean generated() {
            return certificate == null;
        }
    }

    /**
     * {@code [acme]}: the gateway obtains and renews its own certificates from an ACME (RFC 8555) server, for
     * {@code hostname} and {@code names}; the self-signed ones serve until the first is issued. See
     * docs/certificates.md. Only without {@code [tls]} certificate files.
     *
     * @param directory   the ACME server's directory URL (https)
     * @param contact     the account's contact (a mailto: URL); null: none
     * @param names       names besides {@code hostname}, lookup form
     * @param httpAddress where the HTTP-01 listener listens (pebble and real CAs connect to port 80)
     * @param tlsAddress  where the TLS-ALPN-01 listener listens (port 443)
     * @param trust       CA certificates trusted for the ACME server's HTTPS besides the system store; null: none more
     * @param renewBefore renew when this much validity is left; null: when a third of the lifetime is left
     * @param retryFirst  the wait after a first failure, doubled per failure up to {@code retryMax}
     */
    public record Acme(boolean enabled, java.net.URI directory, String contact, List<String> names,
                       AcmeChallenge challenge, InetSocketAddress httpAddress, InetSocketAddress tlsAddress,
                       AcmeKeyType keyType, Path trust, Duration renewBefore, Duration retryFirst,
                       Duration retryMax) {
        public static final java.net.URI LETS_ENCRYPT = java.net.URI.create(
                "https://acme-v02.api.letsencrypt.org/directory");
        public static final Acme OFF = new Acme(false, LETS_ENCRYPT, null, List.of(), AcmeChallenge.HTTP_01,
                new InetSocketAddress("0.0.0.0", 80), new InetSocketAddress("0.0.0.0", 443), AcmeKeyType.ECDSA,
                null, null, Duration.ofMinutes(1), Duration.ofHours(6));

        public Acme {
            names = List.copyOf(names);
        }
    }

    /** {@code [acme] challenge}: how the ACME server checks that we hold a name. */
    public enum AcmeChallenge {
        HTTP_01("http-01"), TLS_ALPN_01("tls-alpn-01");

        private final String configName;

        AcmeChallenge(String configName) { this.configName = configName; }

        public String configName() { return configName; }
    }

    /** {@code [acme] key_type}: ECDSA P-256, RSA 2048, or both certificates served together. */
    public enum AcmeKeyType {
        ECDSA("ecdsa"), RSA("rsa"), BOTH("both");

        private final String configName;

        AcmeKeyType(String configName) { this.configName = configName; }

        public String configName() { return configName; }
    }

    /** {@code [tls] provider}: which TLS implementation the gateway's listeners use. */
    public enum TlsProvider {
        /** The JDK's own JSSE (what a Config built in code gets when it names none). */
        JDK,
        /** Conscrypt (BoringSSL through JNI), about four times cheaper per full handshake. */
        CONSCRYPT,
        /**
         * The config file's default: Conscrypt where it serves the configuration as the JDK would, else the JDK
         * ({@link #autoChoice}).
         */
        AUTO;

        /**
         * Why {@code AUTO} must take the JDK for {@code config}, or null when Conscrypt serves it as the JDK would:
         * Conscrypt serves one certificate per gateway (the generated EC and RSA pair, or several configured tables,
         * need the JDK to serve RSA-only clients), and cannot switch TLS 1.3 suites off one by one (a listener's
         * {@code ciphers} or {@code min_cipher_bits} would close sessions after the handshake instead of negotiating
         * within them). Whether Conscrypt's native library loads is the gateway's to find out.
         */
        public static String autoChoice(Config config) {
            if (config.tls().generated()) return "the generated EC and RSA certificates are served together";
            if (config.tls().pairs().size() > 1) return "several certificates are served";
            for (Listener l : config.listeners()) {
                if (!l.tls().ciphers().isEmpty() || l.tls().minCipherBits() > 0) {
                    return "listener " + l.address() + " restricts its cipher suites";
                }
            }
            return null;
        }

        /** The name used in the config file. */
        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * @param maxHops      more {@code Received:} headers than this in a message is a mail loop (RFC 5321 §6.3)
     * @param junkCommands commands that do not move a message forward (NOOP, RSET, VRFY, ...) before the session is
     *                     closed; the count starts over with each accepted message
     * @param shutdownGrace at a stop (SIGTERM), how long a DATA in progress and a delivery under way may take to
     *                      finish before the gateway exits anyway
     * @param stressTimeout while connections wait for a turn ({@code maxActiveSessions} reached), how long a session
     *                      may wait for a command, or take over a command line or (beyond its bytes at a minimum
     *                      rate) over message content, before it is cut to free its turn
     */
    public record Limits(int maxLineLength, long maxMessageSize, int maxRecipients, int maxErrors,
                         Duration commandTimeout, Duration dataTimeout, Duration sessionTimeout, int maxConnections,
                         int maxConnectionsPerIp, int maxHops, int junkCommands, int maxActiveSessions,
                         Duration shutdownGrace, Duration stressTimeout) {
        public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
        /** As Postfix's smtpd_timeout under stress. */
        public static final Duration DEFAULT_STRESS_TIMEOUT = Duration.ofSeconds(10);

        /** With the default {@code stress_timeout}. */
        public Limits(int maxLineLength, long maxMessageSize, int maxRecipients, int maxErrors,
                      Duration commandTimeout, Duration dataTimeout, Duration sessionTimeout, int maxConnections,
                      int maxConnectionsPerIp, int maxHops, int junkCommands, int maxActiveSessions,
                      Duration shutdownGrace) {
            this(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout, sessionTimeout,
                    maxConnections, maxConnectionsPerIp, maxHops, junkCommands, maxActiveSessions, shutdownGrace,
                    DEFAULT_STRESS_TIMEOUT);
        }

        public Limits withStressTimeout(Duration d) {
            return new Limits(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout,
                    sessionTimeout, maxConnections, maxConnectionsPerIp, maxHops, junkCommands, maxActiveSessions,
                    shutdownGrace, d);
        }

        /** With the default {@code shutdown_grace}. */
        public Limits(int maxLineLength, long maxMessageSize, int maxRecipients, int maxErrors,
                      Duration commandTimeout, Duration dataTimeout, Duration sessionTimeout, int maxConnections,
                      int maxConnectionsPerIp, int maxHops, int junkCommands, int maxActiveSessions) {
            this(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout, sessionTimeout,
                    maxConnections, maxConnectionsPerIp, maxHops, junkCommands, maxActiveSessions,
                    DEFAULT_SHUTDOWN_GRACE);
        }

        public Limits withShutdownGrace(Duration d) {
            return new Limits(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout,
                    sessionTimeout, maxConnections, maxConnectionsPerIp, maxHops, junkCommands, maxActiveSessions, d, stressTimeout);
        }

        public static final int DEFAULT_MAX_HOPS = 50;
        public static final int DEFAULT_JUNK_COMMANDS = 100;
        /** As Postfix's default_process_limit: sessions served at once; more wait, not yet greeted, for a turn. */
        public static final int DEFAULT_MAX_ACTIVE_SESSIONS = 100;

        /** With the default {@code max_active_sessions}. */
        public Limits(int maxLineLength, long maxMessageSize, int maxRecipients, int maxErrors,
                      Duration commandTimeout, Duration dataTimeout, Duration sessionTimeout, int maxConnections,
                      int maxConnectionsPerIp, int maxHops, int junkCommands) {
            this(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout, sessionTimeout,
                    maxConnections, maxConnectionsPerIp, maxHops, junkCommands, DEFAULT_MAX_ACTIVE_SESSIONS);
        }

        /** With the default {@code max_hops} and {@code junk_commands}. */
        public Limits(int maxLineLength, long maxMessageSize, int maxRecipients, int maxErrors,
                      Duration commandTimeout, Duration dataTimeout, Duration sessionTimeout, int maxConnections,
                      int maxConnectionsPerIp) {
            this(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout, sessionTimeout,
                    maxConnections, maxConnectionsPerIp, DEFAULT_MAX_HOPS, DEFAULT_JUNK_COMMANDS);
        }

        public Limits withMaxHops(int n) {
            return new Limits(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout,
                    sessionTimeout, maxConnections, maxConnectionsPerIp, n, junkCommands, maxActiveSessions, shutdownGrace, stressTimeout);
        }

        public Limits withJunkCommands(int n) {
            return new Limits(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout,
                    sessionTimeout, maxConnections, maxConnectionsPerIp, maxHops, n, maxActiveSessions, shutdownGrace, stressTimeout);
        }

        public Limits withMaxActiveSessions(int n) {
            return new Limits(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout,
                    sessionTimeout, maxConnections, maxConnectionsPerIp, maxHops, junkCommands, n, shutdownGrace, stressTimeout);
        }
    }

    /** Retry schedule and bounces; {@code delayWarning} null disables delay DSNs. */
    public record Queue(Duration retryFirst, Duration retryMax, Duration lifetime, Duration delayWarning) {}

    /**
     * Who decides whether a DNS answer is DNSSEC-secure: Postern itself ({@code dnssec = "validate"}, the default),
     * the configured loopback resolver's AD bit ({@code trust_ad = true}), or nobody ({@code dnssec = "off"}: every
     * answer insecure, DANE never applies).
     */
    public enum Dnssec { VALIDATE, TRUST_AD, OFF }

    /** Outbound: concurrency overall and per destination, timeouts, and the port MX hosts are contacted on. */
    public record Delivery(int concurrency, int perDestination, Duration connectTimeout, Duration commandTimeout,
                           Duration dataTimeout, int smtpPort, TlsProvider tlsProvider) {
        /** {@code tlsProvider}: the TLS implementation of the outbound client, JDK or CONSCRYPT (never AUTO). */
        public Delivery {
            if (tlsProvider == null) tlsProvider = TlsProvider.JDK;
            if (tlsProvider == TlsProvider.AUTO) throw new IllegalArgumentException("[delivery] tls_provider is jdk or conscrypt");
        }

        /** The same settings with {@code provider}'s TLS for delivery. */
        public Delivery withTlsProvider(TlsProvider provider) {
            return new Delivery(concurrency, perDestination, connectTimeout, commandTimeout, dataTimeout, smtpPort,
                    provider);
        }

        /** With the JDK's TLS for delivery, the default. */
        public Delivery(int concurrency, int perDestination, Duration connectTimeout, Duration commandTimeout,
                        Duration dataTimeout, int smtpPort) {
            this(concurrency, perDestination, connectTimeout, commandTimeout, dataTimeout, smtpPort, TlsProvider.JDK);
        }
    }

    /**
     * {@code [dns]}: {@code servers} empty means the system's resolvers; {@code dnssec} how answers are judged
     * secure (DANE needs it); {@code trustAnchorFile} the DNSSEC trust anchors under {@code VALIDATE} (null: the
     * root's).
     */
    public record Dns(List<InetSocketAddress> servers, Duration timeout, Dnssec dnssec, Path trustAnchorFile) {
        public Dns { servers = List.copyOf(servers); }

        /** DNSSEC validation by Postern from the root trust anchor: the default. */
        public Dns(List<InetSocketAddress> servers, Duration timeout) {
            this(servers, timeout, Dnssec.VALIDATE, null);
        }

        /**
         * Parses a resolver address: "ip", "ip:port", "[ipv6]:port" or a bare IPv6 address; the port defaults to 53.
         *
         * @throws IllegalArgumentException with a message "expected ..., got ..." naming what is wrong
         */
        public static InetSocketAddress parseServer(String text) {
            String expected = "an IP address with an optional port, like 192.0.2.53, 192.0.2.53:53 or [2001:db8::53]:53";
            InetAddress bare = Syntax.ipLiteral(text);
            if (bare != null) return new InetSocketAddress(bare, 53);
            String host, port;
            if (text.startsWith("[")) {
                int close = text.indexOf(']');
                if (close < 0) throw Syntax.invalid(expected, text);
                host = text.substring(1, close);
                String rest = text.substring(close + 1);
                if (!rest.isEmpty() && !rest.startsWith(":")) throw Syntax.invalid(expected, text);
                port = rest.isEmpty() ? "53" : rest.substring(1);
            } else {
                int colon = text.lastIndexOf(':');
                if (colon < 0) throw Syntax.invalid(expected, text);
                host = text.substring(0, colon);
                port = text.substring(colon + 1);
            }
            InetAddress ip = Syntax.ipLiteral(host);
            if (ip == null) throw Syntax.invalid(expected, text);
            return new InetSocketAddress(ip, Syntax.port(port, expected, text));
        }
    }

    /**
     * A static next hop. "[host]:port" or "[ip]:port" means that host directly (no MX lookup, like Postfix);
     * "host:port" or "host" means look up MX of host first.
     */
    public record Route(String host, int port, boolean mxLookup) {
        /**
         * Parses a next hop: "[host]", "[host]:port", "[192.0.2.10]:25", "[2001:db8::1]:25" (that host, no MX lookup),
         * or "host", "host:port" (MX lookup of host first). The host is lower-cased, IPv6 kept without brackets.
         *
         * @param defaultPort the port when none is written (delivery.smtp_port)
         * @throws IllegalArgumentException with a message "expected ..., got ..." naming what is wrong
         */
        public static Route parse(String text, int defaultPort) {
            String expected = "a next hop like [192.0.2.10]:25, [relay.example.com] or relay.example.com:25";
            String host, port;
            boolean mx = !text.startsWith("[");
            if (!mx) {
                int close = text.indexOf(']');
                if (close < 0) throw Syntax.invalid(expected, text);
                host = text.substring(1, close);
                String rest = text.substring(close + 1);
                if (!rest.isEmpty() && !rest.startsWith(":")) throw Syntax.invalid(expected, text);
                port = rest.isEmpty() ? null : rest.substring(1);
            } else {
                if (text.indexOf(':') != text.lastIndexOf(':')) {
                    throw Syntax.invalid(expected + " (IPv6 addresses go in brackets)", text);
                }
                int colon = text.indexOf(':');
                host = colon < 0 ? text : text.substring(0, colon);
                port = colon < 0 ? null : text.substring(colon + 1);
                if (Syntax.ipLiteral(host) != null) {
                    throw new IllegalArgumentException(Syntax.invalid(expected, text).getMessage()
                            + " (an MX lookup needs a name; write " + Syntax.quote("[" + host + "]"
                            + (port == null ? "" : ":" + port)) + " for that address)");
                }
            }
            if (mx || Syntax.ipLiteral(host) == null) {
                host = Syntax.hostNameOrNull(host); // the lookup form: A-labels, lower case
                if (host == null) throw Syntax.invalid(expected, text);
            } else {
                host = host.toLowerCase(Locale.ROOT); // an IP address
            }
            int p = port == null ? defaultPort : Syntax.port(port, expected, text);
            return new Route(host, p, mx);
        }
    }
}
