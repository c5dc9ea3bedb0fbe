package dev.postern.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.config.Config.Listener;
import dev.postern.config.Config.Role;
import dev.postern.config.Config.Route;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** Turns a parsed TOML tree into a {@link Config}: every default, range and cross-check of the schema lives here. */
final class Validator {
    static final List<Listener> DEFAULT_LISTENERS = List.of(
            new Listener(Listener.parseAddress("127.0.0.1:2525"), Role.MX),
            new Listener(Listener.parseAddress("127.0.0.1:2587"), Role.SUBMISSION),
            new Listener(Listener.parseAddress("127.0.0.1:2465"), Role.SUBMISSIONS));
    static final List<String> DEFAULT_LOCAL_DOMAINS = List.of("localhost", "postern.test");
    static final List<String> DEFAULT_RELAY_NETWORKS = List.of("127.0.0.0/8", "::1/128");

    private static final String HOST_NAME = "a host name like mail.example.com";
    private static final String DOMAINS = "an array of domains like [\"example.com\"]";
    private static final String DOMAIN = "a domain like example.com";
    private static final String NEXT_HOP = "a next hop like [192.0.2.10]:25, [relay.example.com] or relay.example.com:25";
    private static final int MAX_COUNT = 100_000;
    /** Domain keys are compared in lookup form: these spellings of one domain are the same key. */
    static final String SPELLING = "case, Unicode or xn-- form and a trailing dot do not matter";

    private final Path baseDir;
    private final Problems problems;
    private final Material material;

    /** @param baseDir the directory relative paths resolve against: the config file's */
    Validator(Path baseDir, Problems problems) {
        this(baseDir, problems, TlsCheck.NONE);
    }

    /** @param check what certificate and key files must hold beyond being readable */
    Validator(Path baseDir, Problems problems, TlsCheck check) {
        this.baseDir = baseDir;
        this.problems = problems;
        this.material = new Material(this::readableFile, check);
    }

    /** @return the config, or null when there were problems (all of them are in {@code problems} then) */
    Config validate(JsonNode root, Path source) {
        Table top = new Table(root, "", problems);
        String hostname = top.has("hostname") ? top.string("hostname", null, HOST_NAME, Syntax::hostName)
                : LocalHost.NAME;
        Path dataDir = top.string("data_dir", baseDir.resolve("data"), "a directory path", this::dataDir);
        List<Listener> listeners = listeners(top);
        Set<String> localDomains = new LinkedHashSet<>(
                top.list("local_domains", DEFAULT_LOCAL_DOMAINS, DOMAINS, DOMAIN, Syntax::domain));
        Set<String> relayDomains = new LinkedHashSet<>(
                top.list("relay_domains", List.of(), DOMAINS, DOMAIN, Syntax::domain));
        notLocal(top, localDomains);
        List<Config.Network> relayNetworks = top.list("relay_networks",
                DEFAULT_RELAY_NETWORKS.stream().map(Config.Network::parse).toList(),
                "an array of networks like [\"127.0.0.0/8\", \"::1/128\"]",
                "a network like 192.0.2.0/24, 2001:db8::/32 or a single IP address", Config.Network::parse);
        notWide(top, relayNetworks);
        Config.Tls tls = tls(top.table("tls"));
        tls = new AcmeValidator(material::caFile).acme(top.table("acme"), tls); // [acme]: issue 18
        Config.Limits limits = limits(top.table("limits"));
        Config.Queue queue = queue(top.table("queue"));
        Config.Delivery delivery = delivery(top.table("delivery"));
        Config.Dns dns = dns(top.table("dns"));
        Map<String, Route> routes = routes(top.table("routes"), delivery == null ? 25 : delivery.smtpPort());
        PolicyValidator policies = new PolicyValidator(this::path, material, problems);
        Config.OutboundTls outboundTls = policies.outboundTls(top.table("outbound_tls"));
        Table policy = top.table("policy"); // [policy]: rules for the administrators' overrides
        outboundTls = new Config.OutboundTls(outboundTls.defaultPolicy(), outboundTls.domains(),
                policy.duration("max_override", Config.OutboundTls.MAX_OVERRIDE, Duration.ofMinutes(1),
                        Duration.ofDays(3650)));
        policy.finish();
        Config.PeerMemory peerMemory = peerMemory(top.table("peer_memory"), policies.memory());
        RecipientsValidator rv = new RecipientsValidator(this::readableFile, problems);
        Config.Inbound inbound = new InboundValidator(material::caFile).inbound(top, problems).with(
                rv.recipients(top.table("recipients"), localDomains, relayDomains),
                rv.verification(top.table("recipient_verification")), rv.auth(top.table("auth")));
        Config.Audit audit = new AuditValidator(this::readableFile).audit(top.table("audit"));
        Config.MtaSts mtaSts = mtaSts(top.table("mta_sts"));
        Config.Log log = log(top.table("log"));
        Config.Watch watch = new WatchValidator().watch(top);
        publishable(top, mtaSts, listeners, localDomains, relayDomains);
        adminApart(top, watch, listeners, mtaSts);
        top.finish();
        if (!problems.isEmpty()) return null;
        return new Config(source, hostname, dataDir, listeners, localDomains, relayDomains, relayNetworks, tls, limits,
                queue, delivery, dns, routes, outboundTls, inbound, audit, mtaSts, peerMemory, log, watch);
    }

