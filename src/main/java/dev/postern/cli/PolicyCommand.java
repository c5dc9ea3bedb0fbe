package dev.postern.cli;

import dev.postern.audit.AdminLog;
import dev.postern.config.Config;
import dev.postern.mtasts.PolicyCache;
import dev.postern.mtasts.PolicySource;
import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import dev.postern.outbound.PolicyOverrides;
import dev.postern.outbound.TlsPolicies;
import dev.postern.trace.Json;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern policy ...}: see which outbound TLS policy applies, and relax one for a while, on the record. */
@Command(name = "policy", description = "Outbound TLS policies: show, and timed overrides.",
        subcommands = {PolicyCommand.Show.class, PolicyCommand.SetOverride.class, PolicyCommand.ListOverrides.class,
                PolicyCommand.RemoveOverride.class})
final class PolicyCommand {

    @Command(name = "show", description = "The policy that applies to a destination domain, and where it comes from.")
    static final class Show implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN") String domain;
        @Option(names = "--json", description = "one JSON document instead of text (fields: docs/operations.md)")
        boolean json;

        /**
         * What {@code policy show} says, for the text and the JSON alike: the destination in lookup and Unicode form,
         * where the policy comes from, and its settings as the config writes them ({@code minKeyBits} null: the
         * level's floor; {@code match} empty: the level's default names; {@code caFile} null: the system store).
         */
        record Shown(String domain, String unicode, String source, String sourceKind, String level, String mode,
                     String minProtocol, List<String> ciphers, int minCipherBits, Integer minKeyBits,
                     List<String> match, String caFile, List<String> fingerprints, MtaSts mtaSts,
                     String clientCertificate, OverrideShown override) {
            static Shown of(String d, TlsPolicies.Resolved r, Instant now) {
                Config.TlsPolicy p = r.policy();
                return new Shown(d, Domains.toUnicode(d), r.source(), r.kind().word(), p.level().word(),
                        p.mode().name().toLowerCase(Locale.ROOT), p.minProtocol(), p.ciphers(), p.minCipherBits(),
                        p.minKeyBits() == Config.TlsPolicy.LEVEL_KEY_FLOOR ? null : p.minKeyBits(), p.match(),
                        p.caFile() == null ? null : p.caFile().toString(), p.fingerprints(),
                        r.mtaSts().map(c -> new MtaSts(c.id(), c.policy().mode().word(), c.policy().mx()))
                                .orElse(null),
                        p.clientCertificate() == null ? null : p.clientCertificate().toString(),
                        r.override().map(o -> OverrideShown.of(o, now)).orElse(null));
            }
        }

        /** The MTA-STS policy in force: its id, mode and MX patterns. */
        record MtaSts(String id, String mode, List<String> mx) {}

