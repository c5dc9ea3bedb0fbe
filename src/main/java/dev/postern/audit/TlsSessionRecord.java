package dev.postern.audit;

import java.time.Instant;
import java.util.List;

/**
 * One SMTP connection, in (a client of ours) or out (a next hop), with what TLS it had. A connection that stayed in
 * clear text is recorded too ({@code protocol} null), so reports can count the share of sessions in clear. Inbound,
 * the record is made when the session ends; outbound, when the connection's TLS was settled (after STARTTLS or when
 * TLS was not used), and reused connections are not recorded again: each delivery names the session it used.
 *
 * @param id                 {@link AuditIds#next()}; messages and deliveries name it
 * @param direction          in or out
 * @param endpoint           in: the listener ("mx 0.0.0.0:25"); out: the next hop's name and port ("mx1.bank.example:25")
 * @param peerIp             the other side's address
 * @param peerPort           the other side's port
 * @param ehloName           in: the name the client gave in its last EHLO/HELO; out: the name in the server's greeting
 * @param reverseDns         in: the client's PTR name when looked up, else null; out: null
 * @param protocol           "TLSv1.3", null when the session stayed in clear text
 * @param cipher             the IANA/JSSE suite name, null without TLS
 * @param cipherBits         symmetric key bits of the suite, -1 unknown or without TLS
 * @param keyExchangeGroup   the negotiated group ("x25519"), null when the TLS provider does not say
 * @param resumed            whether the TLS session was resumed (no full handshake)
 * @param sni                out: the server name sent; in: the name the client asked for; null when none
 * @param peerChain          the peer's certificates, leaf first; empty when none was sent
 * @param verification       whether the peer's certificate was verified (chain and, out, name)
 * @param verificationReason what was verified ("verified for *.bank.example (issuer ...)"), or why verification
 *                           failed, the problem alone ("name mismatch", "self-signed certificate (not trusted)")
 * @param clientCertificate  one vocabulary both ways: "not-asked", "asked-none-sent"; in: "verified" or
 *                           "untrusted: REASON" for the client's certificate; out: "sent" (ours)
 * @param noTls              why the session had no TLS: null with TLS; else NOT_OFFERED, ... (see {@link NoTls})
 * @param noTlsDetail        the words that go with {@code noTls} (the handshake's error, the refused reply)
 * @param policy             the TLS policy the session was held to (out: the destination's; in: the listener's)
 * @param policyDomain       out: the recipient domain whose policy the session was held to (lookup form), for SMTP
 *                           TLS reports (RFC 8460); null inbound and in records written before it was kept
 * @param policyType         out: RFC 8460 §4.4's {@code policy-type} the session counts under: "tlsa" (DANE judged
 *                           it), "sts" (an MTA-STS policy), "no-policy-found"; null when it counts under none (TLS not
 *                           attempted: level none, or the clear-text retry after a failed handshake) and inbound
 * @param resultType         out: RFC 8460 §4.3's {@code result-type} when the session failed what its policy asks
 *                           (in testing mode: would have failed), e.g. "certificate-host-mismatch"; null when it
 *                           succeeded, and inbound
 */
public record TlsSessionRecord(String id, Instant at, Direction direction, String endpoint, String peerIp,
                               int peerPort, String ehloName, String reverseDns, String protocol, String cipher,
                               int cipherBits, String keyExchangeGroup, boolean resumed, String sni,
                               List<CertificateSummary> peerChain, Verification verification,
                               String verificationReason, String clientCertificate, NoTls noTls, String noTlsDetail,
                               PolicyApplied policy, String policyDomain, String policyType,
                               String resultType) implements AuditRecord {

    public TlsSessionRecord {
        peerChain = peerChain == null ? List.of() : List.copyOf(peerChain);
        if (verification == null) verification = Verification.NOT_CHECKED;
    }

    /** A record without the TLS-report facts (inbound sessions, and outbound ones where they do not apply). */
    public TlsSessionRecord(String id, Instant at, Direction direction, String endpoint, String peerIp, int peerPort,
                            String ehloName, String reverseDns, String protocol, String cipher, int cipherBits,
                            String keyExchangeGroup, boolean resumed, String sni, List<CertificateSummary> peerChain,
                            Verification verification, String verificationReason, String clientCertificate,
                            NoTls noTls, String noTlsDetail, PolicyApplied policy) {
        this(id, at, direction, endpoint, peerIp, peerPort, ehloName, reverseDns, protocol, cipher, cipherBits,
                keyExchangeGroup, resumed, sni, peerChain, verification, verificationReason, clientCertificate, noTls,
                noTlsDetail, policy, null, null, null);
    }

    public enum Direction { IN, OUT }

    /** Whether the peer's certificate was checked and what came of it. */
    public enum Verification {
        /** Chain (and, outbound, name) verified. */
        VERIFIED,
        /** Checked and failed; {@code verificationReason} says why. */
        FAILED,
        /** Not checked: no TLS, no certificate sent, or the listener does not ask for client certificates. */
        NOT_CHECKED
    }

    /** Why a session had no TLS. */
    public enum NoTls {
        /** The server did not offer STARTTLS (out), or the client did not ask for it (in). */
        NOT_OFFERED,
        /** The server answered STARTTLS with an error. */
        REFUSED,
        /** The TLS handshake failed. */
        HANDSHAKE_FAILED,
        /** TLS was up but the policy's checks failed, so the session was ended before MAIL. */
        POLICY_CHECK_FAILED,
        /** The policy did not ask for TLS (level none), or the session fell back to clear text under "may". */
        NOT_ATTEMPTED
    }

    /** Whether the session was encrypted at all. */
    public boolean encrypted() { return protocol != null; }

    /**
     * The policy applied to a session.
     *
     * @param level    "none", "may", "encrypt", "verify", "secure", "fingerprint" (out); in: "may" or "encrypt"
     *                 (the listener requires TLS)
     * @param source   "default", "static", "override", "dane", "mta-sts", "memory", "listener"
     * @param sourceDetail the words that name the source ("static entry \"bank.example\"", the override's reason)
     * @param mode     "enforce" or "testing"
     * @param wouldFail in testing mode: each check the enforced level would have failed; else empty
     */
    public record PolicyApplied(String level, String source, String sourceDetail, String mode,
                                List<String> wouldFail) {
        /** The levels that require TLS ({@code Config.TlsLevel.requiresTls}). */
        public static final List<String> ENFORCING_LEVELS = List.of("encrypt", "fingerprint", "verify", "secure");

        public PolicyApplied {
            wouldFail = wouldFail == null ? List.of() : List.copyOf(wouldFail);
        }

        /**
         * Whether a delivery under this policy is an enforced link's (docs/audit.md, report tls, "enforced links"):
         * the level requires TLS, or the policy is tested. The report and the metrics both ask this.
         */
        public boolean enforcing() {
            return ENFORCING_LEVELS.contains(level) || "testing".equals(mode);
        }
    }
}