    private static final String LOG_FORMATS = "\"logfmt\" or \"json\"";

    /** {@code [log]}: the format of log lines. */
    private static Config.Log log(Table t) {
        Config.LogFormat format = t.string("format", Config.Log.DEFAULT.format(), LOG_FORMATS, s -> switch (s) {
            case "logfmt" -> Config.LogFormat.LOGFMT;
            case "json" -> Config.LogFormat.JSON;
            default -> throw Syntax.invalid(LOG_FORMATS, s);
        });
        t.finish();
        return new Config.Log(format);
    }

    /** {@code [peer_memory]}: the downgrade memory's modes and size; per-domain modes come from the policy tables. */
    private static Config.PeerMemory peerMemory(Table t, Map<String, Config.MemoryMode> domains) {
        Config.PeerMemory d = Config.PeerMemory.DEFAULT;
        Config.MemoryMode outbound = t.string("outbound", d.outbound(), PolicyValidator.MEMORY_MODES,
                PolicyValidator::memoryMode);
        Config.MemoryMode inbound = t.string("inbound", d.inbound(), PolicyValidator.MEMORY_MODES,
                PolicyValidator::memoryMode);
        int maxDomains = t.integer("max_domains", d.maxDomains(), 1, 10_000_000);
        Duration flush = t.duration("flush_interval", d.flushInterval(), Duration.ofSeconds(1), Duration.ofHours(1));
        t.finish();
        return new Config.PeerMemory(outbound, inbound, domains, maxDomains, flush);
    }

    private List<Listener> listeners(Table top) {
        JsonNode v = top.raw("listeners");
        if (v == null) return DEFAULT_LISTENERS;
        if (!v.isArray() || v.isEmpty()) {
            top.wrong("listeners", "at least one [[listeners]] table", v);
            return List.of();
        }
        List<Listener> out = new ArrayList<>();
        List<InetSocketAddress> taken = new ArrayList<>(); // index i: listener i's address, or null
        for (int i = 0; i < v.size(); i++) {
            String at = "listeners[" + i + "]";
            JsonNode e = v.get(i);
            taken.add(null);
            if (!e.isObject()) {
                problems.add(at, "expected a table with address and role, got " + Table.render(e));
                continue;
            }
            Table t = new Table(e, at, problems);
            InetSocketAddress address = t.required("address", "host:port", Listener::parseAddress);
            Role role = t.required("role", "mx, submission or submissions", Listener::parseRole);
            Config.ListenerTls listenerTls = new InboundValidator(material::caFile).listenerTls(t);
            for (int j = 0; address != null && j < i; j++) {
                if (taken.get(j) != null && overlap(taken.get(j), address)) {
                    t.problem("address", "expected an address no other listener uses, got "
                            + Table.render(t.raw("address")) + " (listeners[" + j + "] "
                            + (taken.get(j).equals(address) ? "uses it too)" : "overlaps it)"));
                    break;
                }
            }
            taken.set(i, address);
            t.finish();
            if (address != null && role != null) out.add(new Listener(address, role, listenerTls));
        }
        return out;
    }

