package dev.postern.mtasts;

import java.util.Optional;

/** Where {@code outbound.TlsPolicies} learns a domain's MTA-STS policy. */
public interface PolicySource {
    /**
     * The policy that applies to {@code domain} (lookup form) now, in enforce or testing mode; empty when the domain
     * has none, withdrew it ({@code mode: none}) or it expired.
     */
    Optional<CachedPolicy> policyFor(String domain);

    /**
     * This source for every domain but those {@code skip} accepts: a domain with a static route goes to a next hop
     * the administrator chose, not to its MX hosts, so the policy's mx patterns say nothing about it.
     */
    default PolicySource except(java.util.function.Predicate<String> skip) {
        return domain -> skip.test(domain) ? Optional.empty() : policyFor(domain);
    }

    /** No MTA-STS ({@code [mta_sts] enabled = false}). */
    PolicySource NONE = domain -> Optional.empty();
}
