package dev.postern.outbound;

import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.dane.DaneCheck;
import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Addresses;
import dev.postern.dns.DnsResolver;
import dev.postern.dns.Security;
import dev.postern.tls.AuditFacts;
import dev.postern.tls.Constraints;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.NameMatcher;
import dev.postern.tls.Pem;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsContexts;
import dev.postern.tls.TlsFacts;
import dev.postern.tls.TrustAnchorCache;
import dev.postern.tlsrpt.Report;
import java.nio.file.Path;
import java.security.Provider;
import java.security.cert.TrustAnchor;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * Turns a resolved policy into what the SMTP client does with TLS for one next hop (a {@link Plan}), and judges a
 * finished handshake against it. Trust anchors and client-certificate contexts are built once per file and reused.
 */
public final class TlsPlanner {

    /**
     * What to do about TLS with one next hop.
     *
     * @param attempt  send STARTTLS when the server offers it
     * @param required refuse to deliver without TLS that passes {@link #judge}
     * @param testing  the policy is in testing mode: judge fully, record what would fail, deliver as "may"
     * @param broad    opportunistic retry after a failed handshake: offer every suite the JDK enables (TLS 1.2 CBC
     *                 suites too), because under "may" any encryption beats clear text (RFC 7435)
     * @param fallback why this plan is a retry that is weaker than the first try (weak TLS or clear text), or null
     * @param resolved the policy's resolution (its source), for the audit record of the session
     * @param dane     the host's DNSSEC-secure TLSA records when DANE judges this session (RFC 7672), else null
     * @param floor    the downgrade memory's floor when it asks more than the policy does (null: it adds nothing);
     *                 under refuse it makes TLS {@code required}, and {@link #judge} fails a session below it
     * @param broadContext the JDK's context with the same client certificate, for the broad retry: {@code context}
     *                 itself under the JDK; under Conscrypt a JDK one, because BoringSSL lacks suites that the JDK
     *                 still enables (ECDHE with AES-CBC-SHA384, for one) and the retry is there to reach such peers
     */
    public record Plan(boolean attempt, boolean required, boolean testing, SSLContext context,
                       Constraints constraints, Config.TlsPolicy policy, String domain, String hopHost,
                       Set<TrustAnchor> anchors, boolean broad, String fallback, TlsPolicies.Resolved resolved,
                       TlsaLookup.Found.Secure dane, Floor floor, SSLContext broadContext) {

        /** The policy by itself requires TLS (an enforced level from encrypt up), whatever the floor says. */
        public boolean policyRequired() {
            return policy.level().requiresTls() && !testing;
        }

        /**
         * RFC 8460's {@code policy-type} a session under this plan counts under: "tlsa" when DANE judges it, "sts"
         * under an MTA-STS policy, else "no-policy-found"; null when TLS is not attempted (level none, the clear-text
         * retry after a failed handshake, whose failure the first connection's record already counts).
         */
        public String reportPolicyType() {
            if (!attempt) return null;
            if (dane != null) return Report.PolicyType.TLSA;
            return resolved != null && resolved.kind() == TlsPolicies.SourceKind.MTA_STS ? Report.PolicyType.STS
                    : Report.PolicyType.NO_POLICY_FOUND;
        }

        /** The level the audit names for this session: the floor's would-be level when it binds, else the policy's. */
        public String auditLevel() {
            return floor == null ? policy.level().word() : floor.policyLevel().word();
        }

        /** The audit's source kind: "memory" when the floor binds. */
        public TlsPolicies.SourceKind auditKind() {
            return floor != null ? TlsPolicies.SourceKind.MEMORY : resolved == null ? null : resolved.kind();
        }

        /** The words that name the source, for the audit record. */
        public String auditSource() {
            String base = resolved == null ? null : resolved.source();
            return floor == null ? base : floor.describe() + (base == null ? "" : ", over " + base);
        }

        /** "enforce" or "testing"; a flagging floor is recorded like a testing policy: what it would refuse. */
        public String auditMode() {
            return testing || floor != null && !floor.enforce() ? "testing" : "enforce";
        }

        /**
         * The downgrade this session is, or null: the session achieved {@code achieved} (plain without TLS), below
         * the floor. {@code offered} says what the session offered ("no STARTTLS", "TLS, unverified: ...").
         */
        public String downgrade(dev.postern.peers.Level achieved, String offered) {
            return floor == null || !floor.level().above(achieved) ? null : floor.downgrade(offered);
        }

        /**
         * The name sent in SNI: the MX host's, except under DANE the TLSA base domain (RFC 7672 §8.1: "the SMTP client
         * MUST send the TLS SNI extension containing the TLSA base domain"), which differs when the MX host is a
         * CNAME whose target has the TLSA records, so that a hoster serving many names sends the chain those records
         * name.
         */
        public String serverName() {
            return dane != null ? dane.baseDomain() : hopHost;
        }

        /**
         * What to offer in the handshake: the policy's constraints when TLS is required; otherwise (may, testing)
         * Postern's default set, because a constraint that made an opportunistic handshake fail would only lead to
         * clear text. The constraints are still judged after the handshake and recorded.
         */
        public Constraints offered() {
            return policyRequired() ? constraints : Constraints.DEFAULT;
        }

        /**
         * Why this plan cannot carry a REQUIRETLS message (RFC 8689 §4.2.1), or null when it can: the next hop must be
         * authenticated, so only an enforced level that verifies the server (verify, secure, fingerprint) qualifies;
         * opportunistic levels and testing mode never do; DANE with usable TLSA records does (RFC 8689 §4.2.1 names
         * it), and so does an enforced MTA-STS policy, level verify (its MX hosts outside the policy's mx patterns
         * are not used at all). Not asked for a DSN (null reverse path): RFC 8689 §4.2.1 binds only messages with a
         * return path, and §5 says a bounce is not discarded for want of REQUIRETLS on its way back.
         */
        public String requireTlsRefusal() {
            // The downgrade memory's floor is no policy of the domain's: it never qualifies a hop by itself.
            TlsLevel level = policy.level();
            if (dane != null && !testing && !DaneCheck.usable(dane.tlsa().records()).isEmpty()) return null;
            boolean verifies = level == TlsLevel.VERIFY || level == TlsLevel.SECURE || level == TlsLevel.FINGERPRINT;
            if (verifies && policyRequired()) return null; // not `required`: that may be the floor's alone
            return "the TLS policy for " + domain + " is " + level.word() + (testing ? " in testing mode" : "")
                    + ", which does not verify the next hop";
        }

        /**
         * Why this plan's MX host is outside the MTA-STS policy's mx patterns (RFC 8461 §4.1), or null (no MTA-STS
         * policy, or the host matches). Enforced: the scheduler does not use the host; testing: a would-fail.
         */
        public String mxMismatch() {
            if (resolved == null || resolved.kind() != TlsPolicies.SourceKind.MTA_STS) return null;
            return resolved.mtaSts().filter(p -> !p.policy().allows(hopHost))
                    .map(p -> "MX host " + hopHost + " does not match the MTA-STS policy's mx "
                            + String.join(", ", p.policy().mx()) + " (id=" + p.id() + ")")
                    .orElse(null);
        }

        /** Clear text, for the last "may" retry after a failed handshake; {@code why} is the TLS failure. */
        public Plan clearText(String why) {
            return new Plan(false, false, testing, context, constraints, policy, domain, hopHost, anchors, false, why,
                    resolved, dane, floor, broadContext);
        }

        /**
         * The "may" retry after a handshake with Postern's strict suites failed ({@code why}): the same TLS with the
         * JDK's broader default set, from the JDK's TLS whatever {@code [delivery] tls_provider} says. Never for a level
         * that requires TLS (an enforced level is never weakened).
         */
        public Plan broadRetry(String why) {
            if (required) throw new IllegalStateException("no weaker retry under an enforced level");
            return new Plan(attempt, false, testing, broadContext, constraints, policy, domain, hopHost, anchors, true,
                    why, resolved, dane, floor, broadContext);
        }

        /**
         * The judgement of a session that stays in clear text because of {@code why} (no STARTTLS offered, STARTTLS
         * refused, a failed handshake) when the plan allowed that: in testing mode, a level that requires TLS would
         * have refused it, and that is recorded like any other would-fail.
         */
        public Verdict withoutTls(String why) {
            List<String> wouldFail = new ArrayList<>();
            if (testing && (policy.level().requiresTls() || dane != null)) {
                wouldFail.add(why);
                if (mxMismatch() != null) wouldFail.add(mxMismatch());
            }
            String down = downgrade(dev.postern.peers.Level.PLAIN, "no TLS (" + why + ")");
            if (down != null) wouldFail.add(down); // only a flagging floor lets a session stay in clear text
            return new Verdict(null, "no TLS: " + why, null, List.copyOf(wouldFail), null, false);
        }

        /** The checks of the policy's level against a finished handshake. */
        public Verdict judge(SSLSession session, Instant now) {
            if (dane != null) return judgeDane(session, now);
            TlsFacts facts = TlsFacts.ofClient(session);
            List<String> failures = new ArrayList<>();
            if (mxMismatch() != null) failures.add(mxMismatch());
            String v = constraints.violation(facts.protocol(), facts.cipher());
            if (v != null) failures.add(v);
            PeerCheck.Certificate cert = PeerCheck.inspect(session, anchors, now, PeerCheck.Purpose.SERVER);
            TlsLevel level = policy.level();
            String summary;
            String problem = null; // why the certificate is not verified, for the audit record
            boolean verified = false;
            String matched = null;
            if (cert == null) {
                problem = "no server certificate";
                summary = "unverified: " + problem;
                if (level.compareTo(TlsLevel.FINGERPRINT) >= 0) failures.add("the server sent no certificate");
            } else {
                String weakKey = weakKey(cert, policy);
                if (weakKey != null) failures.add(weakKey);
                List<String> patterns = namePatterns();
                matched = NameMatcher.firstMatch(cert.names(), cert.ipAddresses(), patterns);
                problem = !cert.trusted() ? cert.trustProblem() : matched == null ? "name mismatch" : null;
                summary = problem == null ? "verified for " + matched + " (issuer " + cert.issuer() + ")"
                        : "unverified: " + problem;
                // What "verified" means for this level: the pin under fingerprint, else chain and name (recorded
                // under may and encrypt too, where it decides nothing).
                verified = level == TlsLevel.FINGERPRINT ? PeerCheck.pinned(cert, policy.fingerprints())
                        : cert.trusted() && matched != null;
                switch (level) {
                    case FINGERPRINT -> {
                        if (!PeerCheck.pinned(cert, policy.fingerprints())) {
                            problem = "neither the certificate nor its public key is pinned";
                            failures.add("fingerprint mismatch: certificate sha256 " + cert.certSha256()
                                    + " and public key sha256 " + cert.keySha256() + " are not pinned");
                        } else {
                            summary = "verified by its pinned fingerprint";
                        }
                    }
                    case VERIFY, SECURE -> {
                        if (!cert.trusted()) failures.add(cert.trustProblem());
                        if (matched == null) {
                            failures.add("certificate name mismatch: " + presented(cert) + " does not match "
                                    + String.join(" or ", patterns)
                                    + (patterns.stream().anyMatch(NameMatcher::isIpLiteral)
                                            ? " (an IP address matches IP address SANs only)" : ""));
                        }
                    }
                    default -> { }
                }
            }
            boolean enforce = level.requiresTls() && !testing;
            // what an RFC 8460 report says of it: the policy's own failures (enforced or testing), not the floor's
            String result = failures.isEmpty() || !level.requiresTls() ? null : resultType(cert, matched, level);
            List<String> wouldFail = new ArrayList<>(testing && level.requiresTls() ? failures : List.of());
            if (!enforce) failures.clear();
            // The floor: an authenticated session is "verified" (a DANE one "dane"; see Verdict#dane)
            String down = downgrade(verified ? dev.postern.peers.Level.VERIFIED : dev.postern.peers.Level.ENCRYPTED,
                    verified ? "verified TLS (" + summary + ")" : "TLS, " + summary);
            if (down != null && floor.enforce()) failures.add(down);
            else if (down != null) wouldFail.add(down);
            String failure = failures.isEmpty() ? null : String.join("; ", failures);
            return new Verdict(failure, summary, verified ? summary : problem, List.copyOf(wouldFail), facts,
                    verified, false, result);
        }

        /**
         * RFC 8460 §4.3's result type of a session that failed a level's checks: the certificate's own problem when
         * the level checks chain and name (verify, secure; MTA-STS is verify), else the general
         * {@code validation-failure} (constraints, key strength, pins, an MX host outside the MTA-STS policy).
         */
        private static String resultType(PeerCheck.Certificate cert, String matched, TlsLevel level) {
            boolean pkix = level == TlsLevel.VERIFY || level == TlsLevel.SECURE;
            if (cert == null || !pkix) return Report.ResultType.VALIDATION_FAILURE;
            if (!cert.trusted()) {
                return cert.problem().kind() == PeerCheck.ProblemKind.EXPIRED ? Report.ResultType.CERTIFICATE_EXPIRED
                        : Report.ResultType.CERTIFICATE_NOT_TRUSTED;
            }
            return matched == null ? Report.ResultType.CERTIFICATE_HOST_MISMATCH : Report.ResultType.VALIDATION_FAILURE;
        }

        /**
         * RFC 7672 instead of PKIX: the TLSA records decide (names and dates only for DANE-TA); the policy's protocol
         * and suite constraints still hold. With no usable record the session is only required to be encrypted.
         */
        private Verdict judgeDane(SSLSession session, Instant now) {
            TlsFacts facts = TlsFacts.ofClient(session);
            List<String> failures = new ArrayList<>();
            String v = constraints.violation(facts.protocol(), facts.cipher());
            if (v != null) failures.add(v);
            DaneCheck.Verdict d = DaneCheck.check(dane.tlsa().records(), AuditFacts.peerChain(session),
                    dane.referenceNames(), now);
            if (d.outcome() == DaneCheck.Outcome.MISMATCH) failures.add("TLSA mismatch: " + d.reason());
            // RFC 8460 §4.3.2: no record of the RRset matched the chain is "tlsa-invalid"
            String result = failures.isEmpty() ? null : d.outcome() == DaneCheck.Outcome.MISMATCH
                    ? Report.ResultType.TLSA_INVALID : Report.ResultType.VALIDATION_FAILURE;
            String summary = d.authenticated() ? "DANE verified: " + d.reason() : "unverified: " + d.reason();
            List<String> wouldFail = new ArrayList<>(testing ? failures : List.of());
            if (!required) failures.clear();
            // The floor: a DANE-authenticated session is "dane", one with only unusable records "encrypted"
            String down = downgrade(d.authenticated() ? dev.postern.peers.Level.DANE
                    : dev.postern.peers.Level.ENCRYPTED, d.authenticated() ? "DANE-verified TLS" : "TLS, " + summary);
            if (down != null && floor.enforce()) failures.add(down);
            else if (down != null) wouldFail.add(down);
            String failure = failures.isEmpty() ? null : String.join("; ", failures);
            return new Verdict(failure, summary, d.reason(), List.copyOf(wouldFail), facts, d.authenticated(),
                    d.authenticated(), result);
        }

        /**
         * The names the certificate must match, as Postfix's defaults: the policy's match list, else for secure the
         * next-hop domain and its subdomains ("nexthop, dot-nexthop"), else (verify, and for recording under may) the
         * MX host name only ("hostname"), not the recipient domain. A host that is an IP literal (a static route to
         * [192.0.2.1]) matches IP address SANs only.
         */
        List<String> namePatterns() {
            if (!policy.match().isEmpty()) return policy.match();
            if (policy.level() == TlsLevel.SECURE) return List.of(domain, "." + domain);
            return List.of(hopHost);
        }
    }

