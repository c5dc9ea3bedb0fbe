package dev.postern.inbound;

import dev.postern.config.Config;
import dev.postern.smtp.Mailbox;
import dev.postern.smtp.Path;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * Decides whether a recipient is accepted: local and relay domains from anyone, other domains only through a
 * submission listener from a relay network. Never relays source routes, %-hacks, bang paths or quoted '@'.
 */
record RelayPolicy(Set<String> localDomains, Set<String> relayDomains, List<Config.Network> relayNetworks) {

    /** What to do with one recipient. */
    enum Verdict { LOCAL, RELAY, DENIED, ROUTING_TRICK }

    static RelayPolicy of(Config config) {
        return new RelayPolicy(config.localDomains(), config.relayDomains(), config.relayNetworks());
    }

    /** @param relayClient the client proved a relay-authorised certificate (submission listeners only) */
    Verdict judge(Path recipient, Config.Role role, InetAddress client, boolean relayClient) {
        Mailbox box = recipient.mailbox();
        String domain = box.domainKey();
        String local = box.localPart();
        if (isLocal(domain)) {
            // A local domain never forwards, but "user%other@local", "other!user@local" and "\"user@other\"@local"
            // are old relay tricks (and the next hop of a later forward may honour them): refuse them as relay
            // domains do. A quoted local part without them ("john doe"@local) is a mailbox like any other.
            boolean tricks = local.indexOf('%') >= 0 || local.indexOf('!') >= 0 || local.indexOf('@') >= 0;
            return tricks || recipient.sourceRoute() ? Verdict.ROUTING_TRICK : Verdict.LOCAL;
        }
        boolean mayRelay = relayDomains.contains(domain)
                || (role != Config.Role.MX && (relayClient || inRelayNetworks(client)));
        if (!mayRelay) return Verdict.DENIED;
        return box.hasRoutingTricks() || recipient.sourceRoute() ? Verdict.ROUTING_TRICK : Verdict.RELAY;
    }

    /** @param domain a name in lookup form ({@link Mailbox#domainKey()}), as the configured domains are */
    boolean isLocal(String domain) {
        return localDomains.contains(domain);
    }

    private boolean inRelayNetworks(InetAddress client) {
        for (Config.Network n : relayNetworks) if (n.contains(client)) return true;
        return false;
    }
}
