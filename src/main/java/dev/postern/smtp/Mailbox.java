package dev.postern.smtp;

import java.util.Locale;

/**
 * A mailbox "local-part@domain" (RFC 5321 §4.1.2, RFC 6531 for UTF-8). The local part keeps its case and, if it was
 * quoted, its quotes; the domain is kept as written ({@link #domainKey()} gives the lower-case form to compare).
 */
public record Mailbox(String localPart, String domain) {

    /** Parses "local@domain" (no angle brackets). Throws {@link AddressException} with a short reason. */
    public static Mailbox parse(String text) throws AddressException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Lower-case domain (ASCII lower-casing; IDNs stay as given), for routing and policy lookups. */
    public String domainKey() { return domain.toLowerCase(Locale.ROOT); }

    /** True when the local part is quoted ("a@b"@example.com) or holds '%', '!' or '@': never relayed. */
    public boolean hasRoutingTricks() {
        throw new UnsupportedOperationException("TODO");
    }

    /** True when both parts are ASCII (otherwise SMTPUTF8 is needed). */
    public boolean isAscii() {
        throw new UnsupportedOperationException("TODO");
    }

    @Override public String toString() { return localPart + "@" + domain; }
}