    /**
     * RFC 8460 §4.3's result type of an outbound session, the one mapping from what the client saw: no TLS because
     * the server did not offer or refused STARTTLS ({@code starttls-not-supported}), a failed handshake
     * ({@code validation-failure}), a session that failed its policy's checks or in testing mode would have (the
     * verdict's, {@link Verdict#resultType}; a refusal by the downgrade floor alone is {@code validation-failure});
     * null for a session that met its policy.
     */
    public static String reportResult(dev.postern.audit.TlsSessionRecord.NoTls why, Verdict verdict) {
        if (why == null) return verdict == null ? null : verdict.resultType();
        return switch (why) {
            case NOT_OFFERED, REFUSED -> Report.ResultType.STARTTLS_NOT_SUPPORTED;
            case HANDSHAKE_FAILED -> Report.ResultType.VALIDATION_FAILURE;
            case POLICY_CHECK_FAILED -> verdict != null && verdict.resultType() != null ? verdict.resultType()
                    : Report.ResultType.VALIDATION_FAILURE;
            case NOT_ATTEMPTED -> null;
        };
    }

    /** RSA and DSA keys below this many bits fail the default floor of levels from encrypt up. */
    static final int DEFAULT_RSA_FLOOR = 2048;
    /** EC keys below this many bits fail the default floor (EdDSA keys pass: Ed25519 is as strong as P-256). */
    static final int DEFAULT_EC_FLOOR = 256;

