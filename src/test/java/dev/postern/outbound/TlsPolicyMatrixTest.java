package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitMailbox;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.entry;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.recipient;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import dev.postern.config.Config.PolicyMode;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dns.TestDnsServer;
import dev.postern.queue.Envelope;
import dev.postern.queue.Spool;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.Pem;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Security;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outbound TLS policy matrix: every level (none, may, encrypt, fingerprint, verify, secure, and secure in testing
 * mode) against every kind of partner server, with real TLS on loopback and certificates made here.
 *
 * <p>Each peer is a {@link ScriptedSmtpServer} on its own loopback address (127.0.77.N) and one shared port, reached
 * through MX records of a {@link TestDnsServer}, so that the "MX host name" verify checks is a real DNS name
 * (mx.partner.test), not the static-route host 127.0.0.1. Peers 7 and 8 (TLS 1.0/1.1 only, a weak suite only) run in
 * a child JVM whose java.security lifts the JDK's ban on them ({@link LegacyTlsPeer}), so only Postern can refuse them.
 *
 * <p>One gateway per column, all delivering at once; each cell waits only for its message's first attempt. Every
 * domain has a static policy entry, so the source in deferral texts is {@code static entry "DOMAIN"}.
 */
class TlsPolicyMatrixTest {
    @TempDir static Path dir;

    static final String FROM = "alice@a.example";
    static final String LOOPBACK_NET = "127.0.77.";

    /** The partner servers. */
    enum Peer {
        PLAIN(1, "mx.plain.test"),
        SELF_SIGNED(2, "mx.selfsigned.test"),
        EXPIRED(3, "mx.expired.test"),
        WRONG_NAME(4, "mx.wrongname.test"),
        VENDOR(5, "mx.vendor.test"),
        UNTRUSTED(6, "mx.untrusted.test"),
        LEGACY(7, "mx.legacy.test"),
        WEAK(8, "mx.weak.test"),
        AES128(9, "mx.aes128.test"),
        GOOD(10, "mx.partner.test"),
        DOMAIN_NAME(11, "mx.domainname.test");

        final int number;
        final String mxHost;

        Peer(int number, String mxHost) {
            this.number = number;
            this.mxHost = mxHost;
        }

        String ip() { return LOOPBACK_NET + number; }
    }

    /** The matrix rows: a destination domain, the peer its MX points to, and what the peer is. */
    enum Row {
        PLAIN(Peer.PLAIN, "plain.test", "1 no STARTTLS"),
        SELF_SIGNED(Peer.SELF_SIGNED, "selfsigned.test", "2 self-signed"),
        EXPIRED(Peer.EXPIRED, "expired.test", "3 expired (test CA)"),
        WRONG_NAME(Peer.WRONG_NAME, "wrongname.test", "4 wrong name mx.attacker.test"),
        VENDOR_MATCH(Peer.VENDOR, "insurer.test", "5 mx.vendor.test, match *.vendor.test"),
        VENDOR_MX_NAME(Peer.VENDOR, "broker.test", "5b mx.vendor.test, no match"),
        UNTRUSTED(Peer.UNTRUSTED, "untrusted.test", "6 untrusted CA"),
        LEGACY(Peer.LEGACY, "legacy.test", "7 TLS 1.0/1.1 only"),
        WEAK(Peer.WEAK, "weak.test", "8 weak suite only"),
        AES128(Peer.AES128, "aes128.test", "9 AES-128 only, min_cipher_bits 256"),
        GOOD(Peer.GOOD, "partner.test", "10 good (test CA)"),
        WRONG_PIN(Peer.GOOD, "pinned.test", "10b good, wrong pin"),
        DOMAIN_NAME(Peer.DOMAIN_NAME, "domainname.test", "11 names the domain, not the MX host"),
        // Issue 11 item 2: a Unicode recipient domain (SMTPUTF8) is held to its partner's policy like the ASCII form.
        IDN(Peer.SELF_SIGNED, "xn--bcher-kva.test", "bücher.test", null, "2u bücher.test, policy \"xn--bcher-kva\""),
        IDN_VARIANT(Peer.SELF_SIGNED, "xn--mnchen-3ya.test", "ＭÜnchen．TEST.", "München.Test",
                "2v ＭÜnchen．TEST., policy \"München\" in the file");

        final Peer peer;
        /** The destination in lookup form: DNS name, relay domain, policy key. */
        final String domain;
        /** The domain as the client writes it in RCPT TO. */
        final String written;
        /** Non-null: the policy comes from a config file, keyed by this spelling; else it is keyed by {@code domain}. */
        final String fileKey;
        final String label;

        Row(Peer peer, String domain, String label) {
            this(peer, domain, domain, null, label);
        }

        Row(Peer peer, String domain, String written, String fileKey, String label) {
            this.peer = peer;
            this.domain = domain;
            this.written = written;
            this.fileKey = fileKey;
            this.label = label;
        }

        boolean smtputf8() { return !written.chars().allMatch(ch -> ch < 0x80); }
    }

