package dev.postern.trace;

import dev.postern.audit.CertificateSummary;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.MessageTrace;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.names.Domains;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A message's records as sentences a non-expert can read: one block per message, one line for how it came in and one
 * per delivery attempt, saying plainly when a hop had no TLS and why. Names in A-labels are shown in Unicode; the JSON
 * form ({@link Json}) keeps them as recorded.
 */
public final class TraceText {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private TraceText() {}

    /** Every message's block, separated by an empty line. */
    public static String render(List<MessageTrace> traces) {
        return traces.stream().map(TraceText::render).collect(Collectors.joining("\n"));
    }

    /** One message's block: a heading, how it came in, each delivery attempt in order, where each recipient is now. */
    public static String render(MessageTrace trace) {
        MessageRecord m = trace.message();
        StringBuilder head = new StringBuilder("Message ").append(m.queueId());
        if (m.messageId() != null) head.append(" <").append(m.messageId()).append('>');
        head.append(", recorded by ").append(trace.gateway());
        List<String> lines = new ArrayList<>();
        lines.add(head.toString());
        lines.add("  " + arrival(m, trace.inbound()));
        for (DeliveryRecord d : trace.deliveries()) {
            for (String line : delivery(d, trace.sessions())) lines.add("  " + line);
        }
        lines.add("  now: " + summary(trace));
        // Each line made printable as a whole: the values in it are the peers' (a Message-ID, an EHLO name, a reply,
        // a certificate's subject), and one holding a line break or an escape sequence must not forge a line nor
        // drive the administrator's terminal.
        StringBuilder out = new StringBuilder();
        for (String line : lines) out.append(printable(line)).append('\n');
        return out.toString();
    }

    /** "received from NAME [IP] over TLS ... at TIME, queue id ..., Message-ID ..., from <a> to <b>". */
    static String arrival(MessageRecord m, TlsSessionRecord in) {
        StringBuilder s = new StringBuilder();
        if (!"smtp".equals(m.origin())) {
            s.append("made here (").append(m.origin()).append(')');
        } else {
            String name = in != null ? in.ehloName() : m.ehloName();
            String ip = in != null ? in.peerIp() : m.clientIp();
            s.append("received from ").append(name == null ? "a client" : host(name));
            if (in != null && in.reverseDns() != null && !in.reverseDns().equalsIgnoreCase(name)) {
                s.append(" (reverse DNS ").append(host(in.reverseDns())).append(')');
            }
            if (ip != null) s.append(" [").append(ip).append(']');
            if (in == null) {
                s.append(" (its session is not on record: TLS unknown)");
            } else if (in.encrypted()) {
                s.append(" over ").append(tls(in)).append(clientCertificate(m, in));
            } else {
                s.append(" in clear text: ").append(in.noTls() == TlsSessionRecord.NoTls.NOT_OFFERED
                        ? "the client did not use STARTTLS" : withoutTls(in, null)).append(',');
            }
        }
        s.append(" at ").append(time(m.at())).append(", queue id ").append(m.queueId());
        if (m.messageId() != null) s.append(", Message-ID <").append(m.messageId()).append('>');
        s.append(", from ").append(address(m.sender())).append(" to ")
                .append(m.recipients().stream().map(TraceText::address).collect(Collectors.joining(", ")));
        s.append(", ").append(m.size()).append(" bytes");
        if (m.authUser() != null) s.append(", authenticated as ").append(m.authUser());
        if (m.requireTls()) s.append(", REQUIRETLS asked for");
        if (m.tlsRequiredNo()) s.append(", TLS-Required: No (recipient-side TLS policies do not stop it)");
        return s.toString();
    }

    private static String clientCertificate(MessageRecord m, TlsSessionRecord in) {
        String leaf = in.peerChain().isEmpty() ? null : in.peerChain().getFirst().subject();
        return switch (in.verification()) {
            case VERIFIED -> " (client certificate verified: "
                    + (m.clientCertificate() != null ? m.clientCertificate() : leaf) + ")";
            case FAILED -> " (client certificate not verified: " + oneLine(in.verificationReason())
                    + (leaf != null ? "; " + leaf : "") + ")";
            // a listener that asks for none ("not-asked"), or a client that sent none: nothing worth a word
            case NOT_CHECKED -> in.clientCertificate() == null || in.clientCertificate().equals("asked-none-sent")
                    || in.clientCertificate().equals("not-asked") ? ""
                    : " (client certificate: " + in.clientCertificate() + ")";
        };
    }

