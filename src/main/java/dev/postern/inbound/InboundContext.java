package dev.postern.inbound;

import dev.postern.audit.Audit;
import dev.postern.config.Config;
import dev.postern.dns.ReverseNames;
import dev.postern.queue.Envelope;
import dev.postern.queue.Spool;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;

/** What a session needs from the gateway, for one listener. */
record InboundContext(Config config, Config.Listener listener, SSLContext tls, Spool spool, RelayPolicy relay,
                      InboundPolicy policy, Authentication auth, Consumer<Envelope> onQueued,
                      RecipientPolicy recipients, Audit audit, ReverseNames reverseNames, SenderMemory senders) {

    Config.Role role() { return listener.role(); }

    /** The domain "<Postmaster>" without a domain resolves to: the first local domain, sorted, else the host name. */
    String postmasterDomain() {
        return config.localDomains().stream().sorted().findFirst().orElse(config.hostname());
    }
}
