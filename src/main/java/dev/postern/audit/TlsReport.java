package dev.postern.audit;

import dev.postern.audit.TlsSessionRecord.Direction;
import java.time.Instant;
import java.util.List;

/**
 * What {@code postern report tls} shows: how much of the traffic since a time went in clear text, encrypted without a
 * verified certificate, or verified; each figure is defined in docs/audit.md ("report tls").
 *
 * @param since      records at or after this time are counted
 * @param until      when the report was made
 * @param domain     only this domain's traffic (outbound: recipient domain; inbound: sender domain), null for all
 * @param directions one part per direction asked for, in before out
 */
public record TlsReport(Instant since, Instant until, String domain, List<Part> directions) {
    public TlsReport {
        directions = List.copyOf(directions);
    }

    /** How many of something were in clear text, encrypted but not verified, verified, or of unknown state. */
    public record Shares(long total, long clear, long unverified, long verified, long unknown) {
        public static final Shares NONE = new Shares(0, 0, 0, 0, 0);

        Shares plus(Shares o) {
            return new Shares(total + o.total, clear + o.clear, unverified + o.unverified, verified + o.verified,
                    unknown + o.unknown);
        }

        /** {@code part} of the total in percent, 0 when there is nothing. */
        public double percent(long part) {
            return total == 0 ? 0 : 100.0 * part / total;
        }
    }

    /** One domain's messages. */
    public record DomainShares(String domain, Shares messages) { }

    /** Encrypted messages and sessions with one TLS version or one cipher suite. */
    public record Usage(String name, long messages, long sessions) { }

    /**
     * Delivery attempts to one domain held to a policy that requires TLS (or tests one).
     *
     * @param attempts  all such attempts
     * @param delivered those delivered
     * @param failed    those deferred or bounced for TLS (4.7.x/5.7.x status, or a reason it ran without TLS)
     * @param wouldFail those made in testing mode whose session failed a check the enforced level makes
     */
    public record Enforced(String domain, long attempts, long delivered, long failed, long wouldFail) { }

    /**
     * One direction's figures.
     *
     * @param messages  in: messages received over SMTP; out: recipients delivered (one per delivery record)
     * @param sessions  TLS sessions of this direction (with a domain: those that carried its mail)
     * @param domains   per domain, most messages first
     * @param protocols per TLS version, most messages first
     * @param ciphers   per cipher suite, most messages first
     * @param enforced  out only: per domain with an enforcing (or testing) policy; empty for in
     * @param topClear  the domains with the most messages in clear text, at most ten, most first
     */
    public record Part(Direction direction, Shares messages, Shares sessions, List<DomainShares> domains,
                       List<Usage> protocols, List<Usage> ciphers, List<Enforced> enforced,
                       List<DomainShares> topClear) {
        public Part {
            domains = List.copyOf(domains);
            protocols = List.copyOf(protocols);
            ciphers = List.copyOf(ciphers);
            enforced = List.copyOf(enforced);
            topClear = List.copyOf(topClear);
        }

        /** The totals of {@link #enforced}. */
        public Enforced enforcedTotal() {
            long a = 0, d = 0, f = 0, w = 0;
            for (Enforced e : enforced) {
                a += e.attempts;
                d += e.delivered;
                f += e.failed;
                w += e.wouldFail;
            }
            return new Enforced(null, a, d, f, w);
        }
    }
}
