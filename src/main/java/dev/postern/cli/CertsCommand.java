package dev.postern.cli;

import static dev.postern.trace.TraceText.printable;

import dev.postern.audit.SeenCertificate;
import dev.postern.trace.Json;
import dev.postern.trace.TraceText;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code postern certs ...}: partners' certificates as the audit store saw them on the wire. */
@Command(name = "certs", description = "Certificates of partners seen on the wire.",
        subcommands = CertsCommand.Seen.class)
final class CertsCommand {

    @Command(name = "seen", description = "Distinct peer certificates seen in TLS sessions (both directions), "
            + "soonest to expire first, with where and when they were seen.")
    static final class Seen implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Option(names = "--expiring", paramLabel = "WITHIN",
                description = "Only certificates that expire within this time from now (e.g. 30d), or have expired.")
        String expiring;

        @Option(names = "--json", description = "JSON instead of text.")
        boolean json;

        @Override public Integer call() throws Exception {
            Instant now = Instant.now();
            Instant before = expiring == null ? null : now.plus(TimeOptions.duration("--expiring", expiring));
            List<SeenCertificate> certs = AuditAccess.ask(source.load(), store -> store.certificatesSeen(before));
            if (json) {
                System.out.println(Json.pretty(certs));
            } else {
                text(certs, now, expiring, System.out);
            }
            return 0;
        }
    }

    static void text(List<SeenCertificate> certs, Instant now, String expiring, PrintStream out) {
        if (certs.isEmpty()) {
            out.println(expiring == null ? "No peer certificate recorded."
                    : "No peer certificate seen expires within " + expiring + ".");
            return;
        }
        for (SeenCertificate c : certs) {
            out.println(printable(c.subject()) + "  " + expiry(c.notAfter(), now));
            if (!c.sans().isEmpty()) out.println("  names:   " + printable(String.join(", ", c.sans())));
            out.println("  issuer:  " + printable(c.issuer()));
            out.println("  key:     " + printable(c.keyType()) + (c.keyBits() > 0 ? " " + c.keyBits() + " bits" : ""));
            out.println("  sha256:  " + c.sha256());
            for (SeenCertificate.Peer p : c.peers()) {
                out.println("  seen:    " + p.direction().name().toLowerCase(Locale.ROOT) + " " + printable(p.endpoint())
                        + " [" + printable(p.peerIp()) + "] by " + printable(p.gateway()) + ", " + p.sessions() + " session"
                        + (p.sessions() == 1 ? "" : "s") + ", " + TraceText.time(p.firstSeen()) + " to "
                        + TraceText.time(p.lastSeen()));
            }
            out.println();
        }
        out.println("-- " + certs.size() + " certificate(s)");
    }

    private static String expiry(Instant notAfter, Instant now) {
        if (notAfter == null) return "(no expiry recorded)";
        long days = Duration.between(now, notAfter).toDays();
        return notAfter.isBefore(now) ? "EXPIRED " + TraceText.time(notAfter) + " (" + -days + " days ago)"
                : "expires " + TraceText.time(notAfter) + " (in " + days + " days)";
    }
}
