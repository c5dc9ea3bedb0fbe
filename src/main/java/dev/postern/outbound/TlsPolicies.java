package dev.postern.outbound;

import dev.postern.config.Config;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves the outbound TLS policy of a destination domain and says where it came from. Sources, strongest first:
 * an active administrator override (which may relax), the static per-domain entry, the default. Overrides and static
 * entries match domains the same way ({@link dev.postern.config.DomainKeys}), and delivery and
 * {@code postern policy show} both ask {@link #resolve}, so what the command shows is what delivery does. DANE, MTA-STS and
 * peer memory join this list in later work.
 */
public final class TlsPolicies {

    /**
     * A policy and its provenance, for enforcement, logs and {@code postern policy show}: {@code kind} is the
     * source as a structured value (the audit's "default", "static", "override"), {@code source} the words that
     * name it.
     */
    public record Resolved(String domain, Config.TlsPolicy policy, String source,
                           Optional<PolicyOverrides.Override> override, SourceKind kind) {}

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

    public TlsPolicies(Config.OutboundTls config, PolicyOverrides overrides) {
        this.config = config;
        this.overrides = overrides;
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
        return new Resolved(domain, base, source, Optional.empty(),
                entry.isPresent() ? SourceKind.STATIC : SourceKind.DEFAULT);
    }
}
