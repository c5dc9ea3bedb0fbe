package dev.postern.config;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.names.Domains;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A {@link Config} written back as TOML, key by key ({@code postern config show}): what loading that text gives is
 * the same Config (relative paths come out absolute; a masked secret is the one exception). Defaults are not known
 * here: the keys that differ from them are found by comparing with the Config the Validator makes of an empty file, or
 * of a table with only its required keys ({@link #differences}), so the Validator stays the one place defaults are
 * written.
 */
public final class ConfigToml {
    /** What a masked secret reads as. */
    static final String MASK = "********";

    /**
     * One key: its name, its value as TOML ({@code null}: not set, written as a comment saying what that means).
     */
    public record Key(String name, String toml, String unset) {
        static Key of(String name, String toml) { return new Key(name, toml, null); }

        /** {@code name = toml}, the name quoted where TOML needs it unless it is a dotted path already. */
        String line(boolean segment) {
            String n = segment ? Syntax.keySegment(name) : name;
            return toml != null ? n + " = " + toml : "# " + n + ": not set, " + unset;
        }
    }

    /**
     * One table as written: {@code header} its dotted path ("" for the top-level keys), {@code array} whether it is one
     * element of an array of tables ({@code [[listeners]]}), {@code note} a comment after its header (the Unicode form
     * of a domain key), {@code required} the keys a table of its kind must always have.
     */
    public record Table(String header, boolean array, List<Key> keys, String note, Set<String> required) {
        public Table {
            keys = List.copyOf(keys);
            required = Set.copyOf(required);
        }

        Optional<Key> key(String name) {
            return keys.stream().filter(k -> k.name().equals(name)).findFirst();
        }
    }

    private ConfigToml() {}

    /** Every table and key of {@code c}, with its effective value, in the order a config file has them. */
    public static List<Table> tables(Config c) {
        List<Table> out = new ArrayList<>();
        out.add(new Table("", false, List.of(
                Key.of("hostname", string(c.hostname())),
                Key.of("data_dir", path(c.dataDir())),
                Key.of("local_domains", strings(c.localDomains())),
                Key.of("relay_domains", strings(c.relayDomains())),
                Key.of("relay_networks", list(c.relayNetworks(), n -> string(n.toString()))),
                // not kept in Config: a loaded config holds a wide network only if the file allowed it
                Key.of("allow_wide_relay_networks",
                        String.valueOf(c.relayNetworks().stream().anyMatch(Validator::wide)))), null, Set.of()));
        for (Config.Listener l : c.listeners()) out.add(listener(l));
        out.addAll(tls(c.tls()));
        Config.Limits l = c.limits();
        out.add(table("limits",
                Key.of("max_line_length", String.valueOf(l.maxLineLength())),
                Key.of("max_message_size", size(l.maxMessageSize())),
                Key.of("max_recipients", String.valueOf(l.maxRecipients())),
                Key.of("max_errors", String.valueOf(l.maxErrors())),
                Key.of("junk_commands", String.valueOf(l.junkCommands())),
                Key.of("max_hops", String.valueOf(l.maxHops())),
                Key.of("command_timeout", duration(l.commandTimeout())),
                Key.of("data_timeout", duration(l.dataTimeout())),
                Key.of("session_timeout", duration(l.sessionTimeout())),
                Key.of("max_connections", String.valueOf(l.maxConnections())),
                Key.of("max_active_sessions", String.valueOf(l.maxActiveSessions())),
                Key.of("max_connections_per_ip", String.valueOf(l.maxConnectionsPerIp())),
                Key.of("shutdown_grace", duration(l.shutdownGrace())),
                Key.of("stress_timeout", duration(l.stressTimeout()))));
        Config.Queue q = c.queue();
        out.add(table("queue",
                Key.of("retry_first", duration(q.retryFirst())),
                Key.of("retry_max", duration(q.retryMax())),
                Key.of("lifetime", duration(q.lifetime())),
                Key.of("delay_warning", q.delayWarning() == null ? string("off") : duration(q.delayWarning()))));
        Config.Delivery d = c.delivery();
        out.add(table("delivery",
                Key.of("concurrency", String.valueOf(d.concurrency())),
                Key.of("per_destination", String.valueOf(d.perDestination())),
                Key.of("connect_timeout", duration(d.connectTimeout())),
                Key.of("command_timeout", duration(d.commandTimeout())),
                Key.of("data_timeout", duration(d.dataTimeout())),
                Key.of("smtp_port", String.valueOf(d.smtpPort())),
                Key.of("tls_provider", string(d.tlsProvider().configName()))));
        Config.Dns dns = c.dns();
        out.add(new Table("dns", false, List.of(
                Key.of("servers", list(dns.servers(), a -> string(address(a)))),
                Key.of("timeout", duration(dns.timeout())),
                Key.of("dnssec", string(dns.dnssec() == Config.Dnssec.OFF ? "off" : "validate")),
                Key.of("trust_ad", String.valueOf(dns.dnssec() == Config.Dnssec.TRUST_AD)),
                new Key("trust_anchor_file", nullable(dns.trustAnchorFile(), ConfigToml::path),
                        "so the IANA root's trust anchors")), null,
                // with servers, trust_ad is always written: left out, loopback servers would turn it on
                dns.servers().isEmpty() ? Set.of() : Set.of("trust_ad")));
        List<Key> routes = new ArrayList<>();
        c.routes().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> routes.add(Key.of(e.getKey(), string(route(e.getValue())))));
        out.add(new Table("routes", false, routes, null, Set.of()));
        out.add(new Table("outbound_tls.default", false, policy(c.outboundTls().defaultPolicy()), null, Set.of()));
        c.outboundTls().domains().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            List<Key> keys = new ArrayList<>(policy(e.getValue()));
            Config.MemoryMode memory = c.peerMemory().domains().get(e.getKey());
            keys.add(new Key("memory", memory == null ? null : string(memory.word()), "so [peer_memory] outbound"));
            out.add(new Table("outbound_tls." + Syntax.keySegment(e.getKey()), false, keys, unicode(e.getKey()),
                    Set.of("level")));
        });
        Config.PeerMemory m = c.peerMemory();
        out.add(table("peer_memory",
                Key.of("outbound", string(m.outbound().word())),
                Key.of("inbound", string(m.inbound().word())),
                Key.of("max_domains", String.valueOf(m.maxDomains())),
                Key.of("flush_interval", duration(m.flushInterval()))));
        for (Config.Partner p : c.inbound().partners()) out.add(partner(p));
        for (Config.RelayClient r : c.inbound().relayClients()) out.add(relayClient(r));
        c.inbound().recipients().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
                out.add(new Table("recipients." + Syntax.keySegment(e.getKey()), false, List.of(
                        new Key("file", nullable(e.getValue().file(), ConfigToml::path), "so no list"),
                        Key.of("verify", String.valueOf(e.getValue().verify()))), unicode(e.getKey()), Set.of())));
        Config.RecipientVerification v = c.inbound().verification();
        out.add(table("recipient_verification",
                Key.of("positive_ttl", duration(v.positiveTtl())),
                Key.of("negative_ttl", duration(v.negativeTtl())),
                Key.of("cache_size", String.valueOf(v.cacheSize())),
                Key.of("timeout", duration(v.timeout())),
                Key.of("max_probes", String.valueOf(v.maxProbes()))));
        Config.AuthLimits a = c.inbound().auth();
        out.add(table("auth",
                Key.of("max_failures", String.valueOf(a.maxFailures())),
                Key.of("window", duration(a.window())),
                Key.of("lockout", duration(a.lockout())),
                Key.of("max_lockout", duration(a.maxLockout())),
                Key.of("network_max_failures", String.valueOf(a.networkMaxFailures())),
                Key.of("network_lockout", duration(a.networkLockout())),
                Key.of("network_prefix_ipv4", String.valueOf(a.ipv4Prefix())),
                Key.of("network_prefix_ipv6", String.valueOf(a.ipv6Prefix())),
                Key.of("failure_delay", duration(a.failureDelay()))));
        out.add(table("policy", Key.of("max_override", duration(c.outboundTls().maxOverride()))));
        out.add(table("log", Key.of("format", string(c.log().format().word()))));
        Config.Audit au = c.audit();
        out.add(table("audit",
                new Key("url", nullable(au.url(), u -> string(maskUrl(u))), "so SQLite at data_dir/audit/audit.db"),
                new Key("user", nullable(au.user(), ConfigToml::string), "so the driver's default"),
                new Key("password_file", nullable(au.passwordFile(), ConfigToml::path), "so no password"),
                new Key("gateway_name", nullable(au.gatewayName(), ConfigToml::string), "so hostname"),
                Key.of("retention", duration(au.retention())),
                Key.of("queue_size", String.valueOf(au.queueSize())),
                Key.of("spill_max", size(au.spillMax()))));
        Config.MtaSts s = c.mtaSts();
        out.add(table("mta_sts",
                Key.of("enabled", String.valueOf(s.enabled())),
                new Key("ca_file", nullable(s.caFile(), ConfigToml::path), "so the system store only"),
                Key.of("connect_timeout", duration(s.connectTimeout())),
                Key.of("fetch_timeout", duration(s.fetchTimeout())),
                Key.of("https_port", String.valueOf(s.httpsPort())),
                Key.of("max_domains", String.valueOf(s.maxDomains())),
                Key.of("refresh_interval", duration(s.refreshInterval()))));
        Config.Publish p = s.publish();
        out.add(table("mta_sts.publish",
                new Key("listen", nullable(p.listen(), x -> string(address(x))), "so not served"),
                new Key("certificate", nullable(p.certificate(), ConfigToml::path), "so the [tls] one"),
                new Key("key", nullable(p.key(), ConfigToml::path), "so the [tls] one"),
                Key.of("mode", string(p.mode())),
                Key.of("max_age", duration(p.maxAge())),
                Key.of("mx", strings(p.mx()))));
        watch(c.watch(), out);
        out.add(acme(c.tls().acme()));
        return out;
    }

    /** {@code [admin]}, {@code [alerts]}, {@code [probes]} and {@code [tls_rpt]}. */
    private static void watch(Config.Watch w, List<Table> out) {
        Config.Admin ad = w.admin();
        out.add(table("admin",
                Key.of("listen", string(ad.listen() == null ? "" : address(ad.listen()))),
                Key.of("tls", String.valueOf(ad.tls()))));
        Config.Alerts al = w.alerts();
        out.add(table("alerts",
                new Key("webhook", nullable(al.webhook(), u -> string(u.toString())), "so no webhook"),
                new Key("mail_to", nullable(al.mailTo(), ConfigToml::string), "so no mail"),
                Key.of("certificate_warning", duration(al.certificateWarning())),
                Key.of("queue_size", String.valueOf(al.queueSize())),
                Key.of("queue_age", duration(al.queueAge()))));
        Config.Probes pr = w.probes();
        out.add(table("probes",
                Key.of("enabled", String.valueOf(pr.enabled())),
                Key.of("interval", duration(pr.interval())),
                Key.of("timeout", duration(pr.timeout())),
                Key.of("domains", strings(pr.domains()))));
        Config.TlsRpt r = w.tlsRpt();
        out.add(table("tls_rpt",
                Key.of("send", String.valueOf(r.send())),
                new Key("organization", nullable(r.organization(), ConfigToml::string), "so the hostname"),
                new Key("contact", nullable(r.contact(), ConfigToml::string), "so postmaster@hostname"),
                new Key("from", nullable(r.from(), ConfigToml::string), "so postmaster@hostname"),
                new Key("receive_address", nullable(r.receiveAddress(), ConfigToml::string), "so none"),
                Key.of("max_report_size", size(r.maxReportSize()))));
    }

    /** {@code [acme]}. */
    private static Table acme(Config.Acme a) {
        return table("acme",
                Key.of("enabled", String.valueOf(a.enabled())),
                Key.of("directory", string(a.directory().toString())),
                new Key("contact", nullable(a.contact(), ConfigToml::string), "so none"),
                Key.of("names", strings(a.names())),
                Key.of("challenge", string(a.challenge().configName())),
                Key.of("http_address", string(address(a.httpAddress()))),
                Key.of("tls_address", string(address(a.tlsAddress()))),
                Key.of("key_type", string(a.keyType().configName())),
                new Key("trust", nullable(a.trust(), ConfigToml::path), "so the system store"),
                new Key("renew_before", nullable(a.renewBefore(), ConfigToml::duration),
                        "so when a third of the lifetime is left"),
                Key.of("retry_first", duration(a.retryFirst())),
                Key.of("retry_max", duration(a.retryMax())));
    }

    private static Table listener(Config.Listener l) {
        Config.ListenerTls t = l.tls();
        return new Table("listeners", true, List.of(
                Key.of("address", string(address(l.address()))),
                Key.of("role", string(l.role().name().toLowerCase(Locale.ROOT))),
                Key.of("require_tls", String.valueOf(t.requireTls())),
                Key.of("client_certificate", string(t.clientCertificate().name().toLowerCase(Locale.ROOT))),
                new Key("client_ca_file", nullable(t.clientCaFile(), ConfigToml::path), "so the system store"),
                Key.of("min_protocol", string(t.minProtocol())),
                Key.of("ciphers", strings(t.ciphers())),
                Key.of("min_cipher_bits", String.valueOf(t.minCipherBits()))), null, Set.of("address", "role"));
    }

    /** One pair as certificate and key; several as [[tls.certificates]]; none: generated ones. */
    private static List<Table> tls(Config.Tls tls) {
        List<Config.CertificatePair> pairs = tls.pairs();
        List<Key> keys = new ArrayList<>();
        String generated = "so self-signed certificates are generated under data_dir/tls";
        if (pairs.size() <= 1) {
            keys.add(new Key("certificate", pairs.isEmpty() ? null : path(tls.certificate()), generated));
            keys.add(new Key("key", pairs.isEmpty() ? null : path(tls.key()), generated));
        }
        keys.add(Key.of("provider", string(tls.provider().configName())));
        List<Table> out = new ArrayList<>();
        out.add(new Table("tls", false, keys, null, Set.of()));
        if (pairs.size() > 1) {
            for (Config.CertificatePair p : pairs) {
                out.add(new Table("tls.certificates", true, List.of(Key.of("certificate", path(p.certificate())),
                        Key.of("key", path(p.key()))), null, Set.of("certificate", "key")));
            }
        }
        return out;
    }

    private static List<Key> policy(Config.TlsPolicy p) {
        return List.of(
                Key.of("level", string(p.level().word())),
                Key.of("mode", string(p.mode().name().toLowerCase(Locale.ROOT))),
                Key.of("min_protocol", string(p.minProtocol())),
                Key.of("ciphers", strings(p.ciphers())),
                Key.of("min_cipher_bits", String.valueOf(p.minCipherBits())),
                new Key("min_key_bits", p.minKeyBits() == Config.TlsPolicy.LEVEL_KEY_FLOOR ? null
                        : String.valueOf(p.minKeyBits()),
                        "so the level's floor (RSA 2048, EC 256 bits from encrypt up)"),
                Key.of("match", strings(p.match())),
                new Key("ca_file", nullable(p.caFile(), ConfigToml::path), "so the system store"),
                Key.of("fingerprints", strings(p.fingerprints())),
                new Key("client_certificate", nullable(p.clientCertificate(), ConfigToml::path), "so none"),
                new Key("client_key", nullable(p.clientKey(), ConfigToml::path), "so none"));
    }

    private static Table partner(Config.Partner p) {
        return new Table("partners", true, List.of(
                Key.of("name", string(p.name())),
                Key.of("sender_domains", strings(p.senderDomains())),
                Key.of("networks", list(p.networks(), n -> string(n.toString()))),
                Key.of("client_names", strings(p.clientNames())),
                Key.of("require_tls", String.valueOf(p.requireTls())),
                Key.of("require_client_certificate", String.valueOf(p.requireClientCertificate())),
                new Key("ca_file", nullable(p.caFile(), ConfigToml::path), "so the listener's client_ca_file"),
                Key.of("min_protocol", string(p.minProtocol())),
                Key.of("min_cipher_bits", String.valueOf(p.minCipherBits()))), null, Set.of("name"));
    }

    private static Table relayClient(Config.RelayClient r) {
        return new Table("relay_clients", true, List.of(
                Key.of("fingerprints", strings(r.fingerprints())),
                new Key("ca_file", nullable(r.caFile(), ConfigToml::path), "so fingerprints only"),
                Key.of("names", strings(r.names()))), null, Set.of("fingerprints", "ca_file", "names"));
    }

    private static Table table(String header, Key... keys) {
        return new Table(header, false, List.of(keys), null, Set.of());
    }

    // ---- which keys to write ----

    /**
     * The tables of {@code c} with only the keys that differ from {@code defaults} (what an empty file gives), as
     * {@code postconf -n} shows what main.cf changes; tables left without keys are dropped. Arrays of tables are
     * written whole when they differ at all (a listener with its address and role, and its keys that differ from a
     * listener's defaults). A table of a domain ({@code [outbound_tls."x"]}, {@code [recipients."x"]}) is compared
     * with the same kind of table holding only its required keys.
     *
     * @param always top-level keys written even when they equal the default ({@code data_dir}, whose default depends
     *               on where the file is)
     */
    public static List<Table> differences(Config c, Config defaults, Set<String> always) {
        List<Table> mine = tables(c), base = tables(defaults);
        Map<String, List<Table>> arrays = arrays(mine), baseArrays = arrays(base);
        List<Table> out = new ArrayList<>();
        for (Table t : mine) {
            Table reference;
            if (t.array()) {
                if (arrays.get(t.header()).equals(baseArrays.get(t.header()))) continue;
                reference = elementDefaults(t);
            } else {
                reference = base.stream().filter(b -> b.header().equals(t.header())).findFirst()
                        .orElseGet(() -> elementDefaults(t));
            }
            List<Key> keys = new ArrayList<>();
            for (Key k : t.keys()) {
                Key r = reference.key(k.name()).orElse(null);
                boolean same = r != null ? Objects.equals(r.toml(), k.toml()) : k.toml() == null;
                if (!same || t.required().contains(k.name()) && k.toml() != null || always.contains(k.name())
                        && t.header().isEmpty()) {
                    keys.add(k);
                }
            }
            if (!keys.isEmpty() || t.array()) out.add(new Table(t.header(), t.array(), keys, t.note(), t.required()));
        }
        return out;
    }

    private static Map<String, List<Table>> arrays(List<Table> tables) {
        Map<String, List<Table>> out = new LinkedHashMap<>();
        for (Table t : tables) if (t.array()) out.computeIfAbsent(t.header(), h -> new ArrayList<>()).add(t);
        return out;
    }

    /**
     * A table of the same kind as {@code t} with only its required keys, as the Validator makes it: what each other
     * key is when left out.
     */
    private static Table elementDefaults(Table t) {
        List<Key> keys;
        if (t.header().equals("listeners")) {
            keys = listener(minimal(root -> root.putArray("listeners").addObject().put("address", "127.0.0.1:1")
                    .put("role", "mx")).listeners().getFirst()).keys();
        } else if (t.header().equals("partners")) {
            keys = partner(minimal(root -> root.putArray("partners").addObject().put("name", "x")
                    .putArray("sender_domains").add("x.example")).inbound().partners().getFirst()).keys();
        } else if (t.header().startsWith("outbound_tls.")) {
            String level = unquote(t.key("level").orElseThrow().toml());
            Config c = minimal(root -> {
                ObjectNode p = root.putObject("outbound_tls").putObject("x.example").put("level", level);
                if (PolicyValidator.level(level) == Config.TlsLevel.FINGERPRINT) {
                    p.putArray("fingerprints").add("0".repeat(64)); // required at that level
                }
            });
            keys = new ArrayList<>(policy(c.outboundTls().domains().get("x.example")));
            keys.add(new Key("memory", null, ""));
        } else if (t.header().startsWith("recipients.")) {
            keys = List.of(new Key("file", null, ""), Key.of("verify", "false"));
        } else {
            keys = List.of(); // every key of it is written
        }
        return new Table(t.header(), t.array(), keys, null, Set.of());
    }

    /** The Config the Validator makes of the tree {@code fill} writes: the defaults of every key left out. */
    private static Config minimal(Consumer<ObjectNode> fill) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        fill.accept(root);
        Problems problems = new Problems("(defaults)");
        Config c = new Validator(Path.of("").toAbsolutePath(), problems).validate(root, null);
        if (c == null) throw new IllegalStateException(String.join("; ", problems.lines()));
        return c;
    }

    // ---- selecting keys ----

    /**
     * The keys and tables that {@code names} select, as TOML: a key path as written ({@code delivery.concurrency},
     * {@code outbound_tls."bank.example".level}, the quotes optional) becomes one line in dotted form
     * ({@code delivery.concurrency = 100}), a whole table ({@code delivery}, {@code listeners}, {@code outbound_tls})
     * is written with its header; single keys come first, as TOML wants them before any header.
     *
     * @throws IllegalArgumentException naming the first unknown name, with the closest known key when there is one
     */
    public static String select(List<Table> tables, Collection<String> names) {
        Map<String, Key> keys = new LinkedHashMap<>(); // "delivery.concurrency" (quotes removed) -> key
        for (Table t : tables) {
            for (Key k : t.keys()) {
                if (!t.array()) keys.put(bare(dotted(t.header(), k.name())), k);
            }
        }
        List<String> wanted = new ArrayList<>();
        for (String n : names) {
            String b = bare(n);
            boolean table = tables.stream().anyMatch(t -> within(bare(t.header()), b));
            if (!table && !keys.containsKey(b)) {
                Set<String> known = new java.util.LinkedHashSet<>(keys.keySet());
                tables.forEach(t -> known.add(bare(t.header())));
                String hint = Suggestions.closest(b, known).map(k -> " (did you mean " + Syntax.quote(k) + "?)")
                        .orElse("");
                throw new IllegalArgumentException("no key or table " + Syntax.quote(n) + hint
                        + " (expected a key like delivery.concurrency or a table like delivery)");
            }
            wanted.add(b);
        }
        StringBuilder single = new StringBuilder();
        List<Table> whole = new ArrayList<>();
        for (Table t : tables) {
            if (wanted.stream().anyMatch(w -> within(bare(t.header()), w))) {
                whole.add(t);
            } else if (!t.array()) {
                for (Key k : t.keys()) {
                    if (!wanted.contains(bare(dotted(t.header(), k.name())))) continue;
                    single.append(new Key(dotted(t.header(), k.name()), k.toml(), k.unset()).line(false)).append('\n');
                }
            }
        }
        String tablesText = write(whole, List.of());
        return single + (single.isEmpty() || tablesText.isEmpty() ? "" : "\n") + tablesText;
    }

    /** Whether a table with (bare) header {@code header} is {@code wanted} or below it. */
    private static boolean within(String header, String wanted) {
        return !header.isEmpty() && (header.equals(wanted) || header.startsWith(wanted + "."));
    }

    private static String dotted(String header, String key) {
        return header.isEmpty() ? Syntax.keySegment(key) : header + "." + Syntax.keySegment(key);
    }

    /** A key path without its quotes, as an administrator may type it ({@code outbound_tls.bank.example.level}). */
    private static String bare(String path) {
        return path.replace("\"", "").strip();
    }

    // ---- writing ----

    /** The tables as TOML text; {@code comments} first, each a "#" line. */
    public static String write(List<Table> tables, List<String> comments) {
        StringBuilder b = new StringBuilder();
        comments.forEach(c -> b.append("# ").append(c).append('\n'));
        for (Table t : tables) {
            if (!t.header().isEmpty()) {
                if (!b.isEmpty()) b.append('\n');
                b.append(t.array() ? "[[" + t.header() + "]]" : "[" + t.header() + "]");
                if (t.note() != null) b.append("  # ").append(t.note());
                b.append('\n');
            }
            for (Key k : t.keys()) b.append(k.line(true)).append('\n');
        }
        return b.toString();
    }

    // ---- values ----

    static String string(String s) {
        return Syntax.quote(s);
    }

    private static String path(Path p) {
        return string(p.toString());
    }

    private static String strings(Collection<String> values) {
        return list(values, ConfigToml::string);
    }

    private static <T> String list(Collection<T> values, Function<T, String> each) {
        return values.stream().map(each).collect(java.util.stream.Collectors.joining(", ", "[", "]"));
    }

    private static <T> String nullable(T value, Function<T, String> toml) {
        return value == null ? null : toml.apply(value);
    }

    /** Our notation when it is exact ("1h30m"), else ISO-8601 (a duration with parts of a millisecond). */
    private static String duration(Duration d) {
        return string(d.getNano() % 1_000_000 == 0 ? Durations.format(d) : d.toString());
    }

    private static String size(long bytes) {
        String s = Syntax.formatSize(bytes);
        return s.equals(Long.toString(bytes)) ? s : string(s);
    }

    /** "192.0.2.1:25", "[2001:db8::1]:25". */
    private static String address(InetSocketAddress a) {
        String ip = Syntax.formatIp(a.getAddress().getAddress());
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + a.getPort();
    }

    /** A next hop as [routes] reads it, with its port. */
    private static String route(Config.Route r) {
        if (r.mxLookup()) return r.host() + ":" + r.port();
        return "[" + r.host() + "]:" + r.port();
    }

    /** The Unicode form of a domain key when it differs from the lookup form, else null. */
    private static String unicode(String key) {
        String prefix = key.startsWith(".") ? "." : "";
        String u = prefix + Domains.toUnicode(key.substring(prefix.length()));
        return u.equals(key) ? null : u;
    }

    private static String unquote(String toml) {
        return toml.substring(1, toml.length() - 1);
    }

    private static final Pattern USER_INFO = Pattern.compile("(//[^/@:?]*:)[^/@]*@");
    private static final Pattern SECRET_PARAMETER = Pattern.compile(
            "([?&;][^=&;]*(?:password|secret|token)[^=&;]*=)[^&;]*", Pattern.CASE_INSENSITIVE);

    /**
     * A database URL with its secrets masked: the password of {@code //user:password@host} and the value of any
     * parameter named like a password, secret or token (the loader refuses {@code password=}, not these).
     */
    static String maskUrl(String url) {
        String masked = USER_INFO.matcher(url).replaceAll("$1" + MASK + "@");
        return SECRET_PARAMETER.matcher(masked).replaceAll("$1" + MASK);
    }
}
