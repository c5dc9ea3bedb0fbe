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
 * {@code postern policy show} both ask {@link #resolve}, so what the command shows is what delivery does. DANE is
 * decided per MX host by the planner (RFC 8461 §2: it wins over MTA-STS), the peer memory is a floor on the plan.
 * Not final: a test stands in a recipient-side source by overriding {@link #resolve(String, Instant)}.
 */
public class TlsPolicies {

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

    /** The current {@code [outbound_tls]}, read once per resolution (a reload swaps it). */
    private final java.util.function.Supplier<Config.OutboundTls> config;
    private final PolicyOverrides overrides;
    private final PolicySource mtaSts;
    private final Path mtaStsCaFile;

    /** Without MTA-STS. */
    public TlsPolicies(Config.OutboundTls config, PolicyOverrides overrides) {
        this(config, overrides, PolicySource.NONE, null);
    }

    /** @param mtaStsCaFile trusted besides the system store for MX hosts under an MTA-STS policy; null: none */
    public TlsPolicies(Config.OutboundTls config, PolicyOverrides overrides, PolicySource mtaSts, Path mtaStsCaFile) {
        this(() -> config, overrides, mtaSts, mtaStsCaFile);
    }

    /** @param config the current {@code [outbound_tls]} (the gateway's live config, swapped by a reload) */
    public TlsPolicies(java.util.function.Supplier<Config.OutboundTls> config, PolicyOverrides overrides,
                       PolicySource mtaSts, Path mtaStsCaFile) {
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

    /**
     * RFC 8689 §3, §4.2.2 and §8.4: whether a TLS requirement that comes from {@code source} is set aside for a
     * message whose sender wrote {@code TLS-Required: No} ({@code tlsRequiredNo}; never with REQUIRETLS, which wins,
     * §4.1). The one rule, asked wherever a requirement is made: here for the domain's policy, for DANE per MX host in
     * {@link TlsPlanner#usesDane}, and for the downgrade memory's floor by the scheduler before it plans a host.
     * <p>Set aside: what the recipient's side publishes (DANE, MTA-STS: "ignoring policy-based mechanisms ... asserted
     * by the recipient domain", §3) and what Postern learned from it (the downgrade memory, a recipient-side policy
     * of Postern's own making). Never set aside: the administrator's own policy, static entry, default or override
     * (a sender's header cannot relax what the operator configured; the RFC speaks only of recipient-side policy).
     * The message is then handled by the administrator's policy, as if Postern did not support DANE or MTA-STS
     * (§8.4), and still uses STARTTLS when the next hop offers it under {@code may}.
     */
    public static boolean setAside(SourceKind source, boolean tlsRequiredNo) {
        if (!tlsRequiredNo) return false;
        return switch (source) {
            case DANE, MTA_STS, MEMORY -> true;
            case DEFAULT, STATIC, OVERRIDE -> false;
        };
    }

    /**
     * The policy for a message to {@code domain}: {@link #resolve}, unless the message has {@code TLS-Required: No}
     * and the policy comes from a source {@link #setAside} names; then the administrator's own policy
     * ({@link #configured}), whose source words say what was set aside.
     */
    public Resolved resolve(String domain, Instant now, boolean tlsRequiredNo) {
        Resolved full = resolve(domain, now);
        if (!setAside(full.kind(), tlsRequiredNo)) return full;
        Resolved own = configured(domain, now);
        return new Resolved(own.domain(), own.policy(), own.source() + " (the " + full.kind().word()
                + " policy is set aside: the message has TLS-Required: No, RFC 8689)", own.override(), own.kind());
    }

    /**
     * The policy of {@code domain} from every domain-wide source: the administrator's ({@link #configured}), and when
     * only the default applies, the domain's MTA-STS policy in front of it.
     */
    public Resolved resolve(String domain, Instant now) {
        Resolved own = configured(domain, now);
        if (own.kind() != SourceKind.DEFAULT) return own;
        Optional<CachedPolicy> sts = mtaSts.policyFor(domain);
        if (sts.isEmpty()) return own;
        return new Resolved(domain, underMtaSts(own.policy(), sts.get()), sts.get().describe(), Optional.empty(),
                SourceKind.MTA_STS, sts, own.policy());
    }

    /**
     * The administrator's policy of {@code domain}, from the configuration and overrides only: an active override,
     * the static entry, the default. Recipient-side sources (DANE, MTA-STS) and the memory come on top in
     * {@link #resolve(String, Instant)}.
     */
    public Resolved configured(String domain, Instant now) {
        Config.OutboundTls tls = config.get();
        Optional<Map.Entry<String, Config.TlsPolicy>> entry = tls.entryFor(domain);
        Config.TlsPolicy base = entry.map(Map.Entry::getValue).orElse(tls.defaultPolicy());
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