        @Override public Integer call() throws CliException {
            Config config = source.load();
            String d = domain(domain);
            if (d.startsWith(".")) {
                throw new CliException("postern: expected a destination domain like mx.partner.example, got \"" + domain
                        + "\" (a \".suffix\" key is not a domain mail goes to)", 2);
            }
            Instant now = Instant.now();
            TlsPolicies.Resolved r = policies(config, mtaStsCache(config), now).resolve(d, now);
            Shown s = Shown.of(d, r, now);
            if (json) {
                Utf8Out.print(Json.pretty(s) + "\n");
                return 0;
            }
            Config.TlsPolicy p = r.policy();
            System.out.println("Outbound TLS policy for " + d
                    + (s.unicode().equals(d) ? "" : " (" + s.unicode() + ")"));
            row("source", s.source());
            row("level", s.level() + " (" + explain(p.level()) + ")");
            row("mode", p.mode() == Config.PolicyMode.TESTING
                    ? "testing (delivers as \"may\"; records what " + s.level() + " would refuse)" : "enforce");
            row("min protocol", s.minProtocol());
            row("ciphers", s.ciphers().isEmpty() ? "Postern's default AEAD, forward-secret set"
                    : String.join(", ", s.ciphers()));
            row("min cipher bits", s.minCipherBits() == 0 ? "no minimum" : String.valueOf(s.minCipherBits()));
            row("min key bits", s.minKeyBits() != null && s.minKeyBits() > 0 ? s.minKeyBits() + " (RSA-equivalent)"
                    : s.minKeyBits() != null || !p.level().requiresTls() ? "no minimum"
                    : "RSA 2048, EC 256 bits (the level's default)");
            if (p.level() == Config.TlsLevel.VERIFY || p.level() == Config.TlsLevel.SECURE) {
                row("names", !s.match().isEmpty() ? String.join(", ", s.match())
                        : p.level() == Config.TlsLevel.SECURE ? d + ", ." + d
                        : "the MX host name (an IP-literal next hop: its IP address)");
                row("trust anchors", s.caFile() == null ? "the JDK's system store"
                        : r.kind() == TlsPolicies.SourceKind.MTA_STS ? "the JDK's system store and " + s.caFile()
                        : s.caFile());
            }
            if (p.level() == Config.TlsLevel.FINGERPRINT) row("pinned", String.join(", ", s.fingerprints()));
            if (s.mtaSts() != null) {
                row("mta-sts mx", String.join(", ", s.mtaSts().mx()) + " (other MX hosts are not used"
                        + (p.mode() == Config.PolicyMode.TESTING ? " under enforce)" : ")"));
            }
            row("client cert", s.clientCertificate() == null ? "none" : s.clientCertificate());
            OverrideShown o = s.override();
            row("override", o == null ? "none" : (o.domain().equals(d) ? "" : "\"" + o.domain() + "\": ")
                    + o.level() + " until " + o.until() + ", set by " + o.setBy() + " at " + o.setAt() + ": "
                    + o.reason());
            return 0;
        }

        private static void row(String name, String value) {
            System.out.printf("  %-16s %s%n", name + ":", value);
        }

        /** The gateway's MTA-STS cache in data/mta-sts, read (commands never write it). */
        static PolicyCache mtaStsCache(Config config) {
            return PolicyCache.open(config.dataDir().resolve("mta-sts"), config.mtaSts().maxDomains());
        }

        /**
         * The policies as delivery resolves them, with MTA-STS as {@code cache} holds it: the commands look nothing
         * up (a domain with a static route never consults MTA-STS, as in the gateway).
         */
        static TlsPolicies policies(Config config, PolicyCache cache, Instant now) {
            PolicySource mtaSts = config.mtaSts().enabled()
                    ? cache.offline(now).except(x -> config.routeFor(x).isPresent()) : PolicySource.NONE;
            return new TlsPolicies(config.outboundTls(), new PolicyOverrides(config.dataDir()), mtaSts,
                    config.mtaSts().caFile());
        }