    /** The matrix columns: a level and mode; one gateway each. */
    enum Column {
        NONE(TlsLevel.NONE, PolicyMode.ENFORCE, "none"),
        MAY(TlsLevel.MAY, PolicyMode.ENFORCE, "may"),
        ENCRYPT(TlsLevel.ENCRYPT, PolicyMode.ENFORCE, "encrypt"),
        FINGERPRINT(TlsLevel.FINGERPRINT, PolicyMode.ENFORCE, "fingerprint"),
        VERIFY(TlsLevel.VERIFY, PolicyMode.ENFORCE, "verify"),
        SECURE(TlsLevel.SECURE, PolicyMode.ENFORCE, "secure"),
        TESTING(TlsLevel.SECURE, PolicyMode.TESTING, "secure/testing");

        final TlsLevel level;
        final PolicyMode mode;
        final String label;

        Column(TlsLevel level, PolicyMode mode, String label) {
            this.level = level;
            this.mode = mode;
            this.label = label;
        }

        boolean enforced() { return level.requiresTls() && mode == PolicyMode.ENFORCE; }

        String key() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /**
     * Expected outcomes, one string per column (none, may, encrypt, fingerprint, verify, secure, secure/testing):
     * "clear" delivered without TLS; "tls" delivered over TLS; "X:text" deferred, the recipient's last result
     * containing text; "-" not tried. After "clear"/"tls": "~text" the delivery's log record contains text,
     * "!text" a testing-mode would-fail containing text was logged (without "!", testing cells must log none).
     */
    static final List<String> SELF_SIGNED_CELLS = List.of("clear", "tls~cert=\"unverified: self-signed", "tls",
            "tls~cert=\"verified by its pinned fingerprint", "X:self-signed certificate", "X:self-signed certificate",
            "tls!self-signed certificate");

    static final Map<Row, List<String>> EXPECTED = new EnumMap<>(Map.ofEntries(
            Map.entry(Row.IDN, SELF_SIGNED_CELLS),
            Map.entry(Row.IDN_VARIANT, SELF_SIGNED_CELLS),
            Map.entry(Row.PLAIN, List.of("clear",
                    "clear~tls=\"none (downgraded: mx.plain.test[127.0.77.1]:PORT: does not offer STARTTLS)",
                    "X:does not offer STARTTLS", "X:does not offer STARTTLS", "X:does not offer STARTTLS",
                    "X:does not offer STARTTLS", "clear!mx.plain.test[127.0.77.1]:PORT: does not offer STARTTLS")),
            Map.entry(Row.SELF_SIGNED, SELF_SIGNED_CELLS),
            Map.entry(Row.EXPIRED, List.of("clear", "tls~cert=\"unverified: certificate expired", "tls",
                    "tls~cert=\"verified by its pinned fingerprint", "X:certificate expired on", "X:certificate expired on",
                    "tls!certificate expired on")),
            Map.entry(Row.WRONG_NAME, List.of("clear", "tls~cert=\"unverified: name mismatch", "tls",
                    "tls~cert=\"verified by its pinned fingerprint",
                    "X:certificate name mismatch: mx.attacker.test does not match mx.wrongname.test",
                    "X:certificate name mismatch: mx.attacker.test does not match wrongname.test or .wrongname.test",
                    "tls!certificate name mismatch")),
            Map.entry(Row.VENDOR_MATCH, List.of("clear", "tls~cert=\"verified for mx.vendor.test", "tls",
                    "tls~cert=\"verified by its pinned fingerprint", "tls~cert=\"verified for mx.vendor.test",
                    "tls~cert=\"verified for mx.vendor.test", "tls~cert=\"verified for mx.vendor.test")),
            Map.entry(Row.VENDOR_MX_NAME, List.of("clear", "tls~cert=\"verified for mx.vendor.test", "tls",
                    "tls~cert=\"verified by its pinned fingerprint", "tls~cert=\"verified for mx.vendor.test",
                    "X:certificate name mismatch: mx.vendor.test does not match broker.test or .broker.test",
                    "tls!certificate name mismatch")),
            Map.entry(Row.UNTRUSTED, List.of("clear", "tls~cert=\"unverified: untrusted chain", "tls",
                    "tls~cert=\"verified by its pinned fingerprint", "X:untrusted chain (issuer CN=Other CA)",
                    "X:untrusted chain (issuer CN=Other CA)", "tls!untrusted chain")),
            // TLS 1.0/1.1 stay banned by the JDK even for the broad retry: clear text, and the line says why.
            Map.entry(Row.LEGACY, List.of("clear", "clear~tls=\"none (downgraded: mx.legacy.test[127.0.77.7]:PORT: TLS "
                            + "handshake failed: ",
                    "X:TLS handshake failed: ", "X:TLS handshake failed: ", "X:TLS handshake failed: ",
                    "X:TLS handshake failed: ", "clear!TLS handshake failed: ")),
            // Any encryption beats none (RFC 7435): may and testing retry with the broad suite set and get TLS,
            // recorded as weak; enforced levels never retry weaker.
            Map.entry(Row.WEAK, List.of("clear", "tls~ (weak: mx.weak.test[127.0.77.8]:PORT: TLS handshake failed: ",
                    "X:TLS handshake failed: ", "X:TLS handshake failed: ", "X:TLS handshake failed: ",
                    "X:TLS handshake failed: ", "tls!TLS handshake failed: ")),
            // Under may the constraints are not offered (they would only push the mail into clear text): AES-128 TLS.
            Map.entry(Row.AES128, List.of("clear", "tls",
                    "X:TLS handshake failed with the policy's min_cipher_bits 256: ",
                    "X:TLS handshake failed with the policy's min_cipher_bits 256: ",
                    "X:TLS handshake failed with the policy's min_cipher_bits 256: ",
                    "X:TLS handshake failed with the policy's min_cipher_bits 256: ",
                    "tls!cipher TLS_AES_128_GCM_SHA256 has 128-bit keys, policy requires 256")),
            Map.entry(Row.GOOD, List.of("clear", "tls~cert=\"verified for mx.partner.test (issuer CN=Postern Test CA)",
                    "tls", "tls~cert=\"verified by its pinned fingerprint", "tls~cert=\"verified for mx.partner.test",
                    "tls~cert=\"verified for mx.partner.test", "tls~cert=\"verified for mx.partner.test")),
            Map.entry(Row.WRONG_PIN, List.of("-", "-", "-", "X:fingerprint mismatch: certificate sha256 ", "-", "-",
                    "-")),
            // verify wants the MX host name only (Postfix's "hostname"), not the recipient domain; secure wants the
            // domain or its subdomains (Postfix's "nexthop, dot-nexthop").
            Map.entry(Row.DOMAIN_NAME, List.of("clear", "tls~cert=\"unverified: name mismatch", "tls",
                    "tls~cert=\"verified by its pinned fingerprint",
                    "X:certificate name mismatch: domainname.test does not match mx.domainname.test",
                    "tls~cert=\"verified for domainname.test", "tls~cert=\"verified for domainname.test"))));