    /**
     * Why the server's key is too weak for {@code policy}, or null: below {@code min_key_bits} (RSA-equivalent) when
     * it is set, else for levels that require TLS below the default floor (RSA 2048, EC 256 bits); 0 turns it off.
     */
    static String weakKey(PeerCheck.Certificate cert, Config.TlsPolicy policy) {
        String key = "server key " + cert.keyType() + " " + cert.keyBits() + " bits";
        if (policy.minKeyBits() > 0) {
            return cert.keyStrength() >= policy.minKeyBits() ? null : key + " (RSA-equivalent " + cert.keyStrength()
                    + ") is below min_key_bits " + policy.minKeyBits();
        }
        if (policy.minKeyBits() == 0 || !policy.level().requiresTls()) return null;
        String type = cert.keyType().toUpperCase(java.util.Locale.ROOT);
        boolean weak = switch (type) {
            case "RSA", "DSA", "RSASSA-PSS" -> cert.keyBits() < DEFAULT_RSA_FLOOR;
            case "EC" -> cert.keyBits() < DEFAULT_EC_FLOOR;
            default -> cert.keyStrength() < 3072;
        };
        return weak ? key + " is below the default floor of level " + policy.level().word() + " (RSA "
                + DEFAULT_RSA_FLOOR + ", EC " + DEFAULT_EC_FLOOR + " bits; min_key_bits changes it)" : null;
    }