    /**
     * Whether two listeners could not both bind: same port and same address, or one is a wildcard covering the other.
     * 0.0.0.0 covers IPv4; :: covers everything, as Java's IPv6 sockets are dual-stack.
     */
    private static boolean overlap(InetSocketAddress a, InetSocketAddress b) {
        if (a.getPort() != b.getPort()) return false;
        InetAddress x = a.getAddress(), y = b.getAddress();
        if (x.equals(y)) return true;
        boolean xAny = x.isAnyLocalAddress(), yAny = y.isAnyLocalAddress();
        if (xAny && x.getAddress().length == 16 || yAny && y.getAddress().length == 16) return true;
        return (xAny || yAny) && x.getAddress().length == y.getAddress().length;
    }

    /** A domain is either delivered here or relayed onward, never both. */
    private void notLocal(Table top, Set<String> localDomains) {
        JsonNode relay = top.raw("relay_domains");
        if (relay == null || !relay.isArray()) return;
        for (int i = 0; i < relay.size(); i++) {
            JsonNode e = relay.get(i);
            if (e.isTextual() && localDomains.contains(Syntax.hostNameOrNull(e.textValue()))) {
                problems.add(top.key("relay_domains") + "[" + i + "]",
                        "expected a domain that is not also in local_domains, got " + Table.render(e));
            }
        }
    }

    /**
     * {@code [tls]}: one pair as {@code certificate} and {@code key}, or one or more {@code [[tls.certificates]]}
     * tables (say an RSA and an ECDSA certificate, served together), or nothing (generated ones).
     */
    private Config.Tls tls(Table t) {
        Path certificate = t.string("certificate", null, "a file path", material::certificate);
        Path key = t.string("key", null, "a file path", material::key);
        boolean hasCertificate = t.has("certificate"), hasKey = t.has("key");
        material.pair(t, "certificate", certificate, "key", key, problems);
        JsonNode array = t.raw("certificates");
        List<Config.CertificatePair> pairs = array == null ? null : certificatePairs(t, array);
        if (array != null && (hasCertificate || hasKey)) {
            String single = hasCertificate && hasKey ? "certificate, key" : hasCertificate ? "certificate" : "key";
            problems.add(t.path(), "expected either certificate and key or [[tls.certificates]] tables, got "
                    + single + " and [[tls.certificates]]");
        } else if (hasCertificate != hasKey) {
            problems.add(t.path(), "expected both certificate and key or neither, got only "
                    + (hasCertificate ? "certificate" : "key"));
        }
        Config.TlsProvider provider = t.string("provider", Config.TlsProvider.AUTO, PROVIDERS, Validator::provider);
        material.provider(t, "provider", provider == Config.TlsProvider.CONSCRYPT ? provider : null);
        if (provider == Config.TlsProvider.CONSCRYPT && pairs != null && pairs.size() > 1) {
            // Conscrypt 2.9 sets one certificate per connection: an RSA-only client would be refused.
            t.problem("provider", "conscrypt serves one certificate only, got " + pairs.size()
                    + " [[tls.certificates]] tables (use provider = \"jdk\" to serve RSA and ECDSA together)");
        }
        t.finish();
        Config.Tls tls = pairs != null ? Config.Tls.of(pairs)
                : certificate != null && key != null ? new Config.Tls(certificate, key) : Config.Tls.GENERATED;
        return provider == Config.TlsProvider.JDK ? tls : tls.withProvider(provider);
    }

    private static final String PROVIDERS = "auto, jdk or conscrypt";

    private static Config.TlsProvider provider(String s) {
        return switch (s) {
            case "jdk" -> Config.TlsProvider.JDK;
            case "conscrypt" -> Config.TlsProvider.CONSCRYPT;
            case "auto" -> Config.TlsProvider.AUTO;
            default -> throw Syntax.invalid(PROVIDERS, s);
        };
    }

    private static final String DELIVERY_PROVIDERS = "jdk or conscrypt";

    /** {@code [delivery] tls_provider}: no auto (the outbound client's choice is opt-in until measured as the default). */
    private static Config.TlsProvider deliveryProvider(String s) {
        return switch (s) {
            case "jdk" -> Config.TlsProvider.JDK;
            case "conscrypt" -> Config.TlsProvider.CONSCRYPT;
            default -> throw Syntax.invalid(DELIVERY_PROVIDERS, s);
        };
    }

