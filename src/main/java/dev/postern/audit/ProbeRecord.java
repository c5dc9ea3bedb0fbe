package dev.postern.audit;

import java.time.Instant;
import java.util.List;

/**
 * One health probe of a domain: connected as delivery would (routing or MX, STARTTLS, the domain's policy), then
 * QUIT without mail.
 *
 * @param domain       the probed domain, lookup form
 * @param ok           whether mail for the domain would have been delivered under its policy
 * @param trigger      "scheduled" or the actor of a probe run on demand ({@code postern probe}, the admin API)
 * @param policyLevel  the level the probe was held to ("encrypt", "dane-only", ...)
 * @param policySource where that level came from ("static", "dane", "mta-sts", "memory", "default", "override")
 * @param host         the host that decided the result (the first that passed, else the last tried); null if none
 * @param ip           its address, null when none was reached
 * @param port         its port, -1 when none
 * @param tlsSessionId the outbound {@link TlsSessionRecord} the probe made on that host, null when none
 * @param protocol     "TLSv1.3", null without TLS
 * @param cipher       the suite, null without TLS
 * @param verification "verified", "dane", "unverified", "none" (no TLS)
 * @param problem      why it failed (or what a passing probe would fail under testing), null when none
 * @param hostsTried   each host tried and what came of it, in order
 * @param millis       how long the probe took
 */
public record ProbeRecord(Instant at, String domain, boolean ok, String trigger, String policyLevel,
                          String policySource, String host, String ip, int port, String tlsSessionId,
                          String protocol, String cipher, String verification, String problem,
                          List<String> hostsTried, long millis) implements AuditRecord {
    public ProbeRecord {
        hostsTried = hostsTried == null ? List.of() : List.copyOf(hostsTried);
    }
}