    /**
     * A delivered recipient in one line: "to <b>, attempt 1 at TIME: delivered to mx1 [ip]:25 (MX 10) over TLS ...,
     * policy ..., 250 2.0.0 Ok". Otherwise a head line ("deferred (4.7.10), to be tried again") and indented lines
     * for the last host and its TLS, the reason, the reply, each host tried and the DSN.
     */
    static List<String> delivery(DeliveryRecord d, Map<String, TlsSessionRecord> sessions) {
        String head = "to " + address(d.recipient()) + ", attempt " + d.attempt() + " at " + time(d.at()) + ": ";
        boolean local = "local".equals(d.mxHost());
        String where = local ? "the local mailbox (Maildir)" : d.mxHost() == null ? null
                : hop(d.mxHost(), d.ip(), d.port(), d.mxPreference()) + prefixed(" ", outboundTls(d, sessions));
        String reply = String.join(" ", d.replies().stream().map(TraceText::oneLine).toList());
        if (d.outcome() == DeliveryRecord.Outcome.DELIVERED) {
            return List.of(head + "delivered to " + (where == null ? "an unrecorded next hop" : where)
                    + prefixed(", ", reply));
        }
        List<String> lines = new ArrayList<>();
        lines.add(head + (d.outcome() == DeliveryRecord.Outcome.DEFERRED
                ? "deferred (" + d.status() + "), to be tried again" : "bounced (" + d.status() + "), failed for good"));
        if (where != null) lines.add("    last host: " + where);
        if (!reply.isEmpty()) lines.add("    reply: " + reply);
        if (d.reason() != null && !d.reason().isBlank()) lines.add("    reason: " + oneLine(d.reason()));
        for (String host : d.hostsTried()) lines.add("    tried " + oneLine(host));
        if (d.dsnQueueId() != null) {
            lines.add("    " + (d.outcome() == DeliveryRecord.Outcome.BOUNCED ? "bounce" : "delay notice")
                    + " (DSN) sent to the sender as queue id " + d.dsnQueueId());
        }
        return lines;
    }

    private static String prefixed(String prefix, String s) {
        return s.isEmpty() ? "" : prefix + s;
    }

    private static String outboundTls(DeliveryRecord d, Map<String, TlsSessionRecord> sessions) {
        TlsSessionRecord s = d.tlsSessionId() == null ? null : sessions.get(d.tlsSessionId());
        boolean delivered = d.outcome() == DeliveryRecord.Outcome.DELIVERED;
        if (s == null) {
            if (d.tlsSessionId() != null) return "over TLS (session " + d.tlsSessionId() + " is not on record)";
            return d.noTlsReason() == null ? "" : (delivered ? "in clear text: " : "without TLS: ") + oneLine(d.noTlsReason());
        }
        String policy = s.policy() == null ? "" : ", " + policy(s.policy());
        if (s.encrypted()) return "over " + tls(s) + ", " + certificate(s) + policy;
        return (delivered ? "in clear text: " : "without TLS: ") + withoutTls(s, d.noTlsReason()) + policy;
    }

    private static String withoutTls(TlsSessionRecord s, String fallback) {
        String detail = s.noTlsDetail() == null ? "" : ": " + oneLine(s.noTlsDetail());
        if (s.noTls() == null) return fallback != null ? oneLine(fallback) : "no TLS" + detail;
        return switch (s.noTls()) {
            case NOT_OFFERED -> "STARTTLS not offered" + detail;
            case REFUSED -> "STARTTLS refused" + detail;
            case HANDSHAKE_FAILED -> "TLS handshake failed" + detail;
            case POLICY_CHECK_FAILED -> "TLS checks of the policy failed, the connection was closed before MAIL" + detail;
            case NOT_ATTEMPTED -> "TLS not attempted" + detail;
        };
    }

    private static String certificate(TlsSessionRecord s) {
        String reason = s.verificationReason() == null ? null : oneLine(s.verificationReason());
        return switch (s.verification()) {
            case VERIFIED -> reason == null ? "certificate verified" + leaf(s)
                    : reason.startsWith("verified") ? "certificate " + reason : "certificate verified: " + reason;
            case FAILED -> "certificate NOT verified" + (reason == null ? "" : ": " + reason) + leaf(s);
            case NOT_CHECKED -> "certificate not checked" + leaf(s);
        };
    }

    private static String leaf(TlsSessionRecord s) {
        if (s.peerChain().isEmpty()) return "";
        CertificateSummary c = s.peerChain().getFirst();
        return " (subject " + c.subject() + ", issuer " + c.issuer() + ")";
    }

    /** "TLS 1.3 TLS_AES_256_GCM_SHA384 (256-bit), x25519" and ", resumed" when the session was. */
    static String tls(TlsSessionRecord s) {
        return tls(s.protocol(), s.cipher(), s.cipherBits()) + (s.keyExchangeGroup() == null ? "" : ", " + s.keyExchangeGroup())
                + (s.resumed() ? ", resumed session" : "");
    }