    /** {@code [[tls.certificates]]}: at least one table, each with certificate and key, no certificate file twice. */
    private List<Config.CertificatePair> certificatePairs(Table tls, JsonNode v) {
        String expected = "[[tls.certificates]] tables, each with certificate and key";
        if (!v.isArray() || v.isEmpty()) {
            tls.wrong("certificates", v.isArray() ? "at least one of " + expected : expected, v);
            return List.of();
        }
        List<Config.CertificatePair> out = new ArrayList<>();
        List<Path> certificates = new ArrayList<>(); // index i: pair i's certificate file, or null
        for (int i = 0; i < v.size(); i++) {
            String at = tls.key("certificates") + "[" + i + "]";
            JsonNode e = v.get(i);
            certificates.add(null);
            if (!e.isObject()) {
                problems.add(at, "expected a table with certificate and key, got " + Table.render(e));
                continue;
            }
            Table t = new Table(e, at, problems);
            Path certificate = t.required("certificate", "a file path", material::certificate);
            Path key = t.required("key", "a file path", material::key);
            material.pair(t, "certificate", certificate, "key", key, problems);
            int earlier = certificate == null ? -1 : certificates.indexOf(certificate);
            if (earlier >= 0) {
                t.problem("certificate", "expected a certificate file no other pair uses, got "
                        + Table.render(e.get("certificate")) + " (" + tls.key("certificates") + "[" + earlier
                        + "] uses it too)");
            }
            certificates.set(i, certificate);
            t.finish();
            if (certificate != null && key != null && earlier < 0) out.add(new Config.CertificatePair(certificate, key));
        }
        return out;
    }

    private Config.Limits limits(Table t) {
        int maxLineLength = t.integer("max_line_length", 2048, 512, 1 << 20);
        long maxMessageSize = t.size("max_message_size", 50L << 20, 1L << 10, 10L << 30);
        int maxRecipients = t.integer("max_recipients", 1000, 1, MAX_COUNT);
        int maxErrors = t.integer("max_errors", 10, 1, 1000);
        Duration commandTimeout = t.duration("command_timeout", Duration.ofMinutes(5));
        Duration dataTimeout = t.duration("data_timeout", Duration.ofMinutes(10));
        Duration sessionTimeout = t.duration("session_timeout", Duration.ofMinutes(30));
        int maxConnections = t.integer("max_connections", 500, 1, MAX_COUNT);
        int maxConnectionsPerIp = t.integer("max_connections_per_ip", 20, 1, MAX_COUNT);
        ordered(t, "max_connections_per_ip", maxConnectionsPerIp, "max_connections", maxConnections, false,
                String::valueOf);
        int maxHops = t.integer("max_hops", Config.Limits.DEFAULT_MAX_HOPS, 1, 1000);
        int junkCommands = t.integer("junk_commands", Config.Limits.DEFAULT_JUNK_COMMANDS, 1, MAX_COUNT);
        int maxActiveSessions = t.integer("max_active_sessions", Config.Limits.DEFAULT_MAX_ACTIVE_SESSIONS, 1,
                MAX_COUNT);
        Duration shutdownGrace = t.duration("shutdown_grace", Config.Limits.DEFAULT_SHUTDOWN_GRACE, Duration.ZERO,
                Duration.ofHours(1));
        Duration stressTimeout = t.duration("stress_timeout", Config.Limits.DEFAULT_STRESS_TIMEOUT);
        t.finish();
        return new Config.Limits(maxLineLength, maxMessageSize, maxRecipients, maxErrors, commandTimeout, dataTimeout,
                sessionTimeout, maxConnections, maxConnectionsPerIp, maxHops, junkCommands, maxActiveSessions,
                shutdownGrace, stressTimeout);
    }

    private Config.Queue queue(Table t) {
        Duration retryFirst = t.duration("retry_first", Duration.ofMinutes(1));
        Duration retryMax = t.duration("retry_max", Duration.ofHours(1));
        Duration lifetime = t.duration("lifetime", Duration.ofDays(5));
        Duration delayWarning = Duration.ofHours(4);
        JsonNode dw = t.raw("delay_warning");
        if (dw != null && (dw.isTextual() && (dw.textValue().equals("off") || dw.textValue().equals("0"))
                || dw.isIntegralNumber() && dw.canConvertToLong() && dw.longValue() == 0)) {
            delayWarning = null;
        } else if (dw != null && !dw.isTextual()) {
            t.wrong("delay_warning", Durations.EXPECTED + " or \"off\"", dw);
        } else {
            delayWarning = t.duration("delay_warning", delayWarning);
        }
        ordered(t, "retry_first", retryFirst, "retry_max", retryMax, false, Durations::format);
        if (delayWarning != null) ordered(t, "delay_warning", delayWarning, "lifetime", lifetime, true, Durations::format);
        t.finish();
        return new Config.Queue(retryFirst, retryMax, lifetime, delayWarning);
    }

