package dev.postern.outbound;

import dev.postern.config.Config;
import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicySource;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves the outbound TLS policy of a destination domain and says where it came from. Sources, strongest first:
 * an active administrator override (which may relax), the static per-domain entry, the domain's MTA-STS policy
 * (RFC 8461; consulted only when neither of those applies), the default. Overrides and static
 * entries match domains the same way ({@link dev.postern.config.DomainKeys}), and delivery and
 * {@code postern policy show} both ask {@link #resolve}, so what the command shows is what delivery does. DANE and
 * peer memory join this list in later work.
 */
public final class TlsPolicies {

    /**
     * A policy and its provenance, for enforcement, logs and {@code postern policy show}: {@code kind} is the
     * source as a structured value (the audit's "default", "static", "override", "mta-sts"), {@code source} the words
     * that name it.
     *
     * @param mtaSts  kind MTA_STS: the policy applied (its id, mode and mx patterns; MX hosts that match none are
     *                not used for an enforced delivery, RFC 8461 §4.1); empty for the other kinds
     * @param beneath kind MTA_STS: the policy MTA-STS stands in front of (the default). When its level is dane or
     *                dane-only, an MX host with DNSSEC-secure TLSA records gets DANE instead (RFC 8461 §2: DANE
     *                wins over MTA-STS); null for the other kinds
     */
    public record Resolved(String domain, Config.TlsPolicy policy, String source,
                           Optional<PolicyOverrides.Override> override, SourceKind kind,
                           Optional<CachedPolicy> mtaSts, Config.TlsPolicy beneath) {

        /** A resolution from a source other than MTA-STS. */
        public Resolved(String domain, Config.TlsPolicy policy, String source,
                        Optional<PolicyOverrides.Override> override, SourceKind kind) {
            this(domain, policy, source, override, kind, Optional.empty(), null);
        }
    }

    /** Where a policy came from; DANE, MTA-STS and peer memory join with their sources. */
    public enum SourceKind {
        DEFAULT("default"), STATIC("static"), OVERRIDE("override"),
        /** RFC 7672: the MX host's TLSA records, DNSSEC-secure (decided per host, by the planner). */
        DANE("dane"),
        /** RFC 8461: the domain's MTA-STS policy in enforce or testing mode. */
        MTA_STS("mta-sts"),
        /** The downgrade memory: the highest TLS level seen with this domain before. */
        MEMORY("memory");

        private final String word;

        SourceKind(String word) { this.word = word; }

        /** The audit's word for it. */
        public String word() { return word; }
    }

    private final Config.OutboundTls config;
    private final PolicyOverrides overrides;
    private final PolicySource mtaSts;
    private final Path mtaStsCaFile;

    /** Without MTA-STS. */
    public TlsPolicies(Config.OutboundTls config, PolicyOverrides overrides) {
        this(config, overrides, PolicySource.NONE, null);
    }

    /** @param mtaStsCaFile trusted besides the system store for MX hosts under an MTA-STS policy; null: none */
    public TlsPolicies(Config.OutboundTls config, PolicyOverrides overrides, PolicySource mtaSts, Path mtaStsCaFile) {
        this.config = config;
        this.overrides = overrides;
        this.mtaSts = mtaSts;
        this.mtaStsCaFile = mtaStsCaFile;
    }

    /**
     * Re-reads the overrides file when it changed and notices overrides that ended, so that the audit hears of
     * them even while no mail goes to their domains (the scheduler calls this every second).
     */
    public void refresh(Instant now) {
        overrides.refresh(now);
    }

    public Resolved resolve(String domain, Instant now) {
        Optional<Map.Entry<String, Config.TlsPolicy>> entry = config.entryFor(domain);
        Config.TlsPolicy base = entry.map(Map.Entry::getValue).orElse(config.defaultPolicy());
        String source = entry.map(e -> "static entry \"" + e.getKey() + "\"").orElse("default");
        Optional<PolicyOverrides.Override> o = overrides.active(domain, now);
        if (o.isPresent()) {
            PolicyOverrides.Override ov = o.get();
            String key = ov.domain().equals(domain) ? "" : " \"" + ov.domain() + "\""; // a ".parent" key
            return new Resolved(domain, base.withLevel(ov.level()), "override" + key + " (level " + ov.level().word()
                    + " until " + ov.until() + ", set by " + ov.setBy() + ": " + ov.reason() + ") over " + source, o,
                    SourceKind.OVERRIDE);
        }
        if (entry.isEmpty()) {
            Optional<CachedPolicy> sts = mtaSts.policyFor(domain);
            if (sts.isPresent()) {
                return new Resolved(domain, underMtaSts(base, sts.get()), sts.get().describe(), Optional.empty(),
                        SourceKind.MTA_STS, sts, base);
            }
        }
        return new Resolved(domain, base, source, Optional.empty(),
                entry.isPresent() ? SourceKind.STATIC : SourceKind.DEFAULT);
    }

    /**
     * What an MTA-STS policy means here: level verify (trusted chain, the MX host's name, RFC 8461 §4.2), in the
     * policy's mode, with the default's protocol, suite and key limits and client certificate; trust anchors are the
     * system store plus {@code [mta_sts] ca_file}.
     */
    private Config.TlsPolicy underMtaSts(Config.TlsPolicy d, CachedPolicy sts) {
        Config.PolicyMode mode = sts.policy().mode() == Policy.Mode.ENFORCE ? Config.PolicyMode.ENFORCE
                : Config.PolicyMode.TESTING;
        return new Config.TlsPolicy(Config.TlsLevel.VERIFY, mode, d.minProtocol(), d.ciphers(), d.minCipherBits(),
                d.minKeyBits(), List.of(), mtaStsCaFile, List.of(), d.clientCertificate(), d.clientKey());
    }
}
