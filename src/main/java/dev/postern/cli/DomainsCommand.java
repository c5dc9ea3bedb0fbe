package dev.postern.cli;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.Audit;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.SeenCertificate;
import dev.postern.config.Config;
import dev.postern.files.DurableFiles;
import dev.postern.names.Domains;
import dev.postern.outbound.PolicyOverrides;
import dev.postern.outbound.TlsPolicies;
import dev.postern.peers.DomainLevels;
import dev.postern.peers.Direction;
import dev.postern.peers.PeerLevels;
import dev.postern.peers.Seen;
import dev.postern.tls.NameMatcher;
import dev.postern.trace.Json;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern domains ...}: what Postern knows of a domain, and forgetting the TLS level it remembers. */
@Command(name = "domains", description = "What Postern knows of a domain; forget its remembered TLS level.",
        subcommands = {DomainsCommand.Show.class, DomainsCommand.Forget.class})
final class DomainsCommand {

    @Command(name = "show", description = "The TLS policy delivery applies, the TLS levels seen in and out (peer "
            + "memory), certificates seen and the last delivery. Works with the gateway running or not.")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN") String domain;
        @Option(names = "--json", description = "JSON instead of text.") boolean json;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            DomainReport r = report(config, mailDomain(domain), Instant.now());
            if (json) System.out.println(Json.pretty(r));
            else r.print(System.out);
            return 0;
        }

        /** Gathers every section; the DANE and MTA-STS sections are filled here by their lookups once they exist. */
        static DomainReport report(Config config, String d, Instant now) throws CliException {
            TlsPolicies.Resolved r = new TlsPolicies(config.outboundTls(), new PolicyOverrides(config.dataDir()))
                    .resolve(d, now);
            var policy = new DomainReport.Policy(r.kind().word(), r.source(), r.policy().level().word(),
                    r.policy().mode() == Config.PolicyMode.TESTING ? "testing" : "enforce",
                    r.override().map(o -> o.level().word() + " until " + o.until() + ", set by " + o.setBy() + ": "
                            + o.reason()).orElse(null));
            DomainLevels levels;
            try {
                levels = PeerLevels.read(config.dataDir()).stream().filter(l -> l.domain().equals(d)).findFirst()
                        .orElse(null);
            } catch (IOException e) {
                throw new CliException("postern: " + e.getMessage(), 1);
            }
            Config.PeerMemory pm = config.peerMemory();
            String outMode = r.override().isPresent() ? "off while the override is active"
                    : pm.outboundFor(d).word();
            List<String> notes = new ArrayList<>();
            List<SeenCertificate> certs = List.of();
            DomainReport.LastDelivery last = null;
            try {
                record Found(JdbcAuditStore.DomainDeliveries deliveries, List<SeenCertificate> certs) {}
                Found f = AuditAccess.ask(config, store -> {
                    JdbcAuditStore.DomainDeliveries dd = store.deliveries(d);
                    return new Found(dd, store.certificatesSeen(null));
                });
                certs = f.certs().stream().filter(c -> concerns(c, d, f.deliveries().hosts())).toList();
                var gd = f.deliveries().last();
                last = gd == null ? null : new DomainReport.LastDelivery(gd.gateway(), gd.delivery());
            } catch (CliException e) {
                notes.add(e.getMessage().replaceFirst("^postern: ", "") + " (certificates and deliveries unknown)");
            }
            String unicode = Domains.toUnicode(d);
            return new DomainReport(d, unicode.equals(d) ? null : unicode, policy,
                    DomainReport.memory(outMode, pm.inbound().word(), levels), null, null, certs, last, notes);
        }

        /** A certificate seen on a next hop this domain's mail went to, or naming the domain or a subdomain. */
        private static boolean concerns(SeenCertificate c, String domain, List<String> hosts) {
            for (SeenCertificate.Peer p : c.peers()) {
                int colon = p.endpoint() == null ? -1 : p.endpoint().lastIndexOf(':');
                String host = colon < 0 ? p.endpoint() : p.endpoint().substring(0, colon);
                if (p.direction() == dev.postern.audit.TlsSessionRecord.Direction.OUT && hosts.contains(host)) {
                    return true;
                }
            }
            return NameMatcher.firstMatch(c.sans(), List.of(domain, "." + domain)) != null;
        }
    }

    @Command(name = "forget", description = "Forget the highest TLS level seen with a domain, so that a session "
            + "below it is no longer refused (a partner whose TLS changed for good). Recorded in the audit. Goes "
            + "through the running gateway when there is one.")
    static final class Forget implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN") String domain;
        @Option(names = "--direction", paramLabel = "in|out",
                description = "Only what was seen outbound (delivering to it) or inbound (mail from it); "
                        + "default: both.") String direction;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            String d = mailDomain(domain);
            Direction dir = direction == null ? null : switch (direction) {
                case "in" -> Direction.IN;
                case "out" -> Direction.OUT;
                default -> throw new CliException("postern: --direction: expected in or out, got \"" + direction
                        + "\"", 2);
            };
            String word = dir == null ? "both" : dir.word();
            Path data = config.dataDir();
            Path socket = data.resolve("control.sock");
            if (Gateway.runsInThisJvm(data)) {
                System.out.println(ControlClient.ask(socket, "forget " + d + " " + word));
                return 0;
            }
            // No gateway: change the file under the data directory's lock, so that none starts in the middle.
            DurableFiles.SYSTEM.createDirectories(data);
            try (FileChannel ch = DurableFiles.SYSTEM.openLockFile(data.resolve("postern.lock"))) {
                FileLock lock = ch.tryLock();
                if (lock == null) {
                    System.out.println(ControlClient.ask(socket, "forget " + d + " " + word));
                    return 0;
                }
                List<dev.postern.audit.AuditRecord> made = new ArrayList<>();
                String text;
                Config.PeerMemory pm = config.peerMemory();
                try (PeerLevels levels = PeerLevels.open(data, pm.maxDomains(), pm.flushInterval())) {
                    text = forget(levels, d, dir, PolicyCommand.who(), made::add);
                } catch (IOException e) {
                    throw new CliException("postern: " + e.getMessage(), 1);
                }
                if (!made.isEmpty()) {
                    AuditAccess.ask(config, store -> {
                        store.write(List.copyOf(made));
                        return null;
                    });
                }
                System.out.println(text);
                return 0;
            }
        }
    }

    /**
     * Forgets {@code domain}'s levels in {@code direction} (null: both) and hands {@code audit} the administrator's
     * record of it; returns the answer line. The one implementation for the running gateway and the stopped one.
     */
    static String forget(PeerLevels levels, String domain, Direction direction, String actor, Audit audit)
            throws IOException {
        Optional<DomainLevels> was = levels.forget(domain, direction);
        if (was.isEmpty()) {
            return "nothing remembered for " + domain + (direction == null ? "" : " " + direction.word() + "bound");
        }
        List<String> what = new ArrayList<>();
        for (Direction d : Direction.values()) {
            Seen s = was.get().get(d);
            if (s != null && (direction == null || direction == d)) {
                what.add(d.word() + " " + s.level().word() + " since " + Seen.time(s.since()));
            }
        }
        String detail = "forgot " + String.join(", ", what);
        audit.record(new AdminRecord(Instant.now(), actor, AdminRecord.Action.PEER_LEVEL_FORGOTTEN, domain, detail));
        return domain + ": " + detail;
    }

    /** A domain mail goes to or comes from, in lookup form (no ".suffix" key). */
    private static String mailDomain(String s) throws CliException {
        String d = PolicyCommand.domain(s);
        if (d.startsWith(".")) {
            throw new CliException("postern: expected a domain like partner.example, got \"" + s + "\" (a \".suffix\" "
                    + "key is not a domain mail goes to)", 2);
        }
        return d;
    }
}