    /** The identities a certificate presents, for a mismatch reason. */
    private static String presented(PeerCheck.Certificate cert) {
        List<String> all = new ArrayList<>(cert.names());
        for (String ip : cert.ipAddresses()) all.add("IP " + ip);
        return all.isEmpty() ? "(no names)" : String.join(", ", all);
    }

    /**
     * The judgement of a TLS session.
     *
     * @param failure   why delivery must not go on (enforced levels), or null
     * @param summary   for logs: "verified for NAME (issuer ...)", "verified by its pinned fingerprint" or
     *                  "unverified: PROBLEM"
     * @param reason    for the audit record's {@code verificationReason}: the summary when verified, else the problem
     *                  alone ("name mismatch"); null without TLS
     * @param wouldFail testing mode: the checks the enforced level would have failed
     * @param verified  the server's certificate passed the identity checks of the level: its pin under
     *                  fingerprint, else chain and name (whether or not the level requires them)
     * @param resultType RFC 8460 §4.3's result type when the session failed (or in testing mode would fail) what its
     *                  policy asks, else null
     */
    public record Verdict(String failure, String summary, String reason, List<String> wouldFail, TlsFacts facts,
                          boolean verified, boolean dane, String resultType) {

        public Verdict(String failure, String summary, String reason, List<String> wouldFail, TlsFacts facts,
                       boolean verified, boolean dane) {
            this(failure, summary, reason, wouldFail, facts, verified, dane, null);
        }

        /** A verdict of a session not authenticated by DANE (every verdict until DANE judges sessions). */
        public Verdict(String failure, String summary, String reason, List<String> wouldFail, TlsFacts facts,
                       boolean verified) {
            this(failure, summary, reason, wouldFail, facts, verified, false);
        }

        /**
         * The level this TLS session showed, for the downgrade memory: dane when DANE authenticated the server
         * (DANE's judgement sets {@code dane}: the seam for RFC 7672 sessions), verified when its certificate passed
         * the level's identity checks, else encrypted.
         */
        public dev.postern.peers.Level achieved() {
            return dane ? dev.postern.peers.Level.DANE : verified ? dev.postern.peers.Level.VERIFIED
                    : dev.postern.peers.Level.ENCRYPTED;
        }
    }

