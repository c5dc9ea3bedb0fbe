package dev.postern.cli;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.Audit;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.SeenCertificate;
import dev.postern.config.Config;
import dev.postern.dns.DnsResolver;
import dev.postern.files.DurableFiles;
import dev.postern.mtasts.PolicyCache;
import dev.postern.names.Domains;
import dev.postern.outbound.PeerFloors;
import dev.postern.outbound.TlsPlanner;
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

    @Command(name = "show", description = "The TLS policy delivery applies, DANE (the MX answer, each host's "
            + "addresses and TLSA records, what delivery would do with it) and MTA-STS (the cached policy; the TXT "
            + "record now), the TLS levels seen in and out (peer memory), certificates seen and the last delivery. "
            + "Works with the gateway running or not. DNS is asked when the domain's level is dane or dane-only, "
            + "or with --lookup; never with --no-lookup. No connection to the MX hosts is made.")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN") String domain;
        @Option(names = "--json", description = "JSON instead of text.") boolean json;
        @Option(names = {"--lookup", "--live"}, description = "Ask DNS now (MX, addresses, TLSA, the _mta-sts TXT "
                + "record) whatever the domain's level.") boolean lookup;
        @Option(names = "--no-lookup", description = "Ask DNS nothing: the cache, the memory and the audit only.")
        boolean noLookup;
        @Option(names = "--fetch", description = "Also fetch the MTA-STS policy over HTTPS now (not cached: the "
                + "gateway's cache is left as it is); implies --lookup.") boolean fetch;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            if (noLookup && (lookup || fetch)) {
                throw new CliException("postern: --no-lookup: expected alone, not with " + (lookup ? "--lookup"
                        : "--fetch"), 2);
            }
            Lookup l = noLookup ? Lookup.NEVER : lookup || fetch ? Lookup.ALWAYS : Lookup.AUTO;
            DomainReport r = report(config, mailDomain(domain), Instant.now(), l, fetch);
            if (json) System.out.println(Json.pretty(r));
            else r.print(System.out);
            return 0;
        }

        /** When DNS is asked: under a DANE level (AUTO), always, never. */
        enum Lookup { AUTO, ALWAYS, NEVER }

        /** Gathers every section; DNS asked as {@code lookup} says, the MTA-STS policy fetched with {@code fetch}. */
        static DomainReport report(Config config, String d, Instant now, Lookup lookup, boolean fetch)
                throws CliException {
            PolicyCache stsCache = PolicyCommand.Show.mtaStsCache(config);
            TlsPolicies.Resolved r = PolicyCommand.Show.policies(config, stsCache, now).resolve(d, now);
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
            // DNS last: a damaged file is said at once, not after a lookup
            boolean daneLevel = TlsPlanner.usesDane(r, false);
            String level = TlsPlanner.daneBase(r).level().word();
            boolean ask = lookup == Lookup.ALWAYS || lookup == Lookup.AUTO && daneLevel;
            DnsResolver dns = ask ? DomainLookup.resolver(config) : null;
            // the downgrade memory's floor as delivery puts it under each host's plan
            TlsPlanner.Floor floor = PeerFloors.floor(r, pm, Optional.ofNullable(levels == null ? null
                    : levels.out()));
            DomainReport.Dane dane = !ask ? DomainLookup.notLookedUp(lookup == Lookup.NEVER ? "--no-lookup"
                    : "level " + level + " does not use DANE; --lookup asks DNS")
                    : DomainLookup.dane(config, dns, r, floor, daneLevel ? "level " + level + " uses DANE; asked DNS "
                    + "now (--no-lookup skips it)" : "asked DNS now (--lookup); level " + level + " does not use DANE");
            DomainReport.MtaSts mtaSts = DomainLookup.mtaSts(config, stsCache, d, now, dns, fetch);
            String unicode = Domains.toUnicode(d);
            return new DomainReport(d, unicode.equals(d) ? null : unicode, policy,
                    DomainReport.memory(outMode, pm.inbound().word(), levels), dane, mtaSts, certs, last, notes);
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
