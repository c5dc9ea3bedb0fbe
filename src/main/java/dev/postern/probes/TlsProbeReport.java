package dev.postern.probes;

import static dev.postern.trace.TraceText.printable;

import dev.postern.audit.CertificateSummary;
import java.io.PrintStream;
import java.util.List;

/**
 * What a TLS probe of a destination found ({@code postern tls probe}, {@code postern probe}, the periodic health
 * probes): one record, printed as text here ({@link #print}) and as JSON by {@code trace.Json}. {@link TlsProber}
 * fills it.
 *
 * @param target  the argument as given
 * @param domain  the destination whose policy applies (lookup form): the domain, or a host's own name
 * @param policy  the policy delivery applies now, as {@code postern policy show} resolves it
 * @param floor   the downgrade memory's floor when it binds ("peer memory: ... seen at verified since ..."), else null
 * @param route   how the hosts were found
 * @param hosts   every host probed, in delivery's order
 * @param verdict what would happen to mail now
 */
public record TlsProbeReport(String target, String domain, Policy policy, String floor, Route route, List<Host> hosts,
                      Verdict verdict) {

    /** The resolved policy: level, enforce or testing, the kind of source and its words. */
    public record Policy(String level, String mode, String kind, String source) {}

    /**
     * @param source     "MX", "static route", "command line" ...; null when routing failed
     * @param mxSecurity secure, insecure or bogus of the MX answer; null when not asked
     * @param problem    why there are no hosts (DNS failure, null MX, no such domain), else null
     */
    public record Route(String source, String mxSecurity, String problem) {}

    /**
     * One next hop.
     *
     * @param preference  its MX preference, -1 for a static route or a host given on the command line
     * @param dane        what its TLSA lookup found under a DANE level ("DANE applies ...", "no DANE: ..."), else null
     * @param notUsed     why delivery would not connect to it at all (DNS, DANE, MTA-STS mx patterns), else null
     */
    public record Host(String host, int port, int preference, List<String> addresses, String dane, String notUsed,
                List<Connection> connections) {}

    /**
     * One address of a host, connected to.
     *
     * @param greeting   the greeting's lines; empty when none came
     * @param ehlo       the last EHLO reply's lines (after STARTTLS when TLS was made)
     * @param tls        the session when a handshake finished, else null
     * @param chain      the server's certificates as it sent them, leaf first
     * @param check      the judgement of the session under the plan, null without TLS
     * @param error      what ended the probe early (a connection, a reply, a handshake), else null
     * @param broadRetry under may, after a failed handshake: the retry with the broad suite set delivery makes
     * @param outcome    {@link Outcome#word}
     * @param verdict    what delivery would do with this address, in words
     * @param heldTo     the policy this connection was held to (the host's plan: DANE per host, the downgrade
     *                   memory's floor when it binds)
     * @param achieved   what the session reached: "plain", "encrypted", "verified", "dane"; null when it failed its
     *                   checks or never got as far as TLS
     */
    public record Connection(String address, List<String> greeting, List<String> ehlo, boolean startTlsOffered, Tls tls,
                      List<CertificateSummary> chain, Check check, String error, Connection broadRetry, String outcome,
                      String verdict, HeldTo heldTo, String achieved) {}

    /** A plan's policy as the audit names it: level ("verify"), source kind ("static", "dane", "memory"), mode. */
    public record HeldTo(String level, String source, String mode) {}

    /** The negotiated session: protocol, suite and its key bits, key-exchange group, the SNI sent (null: none). */
    public record Tls(String protocol, String cipher, int cipherBits, String group, String serverName) {}

    /**
     * @param verified  the certificate passed the level's identity checks (pin, or chain and name, or DANE)
     * @param summary   "verified for NAME (issuer ...)" or "unverified: PROBLEM"
     * @param failure   why an enforced policy refuses the session, else null
     * @param wouldFail testing mode: what the enforced level would refuse
     */
    public record Check(boolean verified, String summary, String failure, List<String> wouldFail) {}

    /** What would happen to mail now; {@code mailWouldGo} decides the exit code (0 or 1). */
    public record Verdict(boolean mailWouldGo, String outcome, String text) {}

    /** The outcome of one address, or of the whole probe. */
    public enum Outcome {
        TLS_VERIFIED, TLS_UNVERIFIED, CLEAR, HOST_FAILED, NOT_USED, DEFER, BOUNCE;

        public String word() { return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'); }

        public static Outcome of(String word) { return valueOf(word.toUpperCase(java.util.Locale.ROOT).replace('-', '_')); }

        /** Mail would be handed to this address. */
        public boolean delivers() { return this == TLS_VERIFIED || this == TLS_UNVERIFIED || this == CLEAR; }
    }

    public void print(PrintStream out) {
        out.println("tls probe " + printable(target));
        out.println("  policy: " + policy.level() + ", " + policy.mode() + " (" + printable(policy.source()) + ")");
        if (floor != null) out.println("  downgrade memory: " + floor);
        out.println("  route: " + (route.source() == null ? printable(route.problem()) : route.source()
                + (route.mxSecurity() == null ? "" : ", answer " + route.mxSecurity())));
        for (Host h : hosts) {
            out.println("  " + h.host() + ":" + h.port() + (h.preference() < 0 ? "" : " (preference "
                    + h.preference() + ")") + (h.addresses().isEmpty() ? "" : " " + String.join(", ", h.addresses())));
            if (h.dane() != null) out.println("    " + printable(h.dane()));
            if (h.notUsed() != null) out.println("    not used: " + printable(h.notUsed()));
            for (Connection c : h.connections()) print(out, c, "    ");
        }
        out.println("verdict: " + printable(verdict.text()));
    }

    private static void print(PrintStream out, Connection c, String indent) {
        out.println(indent + c.address());
        String in = indent + "  ";
        if (!c.greeting().isEmpty()) out.println(in + "greeting: " + printable(String.join(" / ", c.greeting())));
        if (!c.ehlo().isEmpty()) out.println(in + "EHLO: " + printable(String.join(" / ", c.ehlo())));
        if (!c.greeting().isEmpty()) out.println(in + "STARTTLS: " + (c.startTlsOffered() ? "offered" : "not offered"));
        if (c.tls() != null) {
            Tls t = c.tls();
            out.println(in + "TLS: " + t.protocol() + ", " + t.cipher() + (t.cipherBits() < 0 ? "" : " ("
                    + t.cipherBits() + " bits)") + (t.group() == null ? "" : ", group " + t.group())
                    + (t.serverName() == null ? ", no SNI" : ", SNI " + t.serverName()));
        }
        for (int i = 0; i < c.chain().size(); i++) {
            CertificateSummary s = c.chain().get(i);
            out.println(in + "certificate " + i + ": " + printable(s.subject()));
            out.println(in + "  issuer:  " + printable(s.issuer()));
            out.println(in + "  names:   " + (s.sans().isEmpty() ? "(no subjectAltName)"
                    : printable(String.join(", ", s.sans()))));
            out.println(in + "  key:     " + s.keyType() + (s.keyBits() < 0 ? "" : " " + s.keyBits() + " bits"));
            out.println(in + "  valid:   " + s.notBefore() + " to " + s.notAfter());
            out.println(in + "  sha256:  " + s.sha256());
            out.println(in + "  key sha256: " + s.spkiSha256());
        }
        if (c.check() != null) {
            out.println(in + "check: " + printable(c.check().summary()));
            if (c.check().failure() != null) out.println(in + "refused: " + printable(c.check().failure()));
            for (String w : c.check().wouldFail()) out.println(in + "would fail (testing): " + printable(w));
        }
        if (c.error() != null) out.println(in + "error: " + printable(c.error()));
        if (c.broadRetry() != null) {
            out.println(in + "retry with the broad suite set:");
            print(out, c.broadRetry(), in + "  ");
        }
        out.println(in + "=> " + printable(c.verdict()));
    }
}
