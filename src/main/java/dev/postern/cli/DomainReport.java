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
 * nobody filled is null and printed as such. DANE and MTA-STS fill {@link #dane} and {@link #mtaSts} (see
 * {@link Section}) where {@code DomainsCommand.Show#report} gathers the others.
 *
 * @param domain      lookup form
 * @param unicode     the Unicode form when it differs, else null
 * @param policy      the outbound TLS policy delivery applies now (the same resolution as delivery)
 * @param memory      the downgrade memory: its modes for this domain and the levels seen in and out
 * @param dane        DANE state (MX security, TLSA records): filled by the DANE work; null until then
 * @param mtaSts      MTA-STS state (the cached policy, its id and expiry): filled by the MTA-STS work; null until then
 * @param certificates peer certificates the audit store saw for this domain's next hops or names
 * @param lastDelivery the latest delivery record to this domain in the audit store, null when none
 * @param notes       what could not be found out (an audit store that does not answer)
 */
record DomainReport(String domain, String unicode, Policy policy, Memory memory, Section dane, Section mtaSts,
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
     * A section another source of knowledge adds (DANE, MTA-STS): a one-line summary and detail lines, e.g. "MX
     * secure; 2 TLSA records" with one line per record.
     */
    record Section(String summary, List<String> lines) {
        Section {
            lines = List.copyOf(lines);
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
        section(out, "DANE", dane);
        section(out, "MTA-STS", mtaSts);
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

    private static void section(PrintStream out, String title, Section s) {
        out.println("  " + title);
        if (s == null) {
            out.println("    not known to this build");
            return;
        }
        out.println("    " + printable(s.summary()));
        for (String line : s.lines()) out.println("      " + printable(line));
    }

    private static String level(Level l) {
        return l == null ? "never seen" : l.level() + " since " + TraceText.time(l.since()) + " (first seen "
                + TraceText.time(l.firstSeen()) + ", last " + TraceText.time(l.lastSeen()) + ")";
    }

    private static void row(PrintStream out, String name, String value) {
        out.printf("    %-10s %s%n", name + ":", printable(value));
    }
}