    /** "TLS 1.3 TLS_AES_256_GCM_SHA384 (256-bit)". */
    public static String tls(String protocol, String cipher, int bits) {
        return protocol(protocol) + (cipher == null ? "" : " " + cipher) + (bits > 0 ? " (" + bits + "-bit)" : "");
    }

    /** "TLSv1.3" as people write it: "TLS 1.3". */
    public static String protocol(String protocol) {
        if (protocol == null) return "no TLS";
        return protocol.startsWith("TLSv") ? "TLS " + protocol.substring(4) : protocol;
    }

    /** "policy secure (static)", with what testing mode found: "policy verify (static), testing: would fail: ...". */
    public static String policy(PolicyApplied p) {
        StringBuilder s = new StringBuilder("policy ").append(p.level()).append(" (").append(p.source()).append(')');
        if ("testing".equals(p.mode())) {
            s.append(", testing mode: ").append(p.wouldFail().isEmpty() ? "enforcing it would have passed"
                    : "enforcing it would have failed: " + String.join("; ", p.wouldFail().stream().map(TraceText::oneLine).toList()));
        }
        return s.toString();
    }

    /** "mx1.bank.example [203.0.113.5]:25 (MX 10)". */
    public static String hop(String host, String ip, int port, int mxPreference) {
        StringBuilder s = new StringBuilder(host(host));
        if (ip != null) s.append(" [").append(ip).append(']');
        if (port > 0) s.append(':').append(port);
        if (mxPreference >= 0) s.append(" (MX ").append(mxPreference).append(')');
        return s.toString();
    }

    /** Where each recipient stands after the last record: "<b> delivered; <c> deferred after 2 attempts". */
    static String summary(MessageTrace trace) {
        Map<String, List<DeliveryRecord>> byRecipient = new LinkedHashMap<>();
        for (String r : trace.message().recipients()) byRecipient.put(r, new ArrayList<>());
        for (DeliveryRecord d : trace.deliveries()) byRecipient.computeIfAbsent(d.recipient(), r -> new ArrayList<>()).add(d);
        List<String> parts = new ArrayList<>();
        byRecipient.forEach((recipient, records) -> {
            if (records.isEmpty()) {
                parts.add(address(recipient) + " no delivery attempt on record yet");
                return;
            }
            DeliveryRecord last = records.getLast();
            String word = switch (last.outcome()) {
                case DELIVERED -> "delivered";
                case DEFERRED -> "waiting for its next attempt";
                case BOUNCED -> "bounced";
            };
            parts.add(address(recipient) + " " + word + (records.size() > 1 ? " after " + records.size() + " attempts" : ""));
        });
        return String.join("; ", parts);
    }

    /** An instant as "2026-12-02 10:31:05Z". */
    public static String time(Instant t) {
        return t == null ? "(time unknown)" : TIME.format(t);
    }

    /** An address in angle brackets, its domain in Unicode: "<b@bücher.example>"; "<>" for the null sender. */
    public static String address(String address) {
        if (address == null) return "<>";
        int at = address.lastIndexOf('@');
        return at < 0 ? "<" + address + ">" : "<" + address.substring(0, at + 1) + Domains.toUnicode(address.substring(at + 1)) + ">";
    }

    /** A host name in Unicode when it holds A-labels (an address literal stays as it is). */
    public static String host(String name) {
        return Domains.toUnicode(name);
    }

    /**
     * {@code s} safe to print on a terminal as one line: C0 and C1 control characters (line breaks, ESC, NUL, ...),
     * DEL, Unicode line and paragraph separators and the bidirectional controls that reorder what is shown are written
     * as {@code \xHH} (past 0xff: backslash, u, {HHHH}); the rest, non-ASCII letters included, stays as it is.
     */
    public static String printable(String s) {
        if (s == null) return null;
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean bad = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029'
                    || (c >= '\u200e' && c <= '\u200f') || (c >= '\u202a' && c <= '\u202e')
                    || (c >= '\u2066' && c <= '\u2069') || c == '\u061c' || (Character.isSurrogate(c)
                    && !(Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                    || Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1))));
            if (!bad) {
                if (b != null) b.append(c);
                continue;
            }
            if (b == null) b = new StringBuilder(s.length() + 16).append(s, 0, i);
            b.append(c <= 0xff ? String.format("\\x%02x", (int) c) : String.format("\\u{%04x}", (int) c));
        }
        return b == null ? s : b.toString();
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }
}