    private Config.Delivery delivery(Table t) {
        int concurrency = t.integer("concurrency", 100, 1, 10_000);
        int perDestination = t.integer("per_destination", 20, 1, 10_000);
        Duration connectTimeout = t.duration("connect_timeout", Duration.ofSeconds(30));
        Duration commandTimeout = t.duration("command_timeout", Duration.ofMinutes(5));
        Duration dataTimeout = t.duration("data_timeout", Duration.ofMinutes(10));
        int smtpPort = t.integer("smtp_port", 25, 1, 65535);
        Config.TlsProvider tlsProvider = t.string("tls_provider", Config.TlsProvider.JDK, DELIVERY_PROVIDERS,
                Validator::deliveryProvider);
        material.provider(t, "tls_provider", tlsProvider == Config.TlsProvider.CONSCRYPT ? tlsProvider : null);
        ordered(t, "per_destination", perDestination, "concurrency", concurrency, false, String::valueOf);
        t.finish();
        return new Config.Delivery(concurrency, perDestination, connectTimeout, commandTimeout, dataTimeout, smtpPort,
                tlsProvider);
    }

    private Config.Dns dns(Table t) {
        List<InetSocketAddress> servers = t.list("servers", List.of(),
                "an array of resolver addresses like [\"192.0.2.53\", \"[2001:db8::53]:53\"]",
                "an IP address with an optional port, like 192.0.2.53, 192.0.2.53:53 or [2001:db8::53]:53",
                Config.Dns::parseServer);
        Duration timeout = t.duration("timeout", Duration.ofSeconds(5));
        boolean validate = t.string("dnssec", true, DNSSEC, Validator::dnssec);
        boolean trustAdSet = t.has("trust_ad");
        boolean trustAd = t.bool("trust_ad", false);
        Path anchors = t.string("trust_anchor_file", null, "a file path", this::trustAnchorFile);
        t.finish();
        Config.Dnssec dnssec = validate ? Config.Dnssec.VALIDATE : Config.Dnssec.OFF;
        if (!trustAdSet && validate && anchors == null && !servers.isEmpty()
                && servers.stream().allMatch(a -> a.getAddress().isLoopbackAddress())) {
            // Resolvers on this host, none of the keys said: trust their AD bit, as Postfix does. A validating
            // Unbound there gives DANE its secure answers; a resolver that does not validate (or a test server of
            // unsigned zones) gives insecure ones and mail flows as without DNSSEC, where validating here against the
            // root anchor would find every answer bogus and defer all mail. trust_ad = false validates here anyway.
            return new Config.Dns(servers, timeout, Config.Dnssec.TRUST_AD, null);
        }
        if (trustAd) {
            // The AD bit is only as trustworthy as the path to the resolver: on loopback nobody can forge it.
            List<String> remote = servers.stream().filter(a -> !a.getAddress().isLoopbackAddress())
                    .map(a -> a.getAddress().getHostAddress()).toList();
            if (!validate) {
                t.problem("trust_ad", "expected trust_ad only with dnssec = \"validate\": with dnssec = \"off\" "
                        + "no answer is secure, whoever validates it");
            } else if (servers.isEmpty()) {
                t.problem("trust_ad", "expected [dns] servers listing the validating resolver on loopback, got none "
                        + "(the system's resolvers are not trusted to set the AD bit)");
            } else if (!remote.isEmpty()) {
                t.problem("trust_ad", "expected only loopback servers (127.0.0.1, ::1), got " + String.join(", ",
                        remote) + ": an AD bit that crossed the network can be forged");
            } else {
                dnssec = Config.Dnssec.TRUST_AD;
            }
            if (anchors != null) {
                t.problem("trust_anchor_file", "expected no trust_anchor_file with trust_ad = true: the trusted "
                        + "resolver validates with its own trust anchors");
            }
        } else if (!validate && anchors != null) {
            t.problem("trust_anchor_file", "expected no trust_anchor_file with dnssec = \"off\"");
        }
        return new Config.Dns(servers, timeout, dnssec, anchors);
    }