    /**
     * The downgrade memory's floor for one destination: it was seen at {@code level} since {@code since}. Under
     * {@code enforce} (refuse) a session below it is refused before MAIL; otherwise (flag) it is recorded as a
     * would-fail and the message goes.
     */
    public record Floor(String domain, dev.postern.peers.Level level, Instant since, boolean enforce) {

        /** The policy level that asks what the floor asks: encrypt, verify, or dane-only. */
        public TlsLevel policyLevel() {
            return switch (level) {
                case PLAIN -> TlsLevel.MAY;
                case ENCRYPTED -> TlsLevel.ENCRYPT;
                case VERIFIED -> TlsLevel.VERIFY;
                case DANE -> TlsLevel.DANE_ONLY;
            };
        }

        /** "peer memory: D seen at L since T". */
        public String describe() {
            return "peer memory: " + domain + " seen at " + level.word() + " since "
                    + dev.postern.peers.Seen.time(since);
        }

        /** "downgrade: D was seen at L since T, this session offered W". */
        public String downgrade(String offered) {
            return dev.postern.peers.Downgrade.text(domain, level, since) + ", this session offered " + offered;
        }

        /** The ways out, for the deferral reason and the alert: a partner may have changed for good. */
        public String waysOut() {
            return "if " + domain + " changed for good, run \"postern domains forget " + domain
                    + " --direction out\" or relax it for a while with \"postern policy override " + domain
                    + " --level LEVEL --until TIME --reason TEXT\"";
        }