    static TestDnsServer dns;
    static int port;
    static Path caFile;
    static KeyMaterial testCa;
    static final Map<Peer, KeyMaterial> certs = new EnumMap<>(Peer.class);
    static final Map<Peer, ScriptedSmtpServer> servers = new EnumMap<>(Peer.class);
    static final Map<Peer, ChildPeer> children = new EnumMap<>(Peer.class);
    static final Map<Column, Gateway> gateways = new EnumMap<>(Column.class);
    static final Map<String, String> ids = new ConcurrentHashMap<>();          // cell key -> queue id
    static final Map<String, String> observed = new ConcurrentHashMap<>();     // cell key -> short outcome
    static final Map<String, String> reasons = new ConcurrentHashMap<>();      // cell key -> full deferral reason
    static Outbound.SchedulerLog log;
    static Instant started;

    // ---- the world: CA, certificates, peers, DNS, one gateway per column ----

    @BeforeAll static void startWorld() throws Exception {
        started = Instant.now();
        log = new Outbound.SchedulerLog();
        Instant now = Instant.now();
        testCa = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial otherCa = Certificates.certificateAuthority("Other CA", KeyType.EC_P256, Duration.ofDays(30));
        caFile = dir.resolve("test-ca.pem");
        Pem.write(testCa, caFile, dir.resolve("test-ca.key"));
        Instant recently = now.minus(Duration.ofMinutes(5));
        certs.put(Peer.SELF_SIGNED, Certificates.selfSigned(List.of(Peer.SELF_SIGNED.mxHost), KeyType.EC_P256,
                Duration.ofDays(10)));
        certs.put(Peer.EXPIRED, Certificates.issue(testCa, List.of(Peer.EXPIRED.mxHost), KeyType.EC_P256,
                now.minus(Duration.ofDays(10)), Duration.ofDays(5)));
        certs.put(Peer.WRONG_NAME, Certificates.issue(testCa, List.of("mx.attacker.test"), KeyType.EC_P256, recently,
                Duration.ofDays(10)));
        certs.put(Peer.VENDOR, Certificates.issue(testCa, List.of(Peer.VENDOR.mxHost), KeyType.EC_P256, recently,
                Duration.ofDays(10)));
        certs.put(Peer.UNTRUSTED, Certificates.issue(otherCa, List.of(Peer.UNTRUSTED.mxHost), KeyType.EC_P256,
                recently, Duration.ofDays(10)));
        // RSA: the weak peer's suite is ECDHE_RSA; the legacy peer uses the same kind for simplicity.
        certs.put(Peer.LEGACY, Certificates.issue(testCa, List.of(Peer.LEGACY.mxHost), KeyType.RSA_2048, recently,
                Duration.ofDays(10)));
        certs.put(Peer.WEAK, Certificates.issue(testCa, List.of(Peer.WEAK.mxHost), KeyType.RSA_2048, recently,
                Duration.ofDays(10)));
        certs.put(Peer.AES128, Certificates.issue(testCa, List.of(Peer.AES128.mxHost), KeyType.EC_P256, recently,
                Duration.ofDays(10)));
        certs.put(Peer.GOOD, Certificates.issue(testCa, List.of(Peer.GOOD.mxHost), KeyType.EC_P256, recently,
                Duration.ofDays(10)));
        certs.put(Peer.DOMAIN_NAME, Certificates.issue(testCa, List.of(Row.DOMAIN_NAME.domain), KeyType.EC_P256,
                recently, Duration.ofDays(10)));

        startPeers();
        phase("certificates and peers");

        dns = TestDnsServer.start();
        for (Peer p : Peer.values()) dns.a(p.mxHost, p.ip());
        for (Row r : Row.values()) dns.mx(r.domain, 10, r.peer.mxHost);

        for (Column c : Column.values()) gateways.put(c, Gateway.start(gatewayConfig(dir.resolve("gw-" + c.key()), c)));
        phase("gateways");
        // Every cell's message at once; each cell then waits for its own first attempt.
        try (ExecutorService submitters = Executors.newFixedThreadPool(16, Thread.ofVirtual().factory())) {
            List<Future<?>> done = new ArrayList<>();
            for (Column c : Column.values()) {
                for (Row r : Row.values()) {
                    if (expected(r, c).equals("-")) continue;
                    done.add(submitters.submit(() -> ids.put(cell(r, c), submit(gateways.get(c), FROM,
                            List.of(rcpt(r, c)), body("matrix " + c.key() + " " + r.name(), "Hello over " + c.label),
                            r.smtputf8() ? "SMTPUTF8" : ""))));
                }
            }
            for (Future<?> f : done) f.get(30, TimeUnit.SECONDS);
        }
        phase("submitted " + ids.size() + " messages");
    }