    private static final String DNSSEC = "\"validate\" or \"off\"";

    private static boolean dnssec(String s) {
        return switch (s) {
            case "validate" -> true;
            case "off" -> false;
            default -> throw Syntax.invalid(DNSSEC, s);
        };
    }

    /** DS or DNSKEY records in zone-file form: checked now, not at the first signed answer. */
    private Path trustAnchorFile(String text) {
        Path p = readableFile(text);
        try {
            if (!dev.postern.dns.DnsResolver.anchors(Files.readAllBytes(p)).isEmpty()) return p;
            throw new IllegalArgumentException("expected DS or DNSKEY records in zone-file form (\". IN DS 20326 8 2 "
                    + "E06D...\"), got none in " + p);
        } catch (IOException e) {
            throw new IllegalArgumentException("expected DS or DNSKEY records in zone-file form, got "
                    + e.getMessage().replace("<none>", p.toString()));
        }
    }

    /** {@code [mta_sts]}: MTA-STS on or off, the extra CA file, the fetch's limits. */
    private Config.MtaSts mtaSts(Table t) {
        Config.MtaSts d = Config.MtaSts.DEFAULT;
        boolean enabled = t.bool("enabled", d.enabled());
        Path caFile = t.string("ca_file", d.caFile(), "a file path", material::caFile);
        Duration connectTimeout = t.duration("connect_timeout", d.connectTimeout(), Duration.ofSeconds(1),
                Duration.ofMinutes(5));
        Duration fetchTimeout = t.duration("fetch_timeout", d.fetchTimeout(), Duration.ofSeconds(1),
                Duration.ofMinutes(5));
        int httpsPort = t.integer("https_port", d.httpsPort(), 1, 65535);
        int maxDomains = t.integer("max_domains", d.maxDomains(), 1, 1_000_000);
        Duration refreshInterval = t.duration("refresh_interval", d.refreshInterval(), Duration.ofMinutes(1),
                Duration.ofDays(1));
        ordered(t, "connect_timeout", connectTimeout, "fetch_timeout", fetchTimeout, false, Durations::format);
        Config.Publish publish = publish(t.table("publish"));
        t.finish();
        return new Config.MtaSts(enabled, caFile, connectTimeout, fetchTimeout, httpsPort, maxDomains,
                refreshInterval, publish);
    }

    /** {@code [mta_sts.publish]}: the policy we publish (RFC 8461 §3.2) and where the gateway serves it. */
    private Config.Publish publish(Table t) {
        Config.Publish d = Config.Publish.DEFAULT;
        InetSocketAddress listen = t.string("listen", d.listen(), "host:port", Listener::parseAddress);
        Path certificate = t.string("certificate", d.certificate(), "a file path", material::certificate);
        Path key = t.string("key", d.key(), "a file path", material::key);
        material.pair(t, "certificate", certificate, "key", key, problems);
        if (t.has("certificate") != t.has("key")) {
            problems.add(t.path(), "expected both certificate and key or neither (the [tls] ones), got only "
                    + (t.has("certificate") ? "certificate" : "key"));
        }
        String mode = t.string("mode", d.mode(), "enforce, testing or none", m -> switch (m) {
            case "enforce", "testing", "none" -> m;
            default -> throw Syntax.invalid("enforce, testing or none", m);
        });
        // RFC 8461 §3.2: max_age at most 31557600 seconds (365 days and 6 hours); Syntax caps durations at 365d.
        Duration maxAge = t.duration("max_age", d.maxAge(), Duration.ofSeconds(1), Syntax.MAX_DURATION);
        List<String> mx = t.list("mx", d.mx(), "an array of host names", "a host name like mx.example.com or a "
                + "pattern like *.example.com", Validator::mxPattern);
        t.finish();
        return certificate == null || key == null ? new Config.Publish(listen, null, null, mode, maxAge, mx)
                : new Config.Publish(listen, certificate, key, mode, maxAge, mx);
    }

    private static String mxPattern(String s) {
        boolean wildcard = s.startsWith("*.");
        String name = Syntax.hostNameOrNull(wildcard ? s.substring(2) : s);
        if (name == null || name.indexOf('.') < 0 && !wildcard) {
            throw Syntax.invalid("a host name like mx.example.com or a pattern like *.example.com", s);
        }
        return wildcard ? "*." + name : name;
    }

