package dev.postern.cli;

import static dev.postern.trace.TraceText.printable;

import dev.postern.audit.Audit;
import dev.postern.audit.AuditRecord;
import dev.postern.audit.ProbeRecord;
import dev.postern.config.Config;
import dev.postern.peers.PeerLevels;
import dev.postern.probes.HealthProbes;
import dev.postern.probes.ProbeTargets;
import dev.postern.trace.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern probe DOMAIN | --list}: a health probe now, or which domains the periodic probes watch. */
@Command(name = "probe", description = "Run a health probe of DOMAIN now: connect as delivery would (route or MX, "
        + "STARTTLS, the check under the domain's policy, QUIT; no mail), stop at the first host that passes, record "
        + "the result in the audit store. Through the running gateway when there is one (its alerts see the result), "
        + "else in this process. --list shows the domains the periodic probes watch, why, and each one's last result. "
        + "Exit 0: the probe passed (or --list); 1: it failed; 2: bad usage.")
final class ProbeCommand implements Callable<Integer> {
    @Mixin ConfigSource source;
    @Parameters(paramLabel = "DOMAIN", arity = "0..1") String domain;
    @Option(names = "--list", description = "The watched domains, why each is watched, and its last result.")
    boolean list;
    @Option(names = "--json", description = "JSON instead of text.") boolean json;
    @Option(names = "--by", paramLabel = "NAME", description = "Who asks, for the record (default: your login name).")
    String by;

    @Override public Integer call() throws Exception {
        Config config = source.load();
        if (list == (domain != null)) {
            throw new CliException("postern: probe: expected a DOMAIN like partner.example, or --list", 2);
        }
        if (list) return list(config);
        TlsCommand.Target t = TlsCommand.target(domain, config.delivery().smtpPort());
        if (t.hop() != null) {
            throw new CliException("postern: probe: expected a domain like partner.example, got \"" + domain
                    + "\" (postern tls probe takes one host)", 2);
        }
        String actor = by == null ? PolicyCommand.who() : by.strip();
        if (actor.isEmpty() || actor.length() > 64 || actor.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new CliException("postern: --by: expected 1 to 64 printable characters", 2);
        }
        ProbeRecord r = probe(config, t.domain(), actor);
        if (json) System.out.println(Json.pretty(r));
        else print(r);
        return r.ok() ? 0 : 1;
    }

    /**
     * Through the running gateway's control socket (its audit, its alerts), else here: the same probe over the
     * files delivery reads, its record written to the store directly.
     */
    private static ProbeRecord probe(Config config, String domain, String actor) throws CliException, IOException {
        Path data = config.dataDir();
        if (Gateway.runs(data)) {
            String answer = ControlClient.ask(data.resolve("control.sock"), "probe " + domain + " " + actor);
            return Json.mapper().readValue(answer, ProbeRecord.class);
        }
        List<AuditRecord> made = new ArrayList<>();
        Audit collect = made::add;
        HealthProbes here = new HealthProbes(() -> config, TlsCommand.offlineProber(config), List::of, collect);
        ProbeRecord r = here.probe(domain, actor);
        AuditAccess.ask(config, store -> {
            store.write(List.copyOf(made));
            return null;
        });
        return r;
    }

    private static void print(ProbeRecord r) {
        System.out.println("probe " + r.domain() + ": " + (r.ok() ? "ok" : "FAILED"));
        System.out.println("  policy: " + r.policyLevel() + " (" + r.policySource() + ")");
        if (r.host() != null) {
            String at = r.host() + (r.ip() == null ? "" : "[" + r.ip() + "]") + ":" + r.port();
            System.out.println("  host: " + printable(at) + (r.protocol() == null ? ", no TLS"
                    : ", " + r.protocol() + " " + r.cipher()) + ", " + r.verification());
        }
        if (r.problem() != null) System.out.println("  problem: " + printable(r.problem()));
        for (String h : r.hostsTried()) System.out.println("  tried: " + printable(h));
        System.out.println("  took: " + r.millis() + " ms, by " + printable(r.trigger()) + " at " + r.at());
    }

    /** One watched domain for --list --json. */
    record Listed(String domain, List<String> sources, ProbeRecord last) {}

    private int list(Config config) throws CliException {
        List<ProbeTargets.Target> targets;
        try {
            targets = ProbeTargets.of(config, ProbeTargets.mtaStsCache(config).all(), PeerLevels.read(config.dataDir()),
                    Instant.now());
        } catch (IOException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
        Map<String, ProbeRecord> last = new LinkedHashMap<>();
        for (ProbeRecord r : AuditAccess.ask(config, store -> store.latestProbes())) last.put(r.domain(), r);
        List<Listed> listed = targets.stream().map(t -> new Listed(t.domain(), t.sources(), last.get(t.domain())))
                .toList();
        if (json) {
            System.out.println(Json.pretty(Map.of("targets", listed)));
            return 0;
        }
        if (listed.isEmpty()) {
            System.out.println("no domain is watched: none has an enforced, DANE or MTA-STS policy, and [probes] "
                    + "domains is empty");
            return 0;
        }
        for (Listed l : listed) {
            ProbeRecord r = l.last();
            String result = r == null ? "never probed" : (r.ok() ? "ok" : "FAILED") + " at " + r.at()
                    + (r.ok() || r.problem() == null ? "" : ": " + printable(r.problem()));
            System.out.println(l.domain() + "  (" + String.join("; ", l.sources()) + ")");
            System.out.println("  last: " + result);
        }
        return 0;
    }
}
