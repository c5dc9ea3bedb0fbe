package dev.postern.audit;

/**
 * Outbound sessions of one UTC day that an SMTP TLS report (RFC 8460) counts together: same policy domain, policy
 * type, result, MX host, address, greeting name and reason. Successful sessions ({@code resultType} null) are grouped
 * by MX host only ({@code receivingIp}, {@code helo} and {@code reason} null).
 *
 * @param policyDomain lookup form
 * @param policyType   "tlsa", "sts", "no-policy-found"
 * @param resultType   RFC 8460 §4.3's result type; null: these sessions succeeded
 * @param mxHost       the MX host's name as connected to (the endpoint without its port)
 * @param receivingIp  the MX address (failures only)
 * @param helo         the name in the MX's greeting (failures only; may be null)
 * @param reason       Postern's words for the failure (the verification problem, or why there was no TLS)
 * @param sessions     how many sessions
 */
public record TlsRptGroup(String policyDomain, String policyType, String resultType, String mxHost,
                          String receivingIp, String helo, String reason, long sessions) { }