    /** [routes] is free-form: every key is a domain (".example.com": its subdomains), every value a next hop. */
    private Map<String, Route> routes(Table t, int smtpPort) {
        Map<String, Route> routes = new LinkedHashMap<>();
        for (String name : t.names()) {
            JsonNode v = t.raw(name);
            String domain;
            try {
                domain = Syntax.domainKey(name, "a domain like example.com or .example.com (its subdomains)");
            } catch (IllegalArgumentException e) {
                t.problem(name, e.getMessage());
                continue;
            }
            if (!v.isTextual()) {
                // partner.example = "..." unquoted is a dotted key: TOML makes a table "partner" of it.
                String hint = v.isObject() ? " (quote domain keys, like \"partner.example\" = \"[192.0.2.10]:25\")" : "";
                t.problem(name, "expected " + NEXT_HOP + ", got " + Table.render(v) + hint);
                continue;
            }
            try {
                Route route = Route.parse(v.textValue(), smtpPort);
                if (routes.putIfAbsent(domain, route) != null) {
                    t.problem(name, "expected each domain once (" + SPELLING + "), got " + Syntax.quote(name)
                            + " again");
                }
            } catch (IllegalArgumentException e) {
                t.problem(name, e.getMessage());
            }
        }
        return routes;
    }

    /**
     * Checks {@code low <= high} ({@code <} when strict), blaming the key the administrator actually wrote: the low one
     * when set, else the high one.
     */
    private static <T extends Comparable<T>> void ordered(Table t, String lowKey, T low, String highKey, T high,
                                                          boolean strict, Function<T, String> format) {
        int c = low.compareTo(high);
        if (c < 0 || (c == 0 && !strict)) return;
        if (t.has(lowKey) || !t.has(highKey)) {
            t.problem(lowKey, "expected " + (strict ? "less than " : "at most ") + t.key(highKey) + " ("
                    + format.apply(high) + "), got " + Table.render(t.raw(lowKey)));
        } else {
            t.problem(highKey, "expected " + (strict ? "more than " : "at least ") + t.key(lowKey) + " ("
                    + format.apply(low) + "), got " + Table.render(t.raw(highKey)));
        }
    }

    /**
     * {@code relay_networks}: each host in them may relay to any domain, so a network wider than a /16 (IPv4) or a
     * /48 (IPv6, a whole site's allocation) is refused unless {@code allow_wide_relay_networks = true}, and the whole
     * Internet (a /0) always: no one runs an open relay on purpose. Loopback (127.0.0.0/8, the default) is this
     * machine only, whatever its width.
     */
    private void notWide(Table top, List<Config.Network> networks) {
        boolean allowed = top.bool("allow_wide_relay_networks", false);
        JsonNode raw = top.raw("relay_networks");
        if (raw == null || !raw.isArray() || raw.size() != networks.size()) return; // a bad entry was reported
        for (int i = 0; i < networks.size(); i++) {
            Config.Network n = networks.get(i);
            boolean v4 = n.address().length == 4;
            String key = top.key("relay_networks") + "[" + i + "]";
            if (n.prefixLength() == 0) {
                problems.add(key, "expected your own networks, got " + Table.render(raw.get(i)) + ": the whole "
                        + (v4 ? "IPv4" : "IPv6") + " Internet could relay mail through this gateway (an open relay); "
                        + "remote clients should authenticate on a submission listener instead");
            } else if (!allowed && wide(n)) {
                problems.add(key, "expected a network no wider than " + (v4 ? "/16" : "/48") + ", got "
                        + Table.render(raw.get(i)) + ": every host in it may relay mail to any domain, an open relay "
                        + "if it reaches beyond your own hosts (set allow_wide_relay_networks = true if it does not)");
            }
        }
    }

    /** Wider than a /16 (IPv4) or a /48 (IPv6) and not loopback: needs {@code allow_wide_relay_networks}. */
    static boolean wide(Config.Network n) {
        return n.prefixLength() < (n.address().length == 4 ? 16 : 48) && !loopback(n);
    }

    /** 127.0.0.0/8 or narrower (the default): only this machine, which may relay whatever its width. */
    private static boolean loopback(Config.Network n) {
        return n.address().length == 4 && (n.address()[0] & 0xff) == 127 && n.prefixLength() >= 8;
    }

