package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.dns.DnsResolver;
import dev.postern.mtasts.MtaSts;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicyCache;
import dev.postern.mtasts.PublishedPolicy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern mta-sts ...}: the policy to publish for our domains, and what is known of a destination's. */
@Command(name = "mta-sts", description = "MTA-STS (RFC 8461): publish a policy, show a domain's.",
        subcommands = {MtaStsCommand.Publish.class, MtaStsCommand.Show.class})
final class MtaStsCommand {

    @Command(name = "policy", description = "Print the MTA-STS policy file and the DNS TXT record to publish for the "
            + "domains this gateway serves (local and relay domains, or --domain).")
    static final class Publish implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Option(names = "--domain", paramLabel = "DOMAIN", description = "a domain to publish for (repeatable); "
                + "default: local_domains and relay_domains") List<String> domains = new ArrayList<>();
        @Option(names = "--mode", paramLabel = "MODE", description = "enforce, testing or none (default: "
                + "[mta_sts.publish] mode, else testing; go to enforce once reports are clean)") String mode;
        @Option(names = "--max-age", paramLabel = "DURATION", description = "how long senders cache the policy, up "
                + "to 365d (default: [mta_sts.publish] max_age, else 7d)") String maxAge;
        @Option(names = "--mx", paramLabel = "HOST", description = "an MX host or *.domain pattern (repeatable); "
                + "default: [mta_sts.publish] mx, else the config's hostname") List<String> mx = new ArrayList<>();

        @Override public Integer call() throws CliException {
            Config config = source.load();
            Config.Publish p = config.mtaSts().publish();
            if (mode != null && !List.of("enforce", "testing", "none").contains(mode)) {
                throw new CliException("postern: --mode: expected enforce, testing or none, got \"" + mode + "\"", 2);
            }
            java.time.Duration age = maxAge == null ? p.maxAge() : TimeOptions.duration("--max-age", maxAge);
            if (age.toSeconds() < 0 || age.toSeconds() > Policy.MAX_AGE_LIMIT) {
                throw new CliException("postern: --max-age: expected at most 365d6h (31557600 seconds), got \""
                        + maxAge + "\"", 2);
            }
            List<String> patterns = new ArrayList<>();
            for (String h : mx) patterns.add(pattern(h));
            List<String> targets = new ArrayList<>();
            for (String d : domains) targets.add(PolicyCommand.domain(d));
            if (targets.isEmpty()) targets.addAll(domains(config));
            if (targets.isEmpty()) {
                throw new CliException("postern: no domain to publish for: the config has no local or relay domain "
                        + "with a dot; name one with --domain", 2);
            }
            Config.Publish chosen = new Config.Publish(p.listen(), p.certificate(), p.key(),
                    mode == null ? p.mode() : mode, age, patterns.isEmpty() ? p.mx() : patterns);
            System.out.print(text(policy(chosen, config.hostname()), targets));
            return 0;
        }

        /**
         * The policy {@code [mta_sts.publish]} describes: the one place config becomes the published policy, for
         * this command and for the file the gateway serves. An empty mx list means the gateway's hostname.
         */
        static PublishedPolicy policy(Config.Publish p, String hostname) {
            Policy.Mode m = Policy.Mode.valueOf(p.mode().toUpperCase(java.util.Locale.ROOT));
            return new PublishedPolicy(m, p.mx().isEmpty() ? List.of(hostname) : p.mx(), p.maxAge().toSeconds());
        }

        /** The domains published for by default: local and relay domains with a dot, lookup form, sorted. */
        static List<String> domains(Config config) {
            List<String> out = new ArrayList<>();
            config.localDomains().stream().filter(d -> d.indexOf('.') > 0).sorted().forEach(out::add);
            config.relayDomains().stream().filter(d -> d.indexOf('.') > 0).sorted().forEach(out::add);
            return out;
        }

        /** What the command prints: the file once, then per domain where it goes and its TXT record. */
        static String text(PublishedPolicy policy, List<String> domains) {
            StringBuilder b = new StringBuilder("# The policy file, served with Content-Type: text/plain at\n");
            for (String d : domains) b.append("#   https://mta-sts.").append(d).append("/.well-known/mta-sts.txt\n");
            b.append("# (each mta-sts.DOMAIN needs an address and a certificate valid for that name)\n");
            b.append(policy.body().replace("\r\n", "\n"));
            b.append("\n# DNS TXT records (the id changes whenever the policy does)\n");
            for (String d : domains) b.append(policy.txtRecord(d)).append('\n');
            return b.toString();
        }

        private static String pattern(String h) throws CliException {
            String p = Policy.mxPattern(h);
            if (p == null) {
                throw new CliException("postern: --mx: expected a host name like mx.example.com or a pattern like "
                        + "*.example.com, got \"" + h + "\"", 2);
            }
            return p;
        }
    }

    @Command(name = "show", description = "What this gateway knows of a destination's MTA-STS policy: the cached "
            + "policy (id, mode, mx, expiry) and the last fetch error; --fetch also looks it up now.")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN") String domain;
        @Option(names = "--fetch", description = "look up the TXT record and fetch the policy now (nothing is cached)")
        boolean fetch;

        @Override public Integer call() throws CliException {
            Config config = source.load();
            String d = PolicyCommand.domain(domain);
            Config.MtaSts m = config.mtaSts();
            System.out.println("MTA-STS of " + d + (m.enabled() ? "" : " ([mta_sts] enabled = false: not applied)"));
            PolicyCache cache = PolicyCommand.Show.mtaStsCache(config);
            MtaSts.State state = cache.state(d);
            for (String line : state.lines(Instant.now())) System.out.println("  " + line);
            if (fetch) {
                DnsResolver dns = DomainLookup.resolver(config); // as the gateway's: the same answers
                DomainReport.Txt txt = DomainLookup.txt(dns, d, state.cached());
                System.out.println("  TXT now:    " + (txt.error() != null ? "lookup failed: " + txt.error()
                        : txt.id() == null ? "no valid v=STSv1 record" : "id=" + txt.id()));
                DomainReport.Fetched f = DomainLookup.fetch(config, dns, d);
                System.out.println(f.error() != null ? "  fetch now:  failed: " + f.error() : "  fetched:    mode "
                        + f.mode() + ", mx " + String.join(", ", f.mx()) + ", max_age " + f.maxAge() + " s");
            }
            return 0;
        }
    }
}