        private static String explain(Config.TlsLevel level) {
            return switch (level) {
                case NONE -> "never STARTTLS";
                case MAY -> "TLS when offered, any certificate, clear text otherwise";
                case ENCRYPT -> "TLS required, any certificate";
                case FINGERPRINT -> "TLS required, certificate or key pinned";
                case VERIFY -> "TLS required, trusted chain, name of the MX host";
                case SECURE -> "TLS required, trusted chain, name of the destination domain";
                case DANE -> "DANE (RFC 7672) where the MX host has DNSSEC-secure TLSA records, else as may";
                case DANE_ONLY -> "DANE required: only MX hosts with DNSSEC-secure TLSA records";
            };
        }
    }

    @Command(name = "override", description = "Relax one domain's policy until a given time; recorded with who, "
            + "when and why. DOMAIN matches as policy keys do: \"partner.example\" that domain only, "
            + "\".partner.example\" every subdomain. Takes effect on a running gateway at its next delivery there.")
    static final class SetOverride implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN") String domain;
        @Option(names = "--level", required = true, paramLabel = "LEVEL",
                description = "none, may, encrypt, fingerprint, verify, secure, dane or dane-only") String level;
        @Option(names = "--until", required = true, paramLabel = "TIME",
                description = "a duration from now (2h, 3d), a time (2026-12-24T00:00Z) or a date (2026-12-24, "
                        + "midnight UTC)") String until;
        @Option(names = "--reason", required = true, paramLabel = "TEXT",
                description = "why (a ticket number helps the next person)") String reason;
        @Mixin QueueCommand.Operator operator;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            OverrideShown o = OverrideDesk.set(config, domain, level, until, reason, operator.name(), null);
            System.out.println("override for " + o.domain() + ": level " + o.level() + " until " + o.until()
                    + " (recorded in " + AdminLog.in(config.dataDir()).file() + ")");
            return 0;
        }
    }

    @Command(name = "overrides", description = "List the overrides, active and expired.")
    static final class ListOverrides implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Option(names = "--json", description = "one JSON document instead of text (fields: docs/operations.md)")
        boolean json;

        /** The overrides as of {@code now}, for {@code --json}. */
        record Listed(Instant now, List<OverrideShown> overrides) {}

        @Override public Integer call() throws CliException {
            Config config = source.load();
            Instant now = Instant.now();
            Listed listed = OverrideDesk.list(config, now);
            List<OverrideShown> all = listed.overrides();
            if (json) {
                Utf8Out.print(Json.pretty(listed) + "\n");
                return 0;
            }
            if (all.isEmpty()) {
                System.out.println("No overrides.");
                return 0;
            }
            for (OverrideShown o : all) {
                System.out.printf("%-30s %-11s %-8s until %s  by %s at %s: %s%n", o.domain(), o.level(),
                        o.active() ? "active" : "expired", o.until(), o.setBy(), o.setAt(), o.reason());
            }
            return 0;
        }
    }

    /**
     * An override as {@code policy show} and {@code policy overrides} print it: its key in lookup and Unicode form
     * (".partner.example" for every subdomain), the level's word, and whether it is in force at the time shown.
     */
    record OverrideShown(String domain, String unicode, String level, Instant until, boolean active, Instant setAt,
                         String setBy, String reason) {
        static OverrideShown of(PolicyOverrides.Override o, Instant now) {
            String prefix = o.domain().startsWith(".") ? "." : "";
            return new OverrideShown(o.domain(), prefix + Domains.toUnicode(o.domain().substring(prefix.length())),
                    o.level().word(), o.until(), o.activeAt(now), o.setAt(), o.setBy(), o.reason());
        }
    }

    @Command(name = "clear", description = "Remove a domain's override before it expires.")
    static final class RemoveOverride implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "DOMAIN") String domain;
        @Mixin QueueCommand.Operator operator;
        @Option(names = "--reason", paramLabel = "TEXT", description = "why it ends early (in data/admin.log)")
        String reason;

        @Override public Integer call() throws Exception {
            String d = OverrideDesk.clear(source.load(), domain, reason, operator.name(), null);
            System.out.println("override for " + d + " removed");
            return 0;
        }
    }

    /** The lookup form of a domain as written on the command line (Unicode or xn--, any case), as delivery uses. */
    static String domain(String s) throws CliException {
        String prefix = s.startsWith(".") ? "." : "";
        try {
            String d = Domains.toAscii(s.substring(prefix.length()));
            if (d.indexOf('.') < 0) throw new InvalidDomainException("a single label");
            return prefix + d;
        } catch (InvalidDomainException e) {
            throw new CliException("postern: expected a domain like partner.example, got \"" + s + "\" ("
                    + e.getMessage() + ")", 2);
        }
    }

    /** The administrator: the user behind sudo when there is one. */
    static String who() {
        String sudo = System.getenv("SUDO_USER");
        return sudo != null && !sudo.isBlank() ? sudo : System.getProperty("user.name", "unknown");
    }
}