    /**
     * {@code [mta_sts.publish] listen}: the policy is served for mta-sts.DOMAIN of the local and relay domains with a
     * dot, so there must be one; and the port must not be a listener's.
     */
    private void publishable(Table top, Config.MtaSts mtaSts, List<Listener> listeners, Set<String> localDomains,
                             Set<String> relayDomains) {
        if (mtaSts == null || mtaSts.publish().listen() == null) return;
        String key = top.key("mta_sts") + ".publish.listen";
        if (localDomains.stream().noneMatch(d -> d.indexOf('.') > 0)
                && relayDomains.stream().noneMatch(d -> d.indexOf('.') > 0)) {
            problems.add(key, "expected local_domains or relay_domains to hold a domain with a dot to publish for "
                    + "(as mta-sts.DOMAIN), got none");
        }
        InetSocketAddress at = mtaSts.publish().listen();
        for (int i = 0; i < listeners.size(); i++) {
            if (overlap(listeners.get(i).address(), at)) {
                problems.add(key, "expected an address no listener uses, got " + Syntax.quote(at.getHostString() + ":"
                        + at.getPort()) + " (listeners[" + i + "] uses it)");
                break;
            }
        }
    }

    /**
     * {@code [admin] listen} (set or the default 127.0.0.1:8025) must not be a listener's address nor the MTA-STS
     * policy server's: one of them would fail to bind at start. Port 0 (the system picks) overlaps nothing.
     */
    private void adminApart(Table top, Config.Watch watch, List<Listener> listeners, Config.MtaSts mtaSts) {
        InetSocketAddress at = watch == null ? null : watch.admin().listen();
        if (at == null || at.getPort() == 0) return;
        String key = top.key("admin") + ".listen";
        String host = at.getAddress().getHostAddress();
        String got = Syntax.quote((host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + at.getPort())
                + (top.raw("admin") == null || !top.raw("admin").has("listen") ? " (the default)" : "");
        for (int i = 0; i < listeners.size(); i++) {
            if (overlap(listeners.get(i).address(), at)) {
                problems.add(key, "expected an address no listener uses, got " + got + " (listeners[" + i
                        + "] uses it)");
                return;
            }
        }
        InetSocketAddress sts = mtaSts == null ? null : mtaSts.publish().listen();
        if (sts != null && sts.getPort() != 0 && overlap(sts, at)) {
            problems.add(key, "expected an address the MTA-STS policy server does not use, got " + got + " ("
                    + top.key("mta_sts") + ".publish.listen uses it)");
        }
    }

    /** {@code data_dir}: made at the first start, so it may be missing, but not be something else than a directory. */
    private Path dataDir(String text) {
        Path p = path(text);
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new IllegalArgumentException(Syntax.invalid("a directory path", text).getMessage() + " (a file"
                    + (p.toString().equals(text) ? "" : ": " + p) + ")");
        }
        return p;
    }

    private Path path(String text) {
        try {
            if (!text.isBlank()) return baseDir.resolve(Path.of(text)).normalize();
        } catch (InvalidPathException e) {
            // reported below
        }
        throw Syntax.invalid("a path", text);
    }

    /** Certificate and key must be usable now: finding out at the first STARTTLS would be too late. */
    private Path readableFile(String text) {
        Path p = path(text);
        String where = p.toString().equals(text) ? "" : ": " + p;
        // Not a device or a pipe: reading /dev/zero or /dev/stdin at load time would never end.
        String trouble = !Files.exists(p) ? "file not found" : Files.isDirectory(p) ? "a directory, not a file"
                : !Files.isRegularFile(p) ? "not a regular file" : !Files.isReadable(p) ? "file not readable" : null;
        if (trouble == null) return p;
        throw new IllegalArgumentException(Syntax.invalid("a readable file", text).getMessage() + " (" + trouble + where
                + ")");
    }

    /** The machine's name, looked up once and only when a config leaves hostname out. */
    private static final class LocalHost {
        static final String NAME = lookup();

        private static String lookup() {
            try {
                String name = Syntax.hostNameOrNull(InetAddress.getLocalHost().getCanonicalHostName());
                if (name != null) return name;
            } catch (IOException | SecurityException e) {
                // no usable name: fall through
            }
            return "localhost";
        }
    }
}
