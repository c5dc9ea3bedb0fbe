package dev.postern.cli;

import static dev.postern.trace.TraceText.printable;

import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.SeenCertificate;
import dev.postern.peers.DomainLevels;
import dev.postern.peers.Seen;
import dev.postern.trace.TraceText;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;

/**
 * What Postern knows of one domain ({@code postern domains show}): one record, printed as text in one place
 * ({@link #print}) and as JSON by {@code trace.Json}. Each source of knowledge is a section of its own; a section
 * nobody filled is null and printed as such. {@link DomainLookup} fills {@link #dane} and {@link #mtaSts}.
 *
 * @param domain      lookup form
 * @param unicode     the Unicode form when it differs, else null
 * @param policy      the outbound TLS policy delivery applies now (the same resolution as delivery)
 * @param memory      the downgrade memory: its modes for this domain and the levels seen in and out
 * @param dane        DANE state: the MX answer, each host's addresses and TLSA records, what delivery would do
 * @param mtaSts      MTA-STS state: the cached policy, its last fetch error, and (looked up) the TXT id now
 * @param certificates peer certificates the audit store saw for this domain's next hops or names
 * @param lastDelivery the latest delivery record to this domain in the audit store, null when none
 * @param notes       what could not be found out (an audit store that does not answer)
 */
