package dev.postern.outbound;

import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.tls.Constraints;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.NameMatcher;
import dev.postern.tls.Pem;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsContexts;
import dev.postern.tls.TlsFacts;
import dev.postern.tls.TrustAnchorCache;
import java.nio.file.Path;
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
     * @param floor    the downgrade memory's floor when it asks more than the policy does (null: it adds nothing);
     *                 under refuse it makes TLS {@code required}, and {@link #judge} fails a session below it
     */
    public record Plan(boolean attempt, boolean required, boolean testing, SSLContext context,
                       Constraints constraints, Config.TlsPolicy policy, String domain, String hopHost,
                       Set<TrustAnchor> anchors, boolean broad, String fallback, TlsPolicies.Resolved resolved,
                       Floor floor) {

        /** The policy by itself requires TLS (an enforced level from encrypt up), whatever the floor says. */
        boolean policyRequired() {
            return policy.level().requiresTls() && !testing;
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
         * opportunistic levels and testing mode never do. DANE and MTA-STS policies join this check when they exist.
         */
        public String requireTlsRefusal() {
            // The downgrade memory's floor is no policy of the domain's: it never qualifies a hop by itself.
            TlsLevel level = policy.level();
            boolean verifies = level == TlsLevel.VERIFY || level == TlsLevel.SECURE || level == TlsLevel.FINGERPRINT;
            if (verifies && required) return null;
            return "the TLS policy for " + domain + " is " + level.word() + (testing ? " in testing mode" : "")
                    + ", which does not verify the next hop";
        }

        /** Clear text, for the last "may" retry after a failed handshake; {@code why} is the TLS failure. */
        public Plan clearText(String why) {
            return new Plan(false, false, testing, context, constraints, policy, domain, hopHost, anchors, false, why,
                    resolved, floor);
        }

        /**
         * The "may" retry after a handshake with Postern's strict suites failed ({@code why}): the same TLS with the
         * JDK's broader default set. Never for a level that requires TLS (an enforced level is never weakened).
         */
        public Plan broadRetry(String why) {
            if (required) throw new IllegalStateException("no weaker retry under an enforced level");
            return new Plan(attempt, false, testing, context, constraints, policy, domain, hopHost, anchors, true, why,
                    resolved, floor);
        }

        /**
         * The judgement of a session that stays in clear text because of {@code why} (no STARTTLS offered, STARTTLS
         * refused, a failed handshake) when the plan allowed that: in testing mode, a level that requires TLS would
         * have refused it, and that is recorded like any other would-fail.
         */
        public Verdict withoutTls(String why) {
            List<String> wouldFail = new ArrayList<>();
            if (testing && policy.level().requiresTls()) wouldFail.add(why);
            String down = downgrade(dev.postern.peers.Level.PLAIN, "no TLS (" + why + ")");
            if (down != null) wouldFail.add(down); // only a flagging floor lets a session stay in clear text
            return new Verdict(null, "no TLS: " + why, null, List.copyOf(wouldFail), null, false);
        }

        /** The checks of the policy's level against a finished handshake. */
        public Verdict judge(SSLSession session, Instant now) {
            TlsFacts facts = TlsFacts.ofClient(session);
            List<String> failures = new ArrayList<>();
            String v = constraints.violation(facts.protocol(), facts.cipher());
            if (v != null) failures.add(v);
            PeerCheck.Certificate cert = PeerCheck.inspect(session, anchors, now, PeerCheck.Purpose.SERVER);
            TlsLevel level = policy.level();
            String summary;
            String problem = null; // why the certificate is not verified, for the audit record
            boolean verified = false;
            if (cert == null) {
                problem = "no server certificate";
                summary = "unverified: " + problem;
                if (level.compareTo(TlsLevel.FINGERPRINT) >= 0) failures.add("the server sent no certificate");
            } else {
                String weakKey = weakKey(cert, policy);
                if (weakKey != null) failures.add(weakKey);
                List<String> patterns = namePatterns();
                String matched = NameMatcher.firstMatch(cert.names(), cert.ipAddresses(), patterns);
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
            List<String> wouldFail = new ArrayList<>(testing && level.requiresTls() ? failures : List.of());
            if (!enforce) failures.clear();
            // The floor: an authenticated session is "verified" (a DANE one "dane"; see Verdict#dane)
            String down = downgrade(verified ? dev.postern.peers.Level.VERIFIED : dev.postern.peers.Level.ENCRYPTED,
                    verified ? "verified TLS (" + summary + ")" : "TLS, " + summary);
            if (down != null && floor.enforce()) failures.add(down);
            else if (down != null) wouldFail.add(down);
            String failure = failures.isEmpty() ? null : String.join("; ", failures);
            return new Verdict(failure, summary, verified ? summary : problem, List.copyOf(wouldFail), facts,
                    verified);
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
     */
    public record Verdict(String failure, String summary, String reason, List<String> wouldFail, TlsFacts facts,
                          boolean verified, boolean dane) {

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
            return "downgrade: " + domain + " was seen at " + level.word() + " since "
                    + dev.postern.peers.Seen.time(since)
                    + ", this session offered " + offered;
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
    private final SSLContext opportunistic = TlsContexts.opportunisticClient();

    /** The plan for delivering to {@code hopHost} for {@code domain} under {@code resolved}, without a floor. */
    public Plan plan(TlsPolicies.Resolved resolved, String hopHost) throws TlsConfigException {
        return plan(resolved, hopHost, null);
    }

    /**
     * The plan for delivering to {@code hopHost} under {@code resolved} and the downgrade memory's {@code floor}
     * (null: none). The floor never weakens the policy: it only adds a requirement the policy does not make.
     */
    public Plan plan(TlsPolicies.Resolved resolved, String hopHost, Floor floor) throws TlsConfigException {
        Config.TlsPolicy p = resolved.policy();
        Floor binding = floor == null ? null : floor.over(p);
        boolean testing = p.mode() == Config.PolicyMode.TESTING;
        boolean attempt = p.level() != TlsLevel.NONE;
        boolean required = p.level().requiresTls() && !testing || binding != null && binding.enforce();
        // Under testing, offer what "may" offers so delivery is not blocked; the constraints are judged afterwards.
        Constraints constraints = new Constraints(p.minProtocol(), p.ciphers(), p.minCipherBits());
        SSLContext context = p.clientCertificate() == null ? opportunistic : clientContext(p);
        return new Plan(attempt, required, testing, context, constraints, p, resolved.domain(), hopHost,
                anchors.get(p.caFile()), false, null, resolved, binding);
    }

    /**
     * Widens a client socket not yet handshaken to every protocol from TLS 1.2 up and every suite the JDK enables by
     * default (CBC and non-forward-secret suites the JDK still allows), for {@link Plan#broadRetry}. The JDK's own
     * bans (jdk.tls.disabledAlgorithms: TLS 1.0/1.1, RSA key transport, RC4, 3DES...) still hold.
     */
    static void broaden(SSLSocket socket, SSLContext context) {
        SSLParameters p = socket.getSSLParameters();
        List<String> supported = List.of(socket.getSupportedProtocols());
        p.setProtocols(java.util.Arrays.stream(TlsContexts.PROTOCOLS).filter(supported::contains)
                .toArray(String[]::new));
        p.setCipherSuites(context.getDefaultSSLParameters().getCipherSuites());
        socket.setSSLParameters(p);
    }

    private SSLContext clientContext(Config.TlsPolicy p) throws TlsConfigException {
        SSLContext known = clientContexts.get(p.clientCertificate());
        if (known != null) return known;
        KeyMaterial material = Pem.load(p.clientCertificate(), p.clientKey());
        SSLContext made = TlsContexts.client(material);
        clientContexts.put(p.clientCertificate(), made);
        return made;
    }
}
