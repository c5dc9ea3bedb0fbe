package dev.postern.mtasts;

import java.util.Optional;

/** Where {@code outbound.TlsPolicies} learns a domain's MTA-STS policy. */
public interface PolicySource {
    /**
     * The policy that applies to {@code domain} (lookup form) now, in enforce or testing mode; empty when the domain
     * has none, withdrew it ({@code mode: none}) or it expired.
     */
    Optional<CachedPolicy> policyFor(String domain);

    /** No MTA-STS ({@code [mta_sts] enabled = false}). */
    PolicySource NONE = domain -> Optional.empty();
}