    private static void phase(String what) {
        System.out.println("matrix setup: " + what + " after " + Duration.between(started, Instant.now()).toMillis()
                + " ms");
    }

    /** Peers 1-6, 9-11 in this JVM; 7 and 8 in a child JVM. All on one port, each on its own loopback address. */
    private static void startPeers() throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                ScriptedSmtpServer first = peerServer(Peer.PLAIN).start(new InetSocketAddress(Peer.PLAIN.ip(), 0));
                servers.put(Peer.PLAIN, first);
                port = first.port();
                for (Peer p : List.of(Peer.SELF_SIGNED, Peer.EXPIRED, Peer.WRONG_NAME, Peer.VENDOR, Peer.UNTRUSTED,
                        Peer.AES128, Peer.GOOD, Peer.DOMAIN_NAME)) {
                    servers.put(p, peerServer(p).start(new InetSocketAddress(p.ip(), port)));
                }
                break;
            } catch (BindException e) {
                servers.values().forEach(ScriptedSmtpServer::close);
                servers.clear();
                if (attempt == 5) throw e;
            }
        }
        phase("in-process peers");
        Path security = dir.resolve("legacy.java.security");
        Files.writeString(security, "jdk.tls.disabledAlgorithms=" + withoutBans("TLSv1", "TLSv1.1", "TLS_RSA_*")
                + "\n");
        CompletableFuture<ChildPeer> legacy = CompletableFuture.supplyAsync(() -> ChildPeer.start(Peer.LEGACY,
                security, "TLSv1,TLSv1.1", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"));
        // TLS 1.2 with a CBC suite (outside Postern's AEAD-only set, still allowed by the JDK), 256-bit: only the
        // suite's kind is wrong. (RSA key transport would be refused by the JDK's own ban, even on the broad retry.)
        CompletableFuture<ChildPeer> weak = CompletableFuture.supplyAsync(() -> ChildPeer.start(Peer.WEAK,
                security, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"));
        children.put(Peer.LEGACY, legacy.get(60, TimeUnit.SECONDS));
        children.put(Peer.WEAK, weak.get(60, TimeUnit.SECONDS));
        phase("child JVM peers");
        // The controls prove these peers really negotiate what Postern must refuse.
        assertThat(children.get(Peer.LEGACY).control).matches("TLSv1(\\.1)? TLS_ECDHE_RSA_WITH_AES_\\d+_CBC_SHA");
        assertThat(children.get(Peer.WEAK).control).isEqualTo("TLSv1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384");
    }

    private static ScriptedSmtpServer peerServer(Peer p) {
        ScriptedSmtpServer s = ScriptedSmtpServer.create().hostname(p.mxHost).pipelining().enhancedStatusCodes()
                .smtputf8();
        if (p == Peer.PLAIN) return s;
        s.starttls(certs.get(p));
        if (p == Peer.AES128) s.tlsProtocols("TLSv1.3").tlsCipherSuites("TLS_AES_128_GCM_SHA256");
        return s;
    }

    private static String withoutBans(String... lifted) {
        return Arrays.stream(Security.getProperty("jdk.tls.disabledAlgorithms").split(","))
                .map(String::strip)
                .filter(entry -> !List.of(lifted).contains(entry))
                .collect(Collectors.joining(", "));
    }

    /** A gateway relaying every row's domain by MX (via the test DNS) with the column's policy for each. */
    static Config gatewayConfig(Path data, Column c) {
        Set<String> domains = Arrays.stream(Row.values()).map(r -> r.domain).collect(Collectors.toSet());
        Map<String, TlsPolicy> policies = new LinkedHashMap<>();
        for (Row r : Row.values()) {
            if (r.fileKey == null) policies.put(r.domain, policy(r, c));
            else policies.putAll(policyFromFile(data.resolveSibling(data.getFileName() + "-" + r.name() + ".toml"), r, c));
        }
        Config base = TestConfigs.withDns(TestConfigs.withRelay(
                TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), domains, Map.of()),
                dns.address(), port);
        return base.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY), policies));
    }

    /** The column's level and mode, trusting the test CA; per row: match, min_cipher_bits, pins. */
    static TlsPolicy policy(Row r, Column c) {
        List<String> match = r == Row.VENDOR_MATCH ? List.of("*.vendor.test") : List.of();
        int minCipherBits = r == Row.AES128 ? 256 : 0;
        List<String> pins = c.level == TlsLevel.FINGERPRINT ? List.of(pin(r)) : List.of();
        return new TlsPolicy(c.level, c.mode, "TLSv1.2", List.of(), minCipherBits, 0, match, caFile, pins, null, null);
    }

    /**
     * The row's policy as an administrator writes it, keyed by {@code r.fileKey} (Unicode, mixed case), and loaded
     * by the config loader, which keys it by the lookup form.
     */
    static Map<String, TlsPolicy> policyFromFile(Path file, Row r, Column c) {
        TlsPolicy p = policy(r, c);
        try {
            Files.writeString(file, "[outbound_tls.\"" + r.fileKey + "\"]\nlevel = \"" + c.level.word() + "\"\nmode = \""
                    + c.mode.name().toLowerCase(java.util.Locale.ROOT) + "\"\nca_file = \"" + caFile + "\"\nmin_key_bits = 0\n"
                    + (p.fingerprints().isEmpty() ? "" : "fingerprints = [\"" + p.fingerprints().getFirst() + "\"]\n"),
                    StandardCharsets.UTF_8);
            Map<String, TlsPolicy> loaded = ConfigLoader.load(file).outboundTls().domains();
            assertThat(loaded).containsOnlyKeys(r.domain);
            assertThat(loaded.get(r.domain)).isEqualTo(p);
            return loaded;
        } catch (IOException | ConfigException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The right pin for each row (certificate or, for the self-signed peer, its key), except for WRONG_PIN. */
    static String pin(Row r) {
        Peer p = switch (r) {
            case PLAIN, WRONG_PIN -> Peer.WRONG_NAME; // plain has no certificate; 10b pins someone else's
            default -> r.peer;
        };
        PeerCheck.Certificate c = PeerCheck.inspect(certs.get(p).chain(), Set.of(), Instant.now());
        return p == Peer.SELF_SIGNED ? c.keySha256() : c.certSha256();
    }

    @AfterAll static void stopWorld() {
        try {
            printMatrix();
        } finally {
            gateways.values().forEach(Gateway::close);
            servers.values().forEach(ScriptedSmtpServer::close);
            children.values().forEach(ChildPeer::close);
            if (dns != null) dns.close();
            if (log != null) log.close();
        }
    }

    // ---- the matrix ----

    @TestFactory Stream<DynamicTest> matrix() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Row r : Row.values()) {
            for (Column c : Column.values()) {
                String e = expected(r, c);
                if (e.equals("-")) continue;
                tests.add(DynamicTest.dynamicTest(c.label + " x " + r.label + " -> " + e, () -> checkCell(r, c, e)));
            }
        }
        tests.add(DynamicTest.dynamicTest("enforced levels never send a message in clear text",
                TlsPolicyMatrixTest::enforcedNeverInClear));
        tests.add(DynamicTest.dynamicTest("none never starts TLS, even when offered", TlsPolicyMatrixTest::noneNeverTls));
        return tests.stream();
    }

    static String expected(Row r, Column c) {
        return EXPECTED.get(r).get(c.ordinal());
    }

    static String cell(Row r, Column c) {
        return c.key() + "/" + r.name();
    }

    /** The recipient as the client writes it. */
    static String rcpt(Row r, Column c) {
        return "to-" + c.key() + "@" + r.written;
    }

    /** The recipient as the gateway stores and forwards it: the domain in lookup form. */
    static String stored(Row r, Column c) {
        return "to-" + c.key() + "@" + r.domain;
    }

    private static void checkCell(Row r, Column c, String cellExpectation) {
        String expectation = cellExpectation.replace("PORT", String.valueOf(port));
        Gateway gw = gateways.get(c);
        String id = ids.get(cell(r, c));
        String to = stored(r, c);
        // The first attempt's outcome: gone from the spool (delivered), or pending after one attempt (deferred).
        eventually().until(() -> entry(gw, id).map(e -> recipient(e.envelope(), to).attempts() >= 1).orElse(true));
        Optional<Spool.Entry> left = entry(gw, id);
        if (left.isPresent()) {
            Envelope.Recipient rec = recipient(left.get().envelope(), to);
            observed.put(cell(r, c), "deferred: " + shortReason(rec.lastResult()));
            reasons.put(cell(r, c), rec.lastResult());
            assertThat(expectation).as("deferred with: " + rec.lastResult()).startsWith("X:");
            assertThat(rec.status()).isEqualTo(Envelope.Recipient.Status.PENDING);
            assertThat(rec.lastResult())
                    .startsWith("451 4.7.10 TLS required by policy for " + r.domain + " (static entry \"" + r.domain
                            + "\"): " + r.peer.mxHost + "[" + r.peer.ip() + "]:" + port + ": ")
                    .contains(expectation.substring(2));
            assertThat(transactions(r.peer, to)).as("nothing of the message was sent").isEmpty();
            return;
        }
        // Delivered: the peer took it, over TLS or not as expected, and the log says so.
        eventually().until(() -> transactions(r.peer, to).stream().anyMatch(Tx::delivered));
        Tx tx = transactions(r.peer, to).stream().filter(Tx::delivered).findFirst().orElseThrow();
        List<String> lines = logLines(id);
        String delivery = lines.stream().filter(l -> l.contains("to=<" + to + ">") && l.contains("result=delivered"))
                .findFirst().orElseThrow(() -> new AssertionError("no delivery line for " + id + " in " + lines));
        String wouldFail = lines.stream().filter(l -> l.startsWith("tls-policy-testing")).findFirst().orElse(null);
        observed.put(cell(r, c), (tx.tls() == null ? "clear" : "TLS" + certWord(delivery))
                + (wouldFail == null ? "" : ", would-fail: " + shortReason(wouldFail)));

        String kind = expectation.split("[~!]", 2)[0];
        assertThat(kind).as("delivered (" + delivery + ")").isIn("clear", "tls");
        if (kind.equals("clear")) {
            assertThat(tx.tls()).as("clear text").isNull();
            assertThat(delivery).containsPattern(" tls=\"?none[ \"]"); // quoted when a note follows
        } else {
            assertThat(tx.tls()).as("TLS").isNotNull();
            assertThat(delivery).containsPattern(" tls=\"?" + java.util.regex.Pattern.quote(tx.tls()) + "/");
        }
        assertThat(delivery).contains(" policy=" + c.level.word() + (c.mode == PolicyMode.TESTING ? "(testing)" : ""));
        int tilde = expectation.indexOf('~');
        int bang = expectation.indexOf('!');
        if (tilde >= 0) {
            String record = expectation.substring(tilde + 1, bang > tilde ? bang : expectation.length());
            assertThat(lines).as("log of " + id).anySatisfy(l -> assertThat(l).contains(record));
        }
        if (c.mode == PolicyMode.TESTING) {
            if (bang >= 0) {
                assertThat(wouldFail).as("testing mode records what would fail").isNotNull()
                        .contains("id=" + id, "domain=" + r.domain, "level=secure", "would-fail=\"")
                        .contains(expectation.substring(bang + 1));
            } else {
                assertThat(wouldFail).as("nothing would fail").isNull();
            }
        } else {
            assertThat(wouldFail).isNull();
        }
        if (c.level == TlsLevel.MAY && tx.tls() != null) {
            assertThat(delivery).containsAnyOf("cert=\"verified ", "cert=\"unverified: ");
        }
    }

    private static void enforcedNeverInClear() {
        for (Column c : Column.values()) {
            if (!c.enforced()) continue;
            for (Row r : Row.values()) {
                for (Tx tx : transactions(r.peer, stored(r, c))) {
                    assertThat(tx.tls()).as(c.label + " x " + r.label + ": a transaction without TLS").isNotNull();
                }
            }
        }
        // and the matrix really had enforced deliveries over TLS to look at
        assertThat(transactions(Peer.GOOD, stored(Row.GOOD, Column.SECURE))).isNotEmpty();
    }

    private static void noneNeverTls() {
        for (Row r : Row.values()) {
            for (Tx tx : transactions(r.peer, stored(r, Column.NONE))) {
                assertThat(tx.tls()).as(r.label).isNull();
                assertThat(tx.startTls()).as(r.label + ": STARTTLS sent").isFalse();
            }
        }
    }

    // ---- lifetime expiry under an enforced policy: a 5.7.10 DSN ----

    @Test void enforcedPolicyExpiresWithA5710Dsn() throws Exception {
        Path data = dir.resolve("gw-expiry");
        Config base = Outbound.withQueue(TestConfigs.withDns(TestConfigs.withRelay(
                TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("wrongname.test"),
                Map.of()), dns.address(), port), Duration.ofMillis(2500), null);
        Config config = base.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                Map.of("wrongname.test", policy(Row.WRONG_NAME, Column.SECURE))));
        try (Gateway gw = Gateway.start(config)) {
            String id = submit(gw, FROM, List.of("expiry@wrongname.test"), body("expiry under secure", "Hello"));
            String dsn = awaitMailbox(data, FROM, 1).getFirst().replaceAll("\r?\n[ \t]+", " "); // unfolded
            assertThat(dsn).contains("Action: failed", "Final-Recipient: rfc822; expiry@wrongname.test",
                    "Status: 5.7.10", "delivery time expired",
                    "451 4.7.10 TLS required by policy for wrongname.test (static entry \"wrongname.test\")",
                    "certificate name mismatch: mx.attacker.test does not match wrongname.test or .wrongname.test",
                    "Subject: expiry under secure");
            Outbound.awaitEmptySpool(gw);
            assertThat(entry(gw, id)).isEmpty();
            assertThat(transactions(Peer.WRONG_NAME, "expiry@wrongname.test")).isEmpty();
            // every attempt reached the peer and stopped after the handshake
            assertThat(logLines(id)).filteredOn(l -> l.contains("result=tls-failed")).hasSizeGreaterThanOrEqualTo(2);
        }
    }

    // ---- IDNA2008, not IDNA2003: straße and strasse are two domains with two policies ----

    /**
     * straße.test's policy (secure) must not apply to strasse.test, nor strasse.test's (none) to straße.test. With
     * java.net.IDN (IDNA2003) anywhere on the way, straße would become strasse: clear text to the partner.
     */
    @Test void sharpSAndDoubleSAreTwoDestinations() throws Exception {
        Path data = dir.resolve("gw-idna2008");
        dns.mx("xn--strae-oqa.test", 10, Peer.SELF_SIGNED.mxHost).mx("strasse.test", 10, Peer.SELF_SIGNED.mxHost);
        Path file = dir.resolve("idna2008.toml");
        Files.writeString(file, """
                relay_domains = ["straße.test", "strasse.test"]
                [outbound_tls."Straße.test"]
                level = "secure"
                ca_file = "%s"
                [outbound_tls."strasse.test"]
                level = "none"
                """.formatted(caFile), StandardCharsets.UTF_8);
        Config fromFile = ConfigLoader.load(file);
        Config config = TestConfigs.withDns(TestConfigs.withRelay(
                TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), fromFile.relayDomains(),
                Map.of()), dns.address(), port).withOutboundTls(fromFile.outboundTls());
        try (Gateway gw = Gateway.start(config)) {
            String sharp = submit(gw, FROM, List.of("sharp@STRAẞE.test"), body("sharp s", "Hello"), "SMTPUTF8");
            String doubled = submit(gw, FROM, List.of("double@strasse.test"), body("double s", "Hello"));
            Envelope deferred = Outbound.awaitEnvelope(gw, sharp,
                    e -> recipient(e, "sharp@xn--strae-oqa.test").attempts() >= 1);
            assertThat(recipient(deferred, "sharp@xn--strae-oqa.test").lastResult()).startsWith(
                    "451 4.7.10 TLS required by policy for xn--strae-oqa.test (static entry \"xn--strae-oqa.test\")")
                    .contains("self-signed certificate");
            assertThat(transactions(Peer.SELF_SIGNED, "sharp@xn--strae-oqa.test")).isEmpty();
            eventually().until(() -> entry(gw, doubled).isEmpty());
            assertThat(transactions(Peer.SELF_SIGNED, "double@strasse.test")).singleElement()
                    .satisfies(tx -> assertThat(tx.tls()).as("none: clear text").isNull());
            assertThat(logLines(doubled)).anySatisfy(l -> assertThat(l).contains("result=delivered", "policy=none"));
        }
    }

    // ---- an administrator's override: relaxed for a while, on the record ----

    @Test void overrideRelaxesOneDomainUntilItExpires() throws Exception {
        Path data = dir.resolve("gw-override");
        Config base = TestConfigs.withDns(TestConfigs.withRelay(
                TestConfigs.gateway(data, Outbound.HOSTNAME, Set.of("a.example")), Set.of("wrongname.test"),
                Map.of()), dns.address(), port);
        Config config = base.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                Map.of("wrongname.test", policy(Row.WRONG_NAME, Column.SECURE))));
        try (Gateway gw = Gateway.start(config)) {
            String first = submit(gw, FROM, List.of("override@wrongname.test"), body("before override", "Hello"));
            Envelope deferred = Outbound.awaitEnvelope(gw, first,
                    e -> recipient(e, "override@wrongname.test").attempts() >= 1);
            assertThat(recipient(deferred, "override@wrongname.test").lastResult()).startsWith(
                    "451 4.7.10 TLS required by policy for wrongname.test (static entry \"wrongname.test\")")
                    .contains("certificate name mismatch");

            Instant setAt = Instant.now();
            Instant until = setAt.plusSeconds(3);
            new PolicyOverrides(data).set(new PolicyOverrides.Override("wrongname.test", TlsLevel.MAY, until, setAt,
                    "test", "ticket 4711"));
            gw.scheduler().flush(null);
            eventually().until(() -> entry(gw, first).isEmpty());
            Tx tx = transactions(Peer.WRONG_NAME, "override@wrongname.test").stream().filter(Tx::delivered)
                    .findFirst().orElseThrow();
            assertThat(tx.tls()).as("may still uses TLS when offered").isNotNull();
            assertThat(Instant.now()).as("delivered while the override was active").isBefore(until);
            String delivery = logLines(first).stream().filter(l -> l.contains("result=delivered")).findFirst()
                    .orElseThrow();
            assertThat(delivery).contains("policy=may", "cert=\"unverified: name mismatch",
                    "policy-source=\"override (level may until " + until + ", set by test: ticket 4711) over "
                            + "static entry \\\"wrongname.test\\\"");

            eventually().atMost(Duration.ofSeconds(10)).until(() -> Instant.now().isAfter(until));
            String second = submit(gw, FROM, List.of("after@wrongname.test"), body("after override", "Hello"));
            Envelope again = Outbound.awaitEnvelope(gw, second, e -> recipient(e, "after@wrongname.test").attempts() >= 1);
            assertThat(recipient(again, "after@wrongname.test").lastResult()).startsWith(
                    "451 4.7.10 TLS required by policy for wrongname.test (static entry \"wrongname.test\")")
                    .contains("certificate name mismatch");
            assertThat(transactions(Peer.WRONG_NAME, "after@wrongname.test")).isEmpty();

            // who (test), when (the time it was set), what (level may until ...), why (the ticket): data/admin.log
            List<dev.postern.audit.AdminLog.Entry> log = dev.postern.audit.AdminLog.in(data).read();
            assertThat(log).singleElement().isEqualTo(new dev.postern.audit.AdminLog.Entry(setAt, "test", null,
                    dev.postern.audit.AdminRecord.Action.POLICY_OVERRIDE_SET, "wrongname.test",
                    "level may until " + until + ": ticket 4711"));
        }
    }

    // ---- what the peers saw ----

    /** One transaction as a peer recorded it; {@code tls} is the protocol, or null in clear text. */
    record Tx(String tls, boolean startTls, boolean delivered, List<String> rcpts) {}

    static List<Tx> transactions(Peer p, String rcpt) {
        List<Tx> all;
        ChildPeer child = children.get(p);
        if (child != null) {
            all = List.copyOf(child.transactions);
        } else {
            all = servers.get(p).transactions().stream().map(t -> new Tx(t.usedTls() ? t.tls().protocol() : null,
                    t.commands().stream().anyMatch(cmd -> cmd.equalsIgnoreCase("STARTTLS")), t.delivered(),
                    t.recipients())).toList();
        }
        return all.stream().filter(t -> t.rcpts().contains(rcpt)).toList();
    }

    /** The scheduler's log lines about one message. */
    static List<String> logLines(String id) {
        return log.lines().stream().filter(l -> l.contains("id=" + id + " ")).toList();
    }

    /** A peer in a child JVM ({@link LegacyTlsPeer}) and what it reports. */
    static final class ChildPeer implements AutoCloseable {
        final Process process;
        final String control;
        final List<Tx> transactions = new CopyOnWriteArrayList<>();

        private ChildPeer(Process process, String control) {
            this.process = process;
            this.control = control;
        }

        static ChildPeer start(Peer p, Path security, String protocols, String suites) {
            try {
                Path cert = dir.resolve(p.name() + ".crt");
                Path key = dir.resolve(p.name() + ".key");
                Pem.write(certs.get(p), cert, key);
                Path java = Path.of(System.getProperty("java.home"), "bin", "java");
                Process process = new ProcessBuilder(java.toString(), "-Djava.security.properties=" + security,
                        "-cp", System.getProperty("java.class.path"), LegacyTlsPeer.class.getName(), p.ip(),
                        String.valueOf(port), cert.toString(), key.toString(), protocols, suites)
                        .redirectErrorStream(true).start();
                BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8));
                List<String> early = new ArrayList<>();
                String line;
                while ((line = out.readLine()) != null && !line.startsWith("PEER ready")) {
                    early.add(line);
                    if (line.startsWith("PEER failed")) break;
                }
                if (line == null || !line.startsWith("PEER ready")) {
                    process.destroy();
                    throw new IllegalStateException("peer " + p + " did not start: " + String.join("\n", early));
                }
                ChildPeer child = new ChildPeer(process, line.substring("PEER ready ".length()));
                Thread.ofVirtual().name("peer-" + p).start(() -> child.read(out));
                return child;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        private void read(BufferedReader out) {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    if (!line.startsWith("PEER tx ")) continue;
                    Map<String, String> f = new LinkedHashMap<>();
                    for (String kv : line.substring("PEER tx ".length()).split(" ")) {
                        int eq = kv.indexOf('=');
                        f.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                    transactions.add(new Tx(f.get("tls").equals("-") ? null : f.get("tls"),
                            Boolean.parseBoolean(f.get("starttls")), Boolean.parseBoolean(f.get("delivered")),
                            f.get("rcpts").isEmpty() ? List.of() : List.of(f.get("rcpts").split(","))));
                }
            } catch (IOException e) {
                // the peer is gone
            }
        }

        @Override public void close() {
            try {
                process.getOutputStream().close(); // the peer exits when its standard input closes
                if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroy();
            } catch (IOException | InterruptedException e) {
                process.destroy();
            }
        }
    }

    // ---- the summary ----

    private static String certWord(String deliveryLine) {
        String weak = deliveryLine.contains(" (weak: ") ? " (weak)" : "";
        if (deliveryLine.contains("cert=\"verified")) return weak + " verified";
        if (deliveryLine.contains("cert=\"unverified")) return weak + " unverified";
        return weak;
    }

    static String shortReason(String text) {
        for (String[] known : new String[][] {{"does not offer STARTTLS", "no STARTTLS"},
                {"self-signed", "self-signed"}, {"expired", "expired"}, {"name mismatch", "name mismatch"},
                {"untrusted", "untrusted"}, {"-bit keys", "128-bit cipher"}, {"fingerprint mismatch", "pin mismatch"},
                {"handshake", "handshake failed"}}) {
            if (text.contains(known[0])) return known[1];
        }
        return text;
    }

    private static void printMatrix() {
        int first = Arrays.stream(Row.values()).mapToInt(r -> r.label.length()).max().orElse(10);
        int width = Math.max(16, observed.values().stream().mapToInt(String::length).max().orElse(10));
        StringBuilder b = new StringBuilder("\nOutbound TLS policy matrix (observed; ")
                .append(Duration.between(started, Instant.now()).toMillis()).append(" ms since start)\n");
        b.append(String.format("%-" + first + "s", "peer \\ level"));
        for (Column c : Column.values()) b.append(" | ").append(String.format("%-" + width + "s", c.label));
        b.append('\n');
        for (Row r : Row.values()) {
            b.append(String.format("%-" + first + "s", r.label));
            for (Column c : Column.values()) {
                String o = observed.getOrDefault(cell(r, c), expected(r, c).equals("-") ? "-" : "?");
                b.append(" | ").append(String.format("%-" + width + "s", o));
            }
            b.append('\n');
        }
        b.append("\nDeferral reasons (secure; fingerprint for 10b; encrypt for 9):\n");
        for (Row r : Row.values()) {
            Column c = r == Row.WRONG_PIN ? Column.FINGERPRINT : r == Row.AES128 ? Column.ENCRYPT : Column.SECURE;
            String why = reasons.get(cell(r, c));
            if (why != null) b.append("  ").append(r.label).append(": ").append(why).append('\n');
        }
        System.out.println(b);
        try {
            Files.createDirectories(Path.of("target"));
            Files.writeString(Path.of("target", "tls-policy-matrix.txt"), b.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            // the printed copy is enough
        }
    }
}