        /**
         * The floor as it applies under {@code policy}, or null when it asks nothing more: a plain floor, a policy of
         * level none (the administrator said never STARTTLS), or an enforced policy that already guarantees the level.
         */
        Floor over(Config.TlsPolicy policy) {
            if (level == dev.postern.peers.Level.PLAIN || policy.level() == TlsLevel.NONE) return null;
            boolean enforced = policy.mode() == Config.PolicyMode.ENFORCE;
            dev.postern.peers.Level guaranteed = !enforced ? dev.postern.peers.Level.PLAIN
                    : switch (policy.level()) {
                        case ENCRYPT -> dev.postern.peers.Level.ENCRYPTED;
                        case FINGERPRINT, VERIFY, SECURE -> dev.postern.peers.Level.VERIFIED;
                        case DANE_ONLY -> dev.postern.peers.Level.DANE;
                        default -> dev.postern.peers.Level.PLAIN;
                    };
            return level.above(guaranteed) ? this : null;
        }
    }

    private final TrustAnchorCache anchors = new TrustAnchorCache();
    private final Map<Path, SSLContext> clientContexts = new ConcurrentHashMap<>();
    /** The TLS implementation of every client context (null: the JDK's), from {@code [delivery] tls_provider}. */
    private final Provider provider;
    private final SSLContext opportunistic;
    /** The JDK's contexts for the broad retry when {@code provider} is not the JDK's (else unused). */
    private final Map<Path, SSLContext> jdkClientContexts = new ConcurrentHashMap<>();
    private final SSLContext jdkOpportunistic;

    /** A planner whose sessions use the JDK's TLS. */
    public TlsPlanner() {
        this(null);
    }

    /**
     * A planner whose client contexts come from {@code provider} (null: the JDK's JSSE), for example
     * {@link dev.postern.tls.TlsProviders#conscrypt()}: used by these contexts only, never installed JVM-wide.
     */
    public TlsPlanner(Provider provider) {
        this.provider = provider;
        this.opportunistic = TlsContexts.opportunisticClient(provider);
        this.jdkOpportunistic = provider == null ? opportunistic : TlsContexts.opportunisticClient(null);
    }

