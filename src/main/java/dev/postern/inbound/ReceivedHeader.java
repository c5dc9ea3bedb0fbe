package dev.postern.inbound;

import dev.postern.tls.TlsFacts;
import java.net.InetAddress;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * The trace header (RFC 5321 §4.4) this gateway prepends, with the TLS facts in Postfix's words so that tools which
 * parse Postfix headers understand ours:
 * {@code Received: from helo (name [ip]) (using TLSv1.3 with cipher ... (256/256 bits)) by host (Postern) with ESMTPS
 * id ID for <rcpt>; date}. The name is the client's forward-confirmed reverse DNS name when its lookup had ended by
 * then (RFC 5321 §4.4 TCP-info: {@code Domain FWS address-literal}); else {@code helo ([ip])}: nothing is claimed,
 * and the dialogue never waits for DNS.
 */
final class ReceivedHeader {
    private ReceivedHeader() {}

    static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT);

    /**
     * @param helo       what the client said in EHLO/HELO
     * @param clientName the client's forward-confirmed reverse DNS name (lookup form), or null
     * @param tls        null for clear text
     * @param protocol   "ESMTP", "ESMTPS", "SMTP", "UTF8SMTPS" ... (RFC 3848, RFC 6531)
     * @param recipients named only when there is exactly one (more would disclose Bcc recipients to each other)
     */
    static String format(String helo, String clientName, InetAddress client, TlsFacts tls, InboundPolicy.ClientCertificate cert,
                         String authUser, String hostname, String protocol, String id, List<String> recipients,
                         ZonedDateTime when) {
        StringBuilder b = new StringBuilder(256);
        b.append("Received: from ").append(sanitize(helo))
                .append(" (").append(clientName == null ? "" : clientName + " ")
                .append('[').append(client.getHostAddress()).append("])");
        if (tls != null) b.append("\r\n\t").append(tls.receivedClause());
        if (cert != null) {
            // Postfix's words: (Client CN "...", Issuer "..." (verified OK)) or (not verified).
            b.append("\r\n\t(Client CN \"").append(sanitizeQuoted(cert.cn())).append("\", Issuer \"")
                    .append(sanitizeQuoted(issuerCn(cert.facts().issuer()))).append("\" (")
                    .append(cert.facts().trusted() ? "verified OK" : "not verified").append("))");
        }
        if (authUser != null) b.append("\r\n\t(Authenticated sender: ").append(sanitize(authUser)).append(')');
        b.append("\r\n\tby ").append(hostname).append(" (Postern) with ").append(protocol).append(" id ").append(id);
        if (recipients.size() == 1) b.append("\r\n\tfor <").append(sanitize(recipients.getFirst())).append('>');
        b.append("; ").append(DATE.format(when)).append("\r\n");
        return b.toString();
    }

    /** Keeps a client-supplied word from breaking the header: no controls, no parentheses games, bounded length. */
    static String sanitize(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 255));
        for (int i = 0; i < s.length() && b.length() < 255; i++) {
            char c = s.charAt(i);
            b.append(c < 0x21 || c == 0x7f || c == '(' || c == ')' || c == ';' ? '_' : c);
        }
        return b.toString();
    }

    private static String issuerCn(String dn) {
        for (String part : dn.split(",")) {
            if (part.strip().toUpperCase(Locale.ROOT).startsWith("CN=")) return part.strip().substring(3);
        }
        return dn;
    }

    /** Inside a quoted string of a comment: no controls, quotes, backslashes or parentheses. */
    private static String sanitizeQuoted(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 128));
        for (int i = 0; i < s.length() && b.length() < 128; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '(' || c == ')' ? '_' : c);
        }
        return b.toString();
    }

    /** RFC 3848 / RFC 6531 "with" keyword. */
    static String protocol(boolean esmtp, boolean tls, boolean authenticated, boolean utf8) {
        if (!esmtp) return "SMTP";
        return (utf8 ? "UTF8SMTP" : "ESMTP") + (tls ? "S" : "") + (authenticated ? "A" : "");
    }
}
