package dev.postern.outbound;

import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Addresses;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.recipients.Verdict;
import dev.postern.recipients.Verifier;
import dev.postern.tls.TlsConfigException;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks a relay domain's next hop whether an address exists, the way mail to it would go: the same routing (static
 * route, else MX), the same outbound TLS policy (an enforced level is enforced for the probe too; under {@code may} a
 * failed handshake is retried with the broad suite set, then in clear text, as delivery does), then {@code MAIL FROM:<>}, {@code RCPT TO}, RSET,
 * QUIT. The first host that completes the exchange decides; a host that fails is skipped like in delivery. The whole
 * probe is bounded by {@code timeout}: past it the answer is {@link Verdict.Unverified} and the probe is interrupted.
 */
public final class RecipientProbe implements Verifier {
    private static final Logger log = LoggerFactory.getLogger(RecipientProbe.class);

    private final Router router;
    private final DnsResolver dns;
    private final TlsPolicies policies;
    private final TlsPlanner planner;
    private final SmtpClient client;
    private final Duration timeout;
    private final PeerFloors floors;

    public RecipientProbe(Router router, DnsResolver dns, TlsPolicies policies, String heloName, Duration timeout) {
        this(router, dns, policies, heloName, timeout, dev.postern.audit.Audit.NONE);
    }

    /**
     * @param audit receives the TLS session record of each probe's connection: probes are real sessions with the
     *              next hop, and what TLS they had belongs in the TLS report as much as a delivery's
     */
    public RecipientProbe(Router router, DnsResolver dns, TlsPolicies policies, String heloName, Duration timeout,
                          dev.postern.audit.Audit audit) {
        this(router, dns, policies, heloName, timeout, audit, PeerFloors.NONE);
    }

    /** @param floors the downgrade memory: a probe is held to its floor as delivery is (it never teaches it) */
    public RecipientProbe(Router router, DnsResolver dns, TlsPolicies policies, String heloName, Duration timeout,
                          dev.postern.audit.Audit audit, PeerFloors floors) {
        this(router, dns, policies, heloName, timeout, audit, floors, new TlsPlanner());
    }

    /** @param planner the TLS plans of the probes (the gateway shares the delivery's: one provider, one cache) */
    public RecipientProbe(Router router, DnsResolver dns, TlsPolicies policies, String heloName, Duration timeout,
                          dev.postern.audit.Audit audit, PeerFloors floors, TlsPlanner planner) {
        this.planner = planner;
        this.floors = floors;
        this.router = router;
        this.dns = dns;
        this.policies = policies;
        this.timeout = timeout;
        this.client = new SmtpClient(heloName, timeout, timeout, timeout, audit);
    }

    @Override public Verdict verify(String address, String domain) {
        CompletableFuture<Verdict> result = new CompletableFuture<>();
        Thread probe = Thread.ofVirtual().name("verify-" + domain).start(() -> {
            try {
                result.complete(probe(address, domain));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        Verdict v;
        try {
            v = result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            probe.interrupt(); // closes a socket the probe is blocked on
            v = new Verdict.Unverified("no answer from the next hop of " + domain + " within " + timeout);
        } catch (InterruptedException e) {
            probe.interrupt();
            Thread.currentThread().interrupt();
            v = new Verdict.Unverified("interrupted");
        } catch (ExecutionException e) {
            log.atError().setCause(e.getCause()).addKeyValue("to", "<" + address + ">")
                    .log("recipient verification failed");
            v = new Verdict.Unverified("verification failed: " + e.getCause());
        }
        log.atInfo().addKeyValue("to", "<" + address + ">").addKeyValue("result", v)
                .log("recipient verification");
        return v;
    }

    private Verdict probe(String address, String domain) {
        boolean smtputf8 = !address.chars().allMatch(c -> c < 128);
        return switch (router.route(domain)) {
            case Router.Result.Undeliverable u -> new Verdict.Refused(u.status() + " " + u.reason());
            case Router.Result.Later l -> new Verdict.Unverified(l.reason());
            case Router.Result.Hops h -> tryHops(address, domain, h, smtputf8);
        };
    }

    private Verdict tryHops(String address, String domain, Router.Result.Hops route, boolean smtputf8) {
        TlsPolicies.Resolved policy = policies.resolve(domain, Instant.now());
        String last = "no next hop";
        for (NextHop hop : route.hops()) {
            Addresses found;
            try {
                found = dns.resolve(hop.host());
            } catch (DnsException e) {
                last = "DNS lookup of " + hop.host() + " failed: " + e.getMessage();
                continue;
            }
            List<InetAddress> addresses = found.addresses();
            // the probe is held to DANE as delivery is
            TlsaLookup.Found tlsa = TlsPlanner.tlsa(policy, false, dns, hop, route.security(), found);
            String refused = TlsPlanner.daneRefusal(policy, tlsa);
            if (refused != null) {
                last = "TLS required by policy for " + domain + ": " + hop.host() + ": " + refused;
                continue;
            }
            TlsPlanner.Plan plan;
            try {
                // held to the downgrade memory's floor too: a stripped STARTTLS must not make it ask in clear text
                plan = planner.plan(policy, hop.host(), tlsa, floors.floor(policy));
            } catch (TlsConfigException e) {
                return new Verdict.Unverified("TLS policy for " + domain + " cannot be applied: " + e.getMessage());
            }
            for (InetAddress ip : addresses) {
                if (Thread.currentThread().isInterrupted()) return new Verdict.Unverified("timed out");
                SmtpClient.Attempt a = client.probe(hop, ip, address, smtputf8, plan);
                if (a.outcome() == SmtpClient.Outcome.TLS_FAILED && !plan.required()) {
                    // As delivery does under an opportunistic level: the broad suite set, then clear text.
                    a = client.probe(hop, ip, address, smtputf8, plan.broadRetry(a.detail()));
                    if (a.outcome() == SmtpClient.Outcome.TLS_FAILED) {
                        a = client.probe(hop, ip, address, smtputf8, plan.clearText(a.detail()));
                    }
                }
                if (a.outcome() != SmtpClient.Outcome.COMPLETED) {
                    last = a.outcome() == SmtpClient.Outcome.TLS_FAILED
                            ? "TLS required by policy for " + domain + ": " + a.detail() : a.detail();
                    continue;
                }
                SmtpClient.RecipientResult r = a.recipients().get(address);
                if (r == null) return new Verdict.Unverified(a.detail()); // no answer about the address: cannot tell
                return switch (r.status()) {
                    case DELIVERED -> Verdict.ACCEPTED;
                    case FAILED -> new Verdict.Refused(r.reply());
                    case DEFERRED -> new Verdict.Unverified(r.reply());
                };
            }
        }
        return new Verdict.Unverified(last);
    }
}