    /**
     * The policy DANE stands on for {@code resolved}: its own, or under an MTA-STS policy the one MTA-STS stands in
     * front of (RFC 8461 §2: where the default is dane, a host with DNSSEC-secure TLSA records gets DANE, not
     * MTA-STS).
     */
    public static Config.TlsPolicy daneBase(TlsPolicies.Resolved resolved) {
        return resolved.kind() == TlsPolicies.SourceKind.MTA_STS && resolved.beneath() != null ? resolved.beneath()
                : resolved.policy();
    }

    /**
     * Whether {@code resolved}'s level asks for the TLSA records of each host ({@code dane}, {@code dane-only}).
     * A message with {@code TLS-Required: No} sets DANE aside under {@code dane} (RFC 8689 §3: a recipient-side
     * policy), never under {@code dane-only}, which the administrator chose.
     */
    public static boolean usesDane(TlsPolicies.Resolved resolved, boolean tlsRequiredNo) {
        TlsLevel level = daneBase(resolved).level();
        return level == TlsLevel.DANE_ONLY
                || level == TlsLevel.DANE && !TlsPolicies.setAside(TlsPolicies.SourceKind.DANE, tlsRequiredNo);
    }

    /**
     * Under a DANE level, what {@code hop}'s TLSA lookup found ({@link TlsaLookup#find}); null under the others,
     * which never look. {@code mxSecurity} is the route's ({@link Router.Result.Hops#security}), {@code found} the
     * host's addresses.
     */
    public static TlsaLookup.Found tlsa(TlsPolicies.Resolved resolved, boolean tlsRequiredNo, DnsResolver dns,
                                        NextHop hop, Security mxSecurity, Addresses found) {
        return usesDane(resolved, tlsRequiredNo) ? TlsaLookup.find(dns, hop.host(), mxSecurity, found, hop.port())
                : null;
    }

    /**
     * Why a host must not be used under {@code resolved} given what its TLSA lookup {@code found} (null: not looked
     * up), or null when it may: a failed (bogus, temporary) lookup under either DANE level, and under
     * {@code dane-only} the absence of DNSSEC-secure records.
     */
    public static String daneRefusal(TlsPolicies.Resolved resolved, TlsaLookup.Found found) {
        if (found instanceof TlsaLookup.Found.Failed f) return f.why();
        if (found instanceof TlsaLookup.Found.Absent a && daneBase(resolved).level() == TlsLevel.DANE_ONLY) {
            return "no DNSSEC-secure TLSA records (level dane-only): " + a.why();
        }
        return null;
    }

    /** The plan for delivering to {@code hopHost} for {@code domain} under {@code resolved}, without DANE or a floor. */
    public Plan plan(TlsPolicies.Resolved resolved, String hopHost) throws TlsConfigException {
        return plan(resolved, hopHost, null, null);
    }

