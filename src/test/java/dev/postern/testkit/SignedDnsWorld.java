package dev.postern.testkit;

import dev.postern.config.Config;
import dev.postern.dns.DnsResolver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A small DNSSEC-signed DNS of its own on loopback, for tests: a root zone ".", the TLD "test." and the child zones
 * a test adds, signed with ldns-keygen / ldns-signzone (ECDSA P-256, one key per zone; delegations carry the child's
 * DS from ldns-keygen), all served by one NSD on 127.0.0.1 (UDP and TCP, one free port), and on request a validating
 * Unbound in front of it on another port, anchored at the test root. Real wire protocol, real validation.
 *
 * <pre>{@code
 * try (SignedDnsWorld world = new SignedDnsWorld(tempDir)) {
 *     world.zone("example.test").mx("example.test", 10, "mx.example.test").a("mx.example.test", "127.0.0.10")
 *          .tlsa("_25._tcp.mx.example.test", "3 1 1 " + sha256Hex);
 *     world.unsignedZone("plain.test").mx("plain.test", 10, "mx.plain.test");  // insecure: no DS
 *     world.zone("bad.test").tlsa("_25._tcp.mx.bad.test", "3 1 1 00").tamper("_25._tcp.mx.bad.test", "TLSA",
 *             "3 1 1 ff");                                                     // bogus: RRSIG no longer matches
 *     world.start(true);                                                       // true: with Unbound
 *     new DnsResolver(world.validating(timeout));        // Postern validates, from world.trustAnchorFile()
 *     new DnsResolver(world.trustingUnbound(timeout));   // Postern believes Unbound's AD bit
 *     TestConfigs.withDns(config, world.configValidating(timeout), smtpPort);  // a gateway in this world
 * }
 * }</pre>
 *
 * <p>Records are added before {@link #start}; after a change, {@link #restart} signs and serves everything again on
 * the same ports (Unbound's cache goes with it). Every zone's NS is {@code ns.test.} (127.0.0.1): NSD answers for
 * all of them itself, so no resolver ever follows a referral to port 53. Needs nsd, unbound and ldnsutils (Debian);
 * without them the constructor fails and says so. Processes run in the foreground as children of the test and are
 * killed by {@link #close}.
 */
public final class SignedDnsWorld implements AutoCloseable {

    private static final long TTL = 300;
    private static final Duration READY = Duration.ofSeconds(5);

    private final Path dir;
    private final Map<String, Zone> zones = new LinkedHashMap<>();
    private int nsdPort;
    private int unboundPort;
    private Process nsd;
    private Process unbound;
    private boolean withUnbound;

    /** A world in {@code dir} (a fresh temporary directory) with the signed zones "." and "test.". */
    public SignedDnsWorld(Path dir) {
        for (String tool : List.of("nsd", "unbound", "ldns-keygen", "ldns-signzone")) {
            if (executable(tool) == null) {
                throw new IllegalStateException("SignedDnsWorld needs '" + tool + "' on the PATH or in /usr/sbin: "
                        + "apt-get install nsd unbound ldnsutils (.ci/run installs them)");
            }
        }
        this.dir = dir;
        zone(".");
        zone("test").a("ns.test", "127.0.0.1");
    }

    /** The signed zone {@code name} (created on first use, with its DS in the parent zone). */
    public Zone zone(String name) {
        return zones.computeIfAbsent(origin(name), o -> new Zone(o, true));
    }

    /** A zone delegated without DS: provably insecure (RFC 4035 §5.2), served unsigned. */
    public Zone unsignedZone(String name) {
        Zone z = zones.computeIfAbsent(origin(name), o -> new Zone(o, false));
        if (z.signed) throw new IllegalStateException(name + " is already a signed zone");
        return z;
    }

    /** The trust anchor for Postern's {@code VALIDATE} mode: the test root's DS record, in zone-file form. */
    public Path trustAnchorFile() { return dir.resolve("root.ds"); }

    /** NSD: authoritative for every zone, DNSSEC records included (Postern validates itself against it). */
    public InetSocketAddress nsd() { return new InetSocketAddress(InetAddress.getLoopbackAddress(), nsdPort); }

    /** The validating Unbound (for {@code trust_ad}); only after {@code start(true)}. */
    public InetSocketAddress unbound() {
        if (unbound == null) throw new IllegalStateException("started without Unbound: start(true)");
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), unboundPort);
    }

    /** Postern validating itself ({@code VALIDATE}) against NSD, anchored at the test root. */
    public DnsResolver.Settings validating(Duration timeout) {
        return new DnsResolver.Settings(List.of(nsd()), timeout, DnsResolver.Validation.VALIDATE, trustAnchorFile());
    }

    /** Postern believing the AD bit ({@code TRUST_AD}) of the validating Unbound; only after {@code start(true)}. */
    public DnsResolver.Settings trustingUnbound(Duration timeout) {
        return new DnsResolver.Settings(List.of(unbound()), timeout, DnsResolver.Validation.TRUST_AD, null);
    }

    /** {@code [dns]} of a gateway validating against this world (for {@code TestConfigs.withDns}). */
    public Config.Dns configValidating(Duration timeout) {
        return new Config.Dns(List.of(nsd()), timeout, Config.Dnssec.VALIDATE, trustAnchorFile());
    }

    /** {@code [dns]} of a gateway trusting the AD bit of this world's Unbound. */
    public Config.Dns configTrustingUnbound(Duration timeout) {
        return new Config.Dns(List.of(unbound()), timeout, Config.Dnssec.TRUST_AD, null);
    }

    /** Signs every zone and starts NSD, and Unbound too when {@code withUnbound}. */
    public SignedDnsWorld start(boolean withUnbound) {
        if (nsd != null) throw new IllegalStateException("already started");
        this.withUnbound = withUnbound;
        try {
            Files.createDirectories(dir);
            if (nsdPort == 0) {
                nsdPort = freePort();
                unboundPort = withUnbound ? freePort() : 0;
            }
            signAll();
            nsd = launch("nsd", writeNsdConf(), "-d", "-c");
            awaitReady(nsd, nsdPort, "nsd");
            if (withUnbound) {
                if (unboundPort == 0) unboundPort = freePort();
                unbound = launch("unbound", writeUnboundConf(), "-d", "-c");
                awaitReady(unbound, unboundPort, "unbound");
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** Stops the servers, signs the zones again with their current records, and starts them on the same ports. */
    public SignedDnsWorld restart() {
        stop();
        return start(withUnbound);
    }

    @Override public void close() {
        stop();
    }

    private void stop() {
        for (Process p : new Process[] {unbound, nsd}) {
            if (p == null) continue;
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        unbound = null;
        nsd = null;
    }

    /** One zone: its records in zone-file form, how it is signed, and what is done to it after signing. */
    public final class Zone {
        private final String origin;
        private final boolean signed;
        private final List<String> lines = new ArrayList<>();
        private final List<String[]> tampers = new ArrayList<>();
        private boolean nsec3;
        private boolean expired;

        private Zone(String origin, boolean signed) {
            this.origin = origin;
            this.signed = signed;
            add(origin, "SOA", "ns.test. hostmaster.test. 1 3600 600 86400 " + TTL);
            add(origin, "NS", "ns.test.");
        }

        /** The zone's name with its trailing dot: "example.test.", "." for the root. */
        public String origin() { return origin; }

        public Zone a(String owner, String address) { return add(owner, "A", address); }

        public Zone aaaa(String owner, String address) { return add(owner, "AAAA", address); }

        public Zone mx(String owner, int preference, String host) {
            return add(owner, "MX", preference + " " + absolute(host));
        }

        public Zone cname(String owner, String target) { return add(owner, "CNAME", absolute(target)); }

        /** A TLSA record: {@code data} as in a zone file, "3 1 1 ab12...". */
        public Zone tlsa(String owner, String data) { return add(owner, "TLSA", data); }

        /** A TXT record of one string (quoted here). */
        public Zone txt(String owner, String text) {
            return add(owner, "TXT", "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
        }

        /** Any record: owner, type and its data in zone-file form. */
        public Zone add(String owner, String type, String data) {
            lines.add(absolute(owner) + " " + TTL + " IN " + type.toUpperCase(Locale.ROOT) + " " + data);
            return this;
        }

        /** Denial of existence by NSEC3 (RFC 5155) instead of NSEC. */
        public Zone nsec3() {
            nsec3 = true;
            return this;
        }

        /**
         * Makes one RRset bogus: after signing, the data of the {@code type} records at {@code owner} is replaced by
         * {@code data}, so their RRSIG no longer matches (what an attacker rewriting the answer would cause).
         */
        public Zone tamper(String owner, String type, String data) {
            if (!signed) throw new IllegalStateException(origin + " is unsigned: nothing to tamper with");
            tampers.add(new String[] {absolute(owner), type.toUpperCase(Locale.ROOT), data});
            return this;
        }

        /** Makes the whole zone bogus: signatures that expired a year ago. */
        public Zone expired() {
            expired = true;
            return this;
        }

        private String absolute(String name) {
            if (name.endsWith(".")) return name.toLowerCase(Locale.ROOT);
            if (name.equals("@")) return origin;
            return name.toLowerCase(Locale.ROOT) + ".";
        }

        private String file() { return (origin.equals(".") ? "root" : origin.substring(0, origin.length() - 1)); }
    }

    private static String origin(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n : n + ".";
    }

    /** The nearest enclosing zone of {@code origin}: "test." for "example.test.", "." for "test.". */
    private Zone parent(String origin) {
        Zone best = null;
        for (Zone z : zones.values()) {
            boolean encloses = z.origin.equals(".") || origin.endsWith("." + z.origin);
            if (!z.origin.equals(origin) && encloses && (best == null || z.origin.length() > best.origin.length())) {
                best = z;
            }
        }
        return best;
    }

    /** Children before parents: each zone's DS must be in its parent before the parent is signed. */
    private void signAll() throws IOException {
        List<Zone> order = new ArrayList<>(zones.values());
        order.sort(Comparator.comparingInt((Zone z) -> z.origin.equals(".") ? 0 : z.origin.split("\\.").length)
                .reversed());
        Map<String, List<String>> delegations = new LinkedHashMap<>();
        for (Zone z : order) {
            List<String> text = new ArrayList<>(z.lines);
            text.addAll(delegations.getOrDefault(z.origin, List.of()));
            Path zoneFile = dir.resolve(z.file() + ".zone");
            Files.write(zoneFile, text, StandardCharsets.US_ASCII);
            Zone parent = parent(z.origin);
            List<String> inParent = parent == null ? null
                    : delegations.computeIfAbsent(parent.origin, k -> new ArrayList<>());
            if (inParent != null) inParent.add(z.origin + " " + TTL + " IN NS ns.test.");
            if (inParent != null && z.origin.equals("test.")) inParent.add("ns.test. " + TTL + " IN A 127.0.0.1");
            if (!z.signed) {
                Files.copy(zoneFile, dir.resolve(z.file() + ".zone.signed"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                continue;
            }
            String key = key(z);
            List<String> sign = new ArrayList<>(List.of(executable("ldns-signzone"), "-o", z.origin));
            if (z.nsec3) sign.addAll(List.of("-n", "-t", "0"));
            if (z.expired) sign.addAll(List.of("-i", "20200101000000", "-e", "20200201000000"));
            sign.add(zoneFile.toString());
            sign.add(key);
            run(sign);
            Path signedFile = dir.resolve(z.file() + ".zone.signed");
            if (!z.tampers.isEmpty()) tamper(signedFile, z.tampers);
            String ds = Files.readString(Path.of(key + ".ds")).strip();
            if (inParent != null) inParent.add(ds);
            if (z.origin.equals(".")) Files.writeString(trustAnchorFile(), ds + "\n");
        }
    }

    /** The zone's key (one CSK with the SEP flag, made once and kept across restarts): the path without suffix. */
    private String key(Zone z) throws IOException {
        Path existing = findKey(z);
        if (existing == null) {
            run(List.of(executable("ldns-keygen"), "-a", "ECDSAP256SHA256", "-k", z.origin));
            existing = findKey(z);
        }
        String f = existing.toString();
        return f.substring(0, f.length() - ".key".length());
    }

    private Path findKey(Zone z) throws IOException {
        String prefix = "K" + (z.origin.equals(".") ? "." : z.origin) + "+";
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(".key")).findFirst().orElse(null);
        }
    }

    private static void tamper(Path signedFile, List<String[]> tampers) throws IOException {
        List<String> out = new ArrayList<>();
        int changed = 0;
        for (String line : Files.readAllLines(signedFile, StandardCharsets.US_ASCII)) {
            String[] f = line.split("\\s+", 5);
            for (String[] t : tampers) {
                if (f.length == 5 && f[0].equalsIgnoreCase(t[0]) && f[3].equals(t[1])) {
                    line = f[0] + "\t" + f[1] + "\t" + f[2] + "\t" + f[3] + "\t" + t[2];
                    changed++;
                }
            }
            out.add(line);
        }
        if (changed == 0) throw new IllegalStateException("nothing to tamper with in " + signedFile);
        Files.write(signedFile, out, StandardCharsets.US_ASCII);
    }

    private Path writeNsdConf() throws IOException {
        StringBuilder c = new StringBuilder("""
                server:
                  ip-address: 127.0.0.1@%1$d
                  port: %1$d
                  username: ""
                  chroot: ""
                  database: ""
                  server-count: 1
                  verbosity: 1
                  zonesdir: "%2$s"
                  zonelistfile: "%2$s/zone.list"
                  pidfile: "%2$s/nsd.pid"
                  xfrdfile: "%2$s/xfrd.state"
                  xfrdir: "%2$s"
                remote-control:
                  control-enable: no
                """.formatted(nsdPort, dir));
        for (Zone z : zones.values()) {
            c.append("zone:\n  name: \"%s\"\n  zonefile: \"%s.zone.signed\"\n".formatted(z.origin, z.file()));
        }
        Path conf = dir.resolve("nsd.conf");
        Files.writeString(conf, c);
        return conf;
    }

    /** Unbound as a validating stub resolver: every zone of the world is a stub zone at NSD. */
    private Path writeUnboundConf() throws IOException {
        StringBuilder c = new StringBuilder("""
                server:
                  interface: 127.0.0.1@%1$d
                  port: %1$d
                  do-daemonize: no
                  username: ""
                  chroot: ""
                  pidfile: ""
                  use-syslog: no
                  logfile: ""
                  verbosity: 1
                  num-threads: 1
                  so-reuseport: no
                  do-ip6: no
                  directory: "%2$s"
                  trust-anchor-file: "%3$s"
                  do-not-query-localhost: no
                  val-permissive-mode: no
                  ede: yes
                  access-control: 127.0.0.0/8 allow
                  qname-minimisation: no
                  harden-referral-path: no
                  target-fetch-policy: "0 0 0 0 0"
                  # test. is one of Unbound's built-in blocked names (RFC 6761); here it is the world's TLD
                  local-zone: "test." nodefault
                remote-control:
                  control-enable: no
                """.formatted(unboundPort, dir, trustAnchorFile()));
        for (Zone z : zones.values()) {
            c.append("stub-zone:\n  name: \"%s\"\n  stub-addr: 127.0.0.1@%d\n".formatted(z.origin, nsdPort));
        }
        Path conf = dir.resolve("unbound.conf");
        Files.writeString(conf, c);
        return conf;
    }

    private Process launch(String tool, Path conf, String... flags) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(executable(tool));
        command.addAll(List.of(flags));
        command.add(conf.toString());
        Path log = dir.resolve(tool + ".log");
        return new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /** Polls with SOA queries for "." until the server answers, the process dies or {@link #READY} passes. */
    private void awaitReady(Process p, int port, String tool) throws IOException {
        SimpleResolver probe = new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        probe.setTimeout(Duration.ofMillis(100));
        long deadline = System.nanoTime() + READY.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) break;
            try {
                Message m = probe.send(Message.newQuery(Record.newRecord(Name.root, Type.SOA, DClass.IN)));
                if (m.getRcode() == Rcode.NOERROR) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        String log = Files.exists(dir.resolve(tool + ".log")) ? Files.readString(dir.resolve(tool + ".log")) : "";
        close();
        throw new IllegalStateException(tool + " did not answer on 127.0.0.1:" + port + " within " + READY
                + (p.isAlive() ? "" : " (exited " + p.exitValue() + ")") + "; its log:\n" + log);
    }

    private void run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + command, e);
        }
    }

    /** A loopback port free for both UDP and TCP right now. */
    private static int freePort() throws IOException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        for (int i = 0; i < 50; i++) {
            try (ServerSocket tcp = new ServerSocket(0, 1, lo);
                 DatagramSocket udp = new DatagramSocket(new InetSocketAddress(lo, tcp.getLocalPort()))) {
                return udp.getLocalPort();
            } catch (java.net.BindException taken) {
                // the UDP side was in use: try another
            }
        }
        throw new IOException("no free loopback port for both UDP and TCP");
    }

    private static String executable(String tool) {
        for (String d : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/usr/bin:/sbin").split(":")) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, tool);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }
}