record DomainReport(String domain, String unicode, Policy policy, Memory memory, Dane dane, MtaSts mtaSts,
                    List<SeenCertificate> certificates, LastDelivery lastDelivery, List<String> notes) {

    /** The resolved outbound policy: its source kind and words, level, mode, and an active override. */
    record Policy(String kind, String source, String level, String mode, String override) {}

    /**
     * The downgrade memory for this domain.
     *
     * @param outboundMode refuse, flag or off for deliveries to it ("off while an override is active" shows as off)
     * @param inboundMode  refuse, flag or off for mail from it
     */
    record Memory(String outboundMode, String inboundMode, Level out, Level in) {}

    /** One direction's remembered level; null when never seen that way. */
    record Level(String level, Instant since, Instant firstSeen, Instant lastSeen) {
        static Level of(Seen s) {
            return s == null ? null : new Level(s.level().word(), s.since(), s.firstSeen(), s.lastSeen());
        }
    }

    /** A delivery record and the gateway that made it. */
    record LastDelivery(String gateway, DeliveryRecord delivery) {}

    /**
     * What DANE (RFC 7672) finds for this domain's next hops, asked of DNS as delivery asks it.
     *
     * @param lookedUp    whether DNS was asked; when not, {@code note} says why and the rest is empty
     * @param note        why DNS was or was not asked ("level dane uses DANE", "--no-lookup")
     * @param route       how the next hops were found ("MX", "static route", ...), null when routing failed
     * @param mxSecurity  secure, insecure or bogus (the MX answer), null for a static route to a host (no MX
     *                    lookup) or when the lookup failed otherwise
     * @param routeError  why there are no next hops (DNS failure, null MX, no such domain), else null
     */
    record Dane(boolean lookedUp, String note, String route, String mxSecurity, String routeError,
                List<DaneHost> hosts) {
        Dane {
            hosts = List.copyOf(hosts);
        }
    }

    /**
     * One next hop.
     *
     * @param addressSecurity secure, insecure or bogus; null when the lookup failed otherwise
     * @param canonicalName   the name CNAMEs led to (RFC 7672 §2.2.2 asks for TLSA records there first)
     * @param error           why the host's addresses are not known (delivery skips it), else null
     * @param tlsa            what the TLSA lookup found, null when it was not made (no address)
     * @param verdict         one line: "DANE applies (3 records, 2 usable)", "no DANE: ...", "bogus: ..."
     * @param delivery        what delivery would do with this host, null when it skips it for want of addresses
     */
    record DaneHost(int preference, String host, int port, List<String> addresses, String addressSecurity,
                    String canonicalName, String error, Tlsa tlsa, String verdict, Delivery delivery) {
        DaneHost {
            addresses = List.copyOf(addresses);
        }
    }

    /**
     * A host's TLSA lookup as {@code dane.TlsaLookup} made it.
     *
     * @param status     "secure" (DNSSEC-secure records: DANE applies), "absent" (DANE does not apply), "failed"
     * @param bogus      the lookup failed DNSSEC validation
     * @param why        in words, as the delivery log line says it
     * @param baseDomain the TLSA base domain (secure only)
     * @param owner      the name the records were found at (secure only)
     * @param usable     how many records count (RFC 7672 §3.1.3, RFC 7671 §9)
     */
    record Tlsa(String status, boolean bogus, String why, String baseDomain, String owner, List<TlsaEntry> records,
                int usable) {
        Tlsa {
            records = List.copyOf(records);
        }
    }

    /**
     * One TLSA record.
     *
     * @param data     the association data in hex
     * @param usable   whether it counts (unusable, or a weaker digest beside a stronger one, does not)
     * @param problem  why the record cannot be used at all, else null
     */
    record TlsaEntry(int usage, int selector, int matchingType, String data, String describe, boolean usable,
                     String problem) {}

    /**
     * What delivery would do with one host, by the planner delivery uses (no connection is made).
     *
     * @param refused  why the host would not be used (DANE refusal, MTA-STS mx mismatch, a policy that cannot be
     *                 applied), else null
     * @param level    the level of the plan
     * @param source   the plan's source kind ("dane", "default", "mta-sts", ...)
     * @param required TLS required
     * @param dane     the session would be judged by the host's TLSA records
     * @param floor    the downgrade memory's floor when it asks more than the policy ("peer memory: D seen at L
     *                 since T, refused below it"), else null
     */
    record Delivery(String refused, String level, String source, boolean required, boolean testing, boolean dane,
                    String floor) {}

    /**
     * MTA-STS (RFC 8461) as the gateway's cache holds it, and what DNS and the policy host say now when asked.
     *
     * @param enabled     {@code [mta_sts] enabled}
     * @param cached      the cached policy, expired or not; null when none
     * @param lastError   why the last fetch failed, or null
     * @param txt         the {@code _mta-sts} TXT record now; null when DNS was not asked
     * @param fetched     the policy fetched now ({@code --fetch}; not cached); null when not fetched
     */
    record MtaSts(boolean enabled, Cached cached, String lastError, Instant lastErrorAt, Txt txt, Fetched fetched) {}

    /** A cached policy. */
    record Cached(String id, String mode, List<String> mx, long maxAge, Instant fetchedAt, Instant expiresAt,
                  boolean expired) {
        Cached {
            mx = List.copyOf(mx);
        }
    }

    /**
     * The TXT record now.
     *
     * @param id           the valid record's id, null when there is none
     * @param error        why the lookup failed, else null
     * @param matchesCache whether {@code id} is the cached policy's; null when either is missing
     */
    record Txt(String id, String error, Boolean matchesCache) {}

    /** A policy fetched now, or why the fetch failed ({@code error}, the rest empty). */
    record Fetched(String mode, List<String> mx, long maxAge, String error) {
        Fetched {
            mx = List.copyOf(mx);
        }
    }

    static Memory memory(String outboundMode, String inboundMode, DomainLevels levels) {
        return new Memory(outboundMode, inboundMode, levels == null ? null : Level.of(levels.out()),
                levels == null ? null : Level.of(levels.in()));
    }

    /** The text form. */
    void print(PrintStream out) {
        out.println("Domain " + domain + (unicode == null ? "" : " (" + unicode + ")"));
        out.println("  Outbound TLS policy");
        row(out, "source", policy.source() + " [" + policy.kind() + "]");
        row(out, "level", policy.level() + ("testing".equals(policy.mode()) ? " (testing)" : ""));
        row(out, "override", policy.override() == null ? "none" : policy.override());
        out.println("  Peer memory (highest TLS level seen)");
        row(out, "out", level(memory.out()) + "; " + memory.outboundMode() + " below it");
        row(out, "in", level(memory.in()) + "; " + memory.inboundMode() + " below it");
        dane(out);
        mtaSts(out);
        out.println("  Certificates seen");
        if (certificates.isEmpty()) out.println("    none recorded");
        for (SeenCertificate c : certificates) {
            out.println("    " + printable(c.subject()) + " (issuer " + printable(c.issuer()) + "), sha256 "
                    + c.sha256());
            if (!c.sans().isEmpty()) out.println("      names: " + printable(String.join(", ", c.sans())));
            out.println("      seen " + TraceText.time(c.firstSeen()) + " to " + TraceText.time(c.lastSeen()) + ", "
                    + c.sessions() + " session" + (c.sessions() == 1 ? "" : "s") + (c.notAfter() == null ? ""
                    : ", expires " + TraceText.time(c.notAfter())));
        }
        out.println("  Last delivery");
        if (lastDelivery == null) {
            out.println("    none recorded");
        } else {
            DeliveryRecord d = lastDelivery.delivery();
            out.println("    " + TraceText.time(d.at()) + " " + d.outcome().name().toLowerCase(java.util.Locale.ROOT)
                    + (d.status() == null ? "" : " " + d.status()) + " to " + TraceText.address(d.recipient())
                    + " (queue id " + d.queueId() + ", attempt " + d.attempt() + ", gateway "
                    + printable(lastDelivery.gateway()) + ")");
            if (d.mxHost() != null) {
                out.println("      via " + printable(d.mxHost()) + (d.ip() == null ? "" : "[" + d.ip() + "]")
                        + (d.port() > 0 ? ":" + d.port() : ""));
            }
            if (d.reason() != null) out.println("      " + printable(d.reason()));
        }
        for (String n : notes) out.println("  note: " + printable(n));
    }

    private void dane(PrintStream out) {
        out.println("  DANE");
        if (!dane.lookedUp()) {
            out.println("    not looked up: " + printable(dane.note()));
            return;
        }
        out.println("    " + printable(dane.note()));
        if (dane.routeError() != null) {
            out.println("    next hops: " + printable(dane.routeError())
                    + (dane.mxSecurity() == null ? "" : " [" + dane.mxSecurity() + "]"));
            return;
        }
        out.println("    next hops: " + printable(dane.route()) + (dane.mxSecurity() == null
                ? " (no MX answer: the host's address records decide)" : ", answer " + dane.mxSecurity()));
        for (DaneHost h : dane.hosts()) {
            out.println("    " + printable(h.host()) + ":" + h.port() + " (preference " + h.preference() + ")");
            if (h.error() != null) {
                out.println("      addresses: " + printable(h.error()));
            } else {
                out.println("      addresses: " + (h.addresses().isEmpty() ? "none" : String.join(", ", h.addresses()))
                        + ", " + h.addressSecurity() + (h.canonicalName() == null || h.canonicalName().equals(h.host())
                        ? "" : " (via CNAME " + printable(h.canonicalName()) + ")"));
            }
            if (h.tlsa() != null) {
                for (TlsaEntry e : h.tlsa().records()) {
                    out.println("      TLSA " + e.usage() + " " + e.selector() + " " + e.matchingType() + " "
                            + e.data() + (e.usable() ? "" : e.problem() == null ? " (not used: a stronger digest "
                            + "is present)" : " (unusable: " + e.problem() + ")"));
                }
            }
            out.println("      " + printable(h.verdict()));
            Delivery d = h.delivery();
            if (d != null) {
                out.println("      delivery: " + (d.refused() != null ? "host not used: " + printable(d.refused())
                        : "level " + d.level() + " [" + d.source() + "]" + (d.testing() ? " (testing)" : "") + ", "
                        + (d.dane() ? "TLS required, judged by the TLSA records" : d.required() ? "TLS required"
                        : "STARTTLS when offered")));
                if (d.floor() != null) out.println("        and " + printable(d.floor()));
            }
        }
    }

    private void mtaSts(PrintStream out) {
        out.println("  MTA-STS" + (mtaSts.enabled() ? "" : " ([mta_sts] enabled = false: not applied)"));
        Cached c = mtaSts.cached();
        if (c == null) {
            out.println("    no cached policy");
        } else {
            stsRow(out, "policy id", c.id());
            stsRow(out, "mode", c.mode());
            stsRow(out, "mx", c.mx().isEmpty() ? "(none)" : String.join(", ", c.mx()));
            stsRow(out, "max_age", c.maxAge() + " s");
            stsRow(out, "fetched", TraceText.time(c.fetchedAt()));
            stsRow(out, "expires", TraceText.time(c.expiresAt()) + (c.expired() ? " (expired)" : ""));
        }
        if (mtaSts.lastError() != null) {
            stsRow(out, "last error", TraceText.time(mtaSts.lastErrorAt()) + " " + mtaSts.lastError());
        }
        Txt t = mtaSts.txt();
        if (t != null) {
            stsRow(out, "TXT now", t.error() != null ? "lookup failed: " + t.error()
                    : t.id() == null ? "no valid v=STSv1 record (no MTA-STS)"
                    : "id=" + t.id() + (t.matchesCache() == null ? ", nothing cached: the gateway fetches the "
                    + "policy at its next delivery" : t.matchesCache() ? ", as cached"
                    : ", not the cached id: the gateway fetches the new policy at its next delivery or refresh"));
        }
        Fetched f = mtaSts.fetched();
        if (f != null) {
            stsRow(out, "fetched now", f.error() != null ? "failed: " + f.error() : "mode " + f.mode() + ", mx "
                    + String.join(", ", f.mx()) + ", max_age " + f.maxAge() + " s (not cached)");
        }
    }

    private static String level(Level l) {
        return l == null ? "never seen" : l.level() + " since " + TraceText.time(l.since()) + " (first seen "
                + TraceText.time(l.firstSeen()) + ", last " + TraceText.time(l.lastSeen()) + ")";
    }

    private static void row(PrintStream out, String name, String value) {
        out.printf("    %-10s %s%n", name + ":", printable(value));
    }

    private static void stsRow(PrintStream out, String name, String value) {
        out.printf("    %-12s %s%n", name + ":", printable(value));
    }
}
