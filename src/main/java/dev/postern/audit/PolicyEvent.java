package dev.postern.audit;

import java.time.Instant;

/**
 * One delivery attempt the dashboard lists under "policy failures and downgrades" (see {@link DashboardQueries}).
 *
 * @param kind         "failure": not delivered for TLS (a 4.7.x/5.7.x status, or no TLS where it was required);
 *                     "memory": not delivered because the downgrade memory asked more than the peer gave;
 *                     "downgrade": delivered in clear text under a policy that offers TLS (why: {@code noTlsReason})
 * @param policyLevel  the level the session was held to, null when no session was recorded
 * @param policySource where it came from ("static", "memory", ...), null likewise
 */
public record PolicyEvent(Instant at, String kind, String gateway, String queueId, String recipient, String domain,
                          String mxHost, String outcome, String status, String reason, String noTlsReason,
                          String policyLevel, String policySource, String policyMode) { }