    /**
     * The plan for one host: under a DANE level, given its TLSA lookup {@code found} (null: not looked up),
     * DNSSEC-secure records make it a DANE plan (TLS required, judged by {@link DaneCheck}, policy source "dane");
     * otherwise {@code resolved} as it is, where level {@code dane} means {@code may}. This is the seam of the
     * domain's other policies: MTA-STS, when it sets {@code resolved}, is what a host without DANE falls back to
     * (RFC 8461 §2: DANE wins where it applies). {@code floor} is the downgrade memory's (null: none); it never
     * weakens the policy, it only adds a requirement the policy does not make.
     * <p>A message with {@code TLS-Required: No} (RFC 8689 §3) reaches here with its recipient-side requirements
     * already set aside by the caller ({@link TlsPolicies#setAside}): MTA-STS in {@link TlsPolicies#resolve(String,
     * Instant, boolean)}, DANE under level {@code dane} in {@link #usesDane}, the floor in the scheduler.
     */
    public Plan plan(TlsPolicies.Resolved resolved, String hopHost, TlsaLookup.Found found, Floor floor)
            throws TlsConfigException {
        if (!(found instanceof TlsaLookup.Found.Secure secure)) {
            if (found == null) return basePlan(resolved, hopHost, floor);
            return basePlan(new TlsPolicies.Resolved(resolved.domain(), resolved.policy(), resolved.source()
                    + "; DANE not applied: " + found.why(), resolved.override(), resolved.kind(), resolved.mtaSts(),
                    resolved.beneath()), hopHost, floor);
        }
        Config.TlsPolicy base = daneBase(resolved);
        String from = resolved.kind() == TlsPolicies.SourceKind.MTA_STS ? "default, over " + resolved.source()
                : resolved.source();
        Plan p = basePlan(new TlsPolicies.Resolved(resolved.domain(), base, secure.why() + ", level "
                + base.level().word() + " from " + from, resolved.override(), TlsPolicies.SourceKind.DANE), hopHost,
                floor);
        // A DANE plan with usable records authenticates the host as strongly as anything the memory can ask: no floor
        boolean authenticates = !p.testing() && !DaneCheck.usable(secure.tlsa().records()).isEmpty();
        Floor kept = authenticates ? null : p.floor();
        return new Plan(true, !p.testing() || kept != null && kept.enforce(), p.testing(), p.context(),
                p.constraints(), p.policy(), p.domain(), hopHost, p.anchors(), false, null, p.resolved(), secure, kept,
                p.broadContext());
    }

    private Plan basePlan(TlsPolicies.Resolved resolved, String hopHost, Floor floor) throws TlsConfigException {
        Config.TlsPolicy p = resolved.policy();
        Floor binding = floor == null ? null : floor.over(p);
        boolean testing = p.mode() == Config.PolicyMode.TESTING;
        boolean attempt = p.level() != TlsLevel.NONE;
        boolean required = p.level().requiresTls() && !testing || binding != null && binding.enforce();
        // Under testing, offer what "may" offers so delivery is not blocked; the constraints are judged afterwards.
        Constraints constraints = new Constraints(p.minProtocol(), p.ciphers(), p.minCipherBits());
        SSLContext context = p.clientCertificate() == null ? opportunistic : clientContext(p, clientContexts, provider);
        SSLContext broadContext = provider == null ? context : p.clientCertificate() == null ? jdkOpportunistic
                : clientContext(p, jdkClientContexts, null);
        // MTA-STS: the MX certificate is PKIX-valid against public or the configured private roots (RFC 8461 §4.2)
        Set<TrustAnchor> trusted = resolved.kind() == TlsPolicies.SourceKind.MTA_STS ? anchors.withSystem(p.caFile())
                : anchors.get(p.caFile());
        return new Plan(attempt, required, testing, context, constraints, p, resolved.domain(), hopHost, trusted,
                false, null, resolved, null, binding, broadContext);
    }

    /**
     * Widens a client socket not yet handshaken to every protocol from TLS 1.2 up and every suite its provider enables
     * by default (CBC and non-forward-secret suites it still allows), for {@link Plan#broadRetry}, whose context is
     * always the JDK's. The JDK's own bans (jdk.tls.disabledAlgorithms: TLS 1.0/1.1, RSA key transport, RC4, 3DES...)
     * still hold.
     */
    static void broaden(SSLSocket socket, SSLContext context) {
        SSLParameters p = socket.getSSLParameters();
        List<String> supported = List.of(socket.getSupportedProtocols());
        p.setProtocols(java.util.Arrays.stream(TlsContexts.PROTOCOLS).filter(supported::contains)
                .toArray(String[]::new));
        p.setCipherSuites(context.getDefaultSSLParameters().getCipherSuites());
        socket.setSSLParameters(p);
    }

    private static SSLContext clientContext(Config.TlsPolicy p, Map<Path, SSLContext> contexts, Provider provider)
            throws TlsConfigException {
        SSLContext known = contexts.get(p.clientCertificate());
        if (known != null) return known;
        KeyMaterial material = Pem.load(p.clientCertificate(), p.clientKey());
        SSLContext made = TlsContexts.client(material, provider);
        contexts.put(p.clientCertificate(), made);
        return made;
    }
}
