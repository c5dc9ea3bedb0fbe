package dev.postern.inbound;

import dev.postern.config.Config;
import dev.postern.smtp.Reply;
import dev.postern.tls.Constraints;
import dev.postern.tls.NameMatcher;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsFacts;
import dev.postern.tls.TrustAnchorCache;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * Inbound TLS policy beyond the listener: which partners must arrive over TLS, with which client certificate and how
 * strong, and which client certificates may relay without a password. Trust anchors are loaded once per file.
 */
final class InboundPolicy {

    /** What a client proved with its certificate, judged against one set of trust anchors. */
    record ClientCertificate(List<X509Certificate> chain, PeerCheck.Certificate facts) {
        String cn() {
            String subject = facts.subject();
            for (String part : subject.split(",")) {
                if (part.strip().toUpperCase(Locale.ROOT).startsWith("CN=")) return part.strip().substring(3);
            }
            return subject;
        }
    }

    private final Config.Inbound config;
    private final TrustAnchorCache anchors = new TrustAnchorCache();

    InboundPolicy(Config.Inbound config) {
        this.config = config;
    }

    /** Whether a listener must ask clients for certificates during the handshake. */
    boolean asksForCertificates(Config.Listener listener) {
        if (listener.tls().clientCertificate() != Config.ClientCertificates.NONE) return true;
        if (listener.role() != Config.Role.MX && !config.relayClients().isEmpty()) return true;
        return config.partners().stream().anyMatch(p -> p.requireClientCertificate() || !p.clientNames().isEmpty());
    }

    static Constraints constraints(Config.ListenerTls t) {
        return new Constraints(t.minProtocol(), t.ciphers(), t.minCipherBits());
    }

    /** The client's certificate judged against {@code caFile} (null: system store); null when it sent none. */
    ClientCertificate judge(List<X509Certificate> chain, Path caFile, Instant now) throws TlsConfigException {
        if (chain.isEmpty()) return null;
        return new ClientCertificate(chain, PeerCheck.inspect(chain, anchors.get(caFile), now,
                PeerCheck.Purpose.CLIENT));
    }

    /** The relay rule that this certificate satisfies, as a short description for logs, or null. */
    String relayClient(List<X509Certificate> chain, Instant now) throws TlsConfigException {
        if (chain.isEmpty()) return null;
        for (Config.RelayClient rule : config.relayClients()) {
            // A pin names the very certificate; a CA rule needs one issued for TLS clients (clientAuth).
            PeerCheck.Certificate c = PeerCheck.inspect(chain, anchors.get(rule.caFile()), now,
                    PeerCheck.Purpose.CLIENT);
            if (!rule.fingerprints().isEmpty() && PeerCheck.pinned(c, rule.fingerprints())) {
                return "pinned certificate " + c.certSha256().substring(0, 16);
            }
            if (rule.caFile() != null && c.trusted()) {
                String name = NameMatcher.firstMatch(c.names(), rule.names());
                if (name != null) return "certificate " + name;
            }
        }
        return null;
    }

    /**
     * The client certificate as the Received header records it: the judgement against the listener's client CA when
     * that verifies it; otherwise, when a rule that accepted this session verified it against its own CA (the
     * {@code relay_clients} rule that authorised relaying, or the partner rule the session belongs to), that
     * judgement, so the header does not say "not verified" about a certificate Postern did verify and rely on.
     *
     * @param listenerJudgement the certificate judged against the listener's client CA, or null when none was sent
     * @param relayAuthorised   the certificate satisfied a relay_clients rule (submission listeners)
     */
    ClientCertificate forReceivedHeader(ClientCertificate listenerJudgement, boolean relayAuthorised,
                                        String senderDomain, InetAddress client, Instant now)
            throws TlsConfigException {
        if (listenerJudgement == null || listenerJudgement.facts().trusted()) return listenerJudgement;
        List<X509Certificate> chain = listenerJudgement.chain();
        if (relayAuthorised) {
            for (Config.RelayClient rule : config.relayClients()) {
                if (rule.caFile() == null) continue;
                ClientCertificate c = judge(chain, rule.caFile(), now);
                if (c.facts().trusted() && NameMatcher.firstMatch(c.facts().names(), rule.names()) != null) return c;
            }
        }
        for (Config.Partner p : config.partners()) {
            if (p.caFile() == null || !belongs(p, senderDomain, client, listenerJudgement)) continue;
            ClientCertificate c = judge(chain, p.caFile(), now);
            if (c.facts().trusted() && (p.clientNames().isEmpty()
                    || NameMatcher.firstMatch(c.facts().names(), p.clientNames()) != null)) {
                return c;
            }
        }
        return listenerJudgement;
    }

    /**
     * The refusal for a MAIL FROM when the session belongs to a partner whose policy it does not meet, or null.
     *
     * @param cert the client's certificate as judged against the listener's client CA, or null
     */
    Reply checkPartner(String senderDomain, InetAddress client, TlsFacts tls, List<X509Certificate> chain,
                       ClientCertificate cert, Instant now) throws TlsConfigException {
        for (Config.Partner p : config.partners()) {
            if (!belongs(p, senderDomain, client, cert)) continue;
            if (tls == null) {
                return p.requireTls() || p.requireClientCertificate()
                        ? Reply.of(530, "5.7.0", "TLS required for " + p.name()) : null;
            }
            String weak = new Constraints(p.minProtocol(), List.of(), p.minCipherBits())
                    .violation(tls.protocol(), tls.cipher());
            if (weak != null) return Reply.of(530, "5.7.0", "TLS too weak for " + p.name() + ": " + weak);
            if (p.requireClientCertificate()) {
                ClientCertificate own = p.caFile() == null ? cert : judge(chain, p.caFile(), now);
                if (own == null) return Reply.of(550, "5.7.1", "client certificate required for " + p.name());
                if (!own.facts().trusted()) {
                    return Reply.of(550, "5.7.1", "client certificate required for " + p.name() + ": "
                            + own.facts().trustProblem());
                }
                if (!p.clientNames().isEmpty() && NameMatcher.firstMatch(own.facts().names(), p.clientNames()) == null) {
                    return Reply.of(550, "5.7.1", "client certificate required for " + p.name() + ": "
                            + String.join(", ", own.facts().names()) + " does not match "
                            + String.join(" or ", p.clientNames()));
                }
            }
        }
        return null;
    }

    private static boolean belongs(Config.Partner p, String senderDomain, InetAddress client, ClientCertificate cert) {
        if (senderDomain != null) {
            for (String d : p.senderDomains()) if (d.equals(senderDomain)) return true; // both in lookup form
        }
        for (Config.Network n : p.networks()) if (n.contains(client)) return true;
        return cert != null && cert.facts().trusted() && !p.clientNames().isEmpty()
                && NameMatcher.firstMatch(cert.facts().names(), p.clientNames()) != null;
    }
}
