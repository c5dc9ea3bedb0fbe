package dev.postern.smtp;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Passes message content through while reading what the session needs from its header section, in the same pass
 * (no second read of the spooled file): the number of {@code Received:} fields (RFC 5321 §6.3: a message with too
 * many is in a loop), the first {@code Message-ID:} field's value for the audit, and whether the sender wrote
 * {@code TLS-Required: No} (RFC 8689 §3). A field name starts a line (a
 * folded continuation starts with white space, so a folded header counts once), is matched without regard to case and
 * may be followed by white space before the colon (RFC 5322 §4.5.3's obsolete form); the header section ends at the
 * first empty line, so the body is not looked at. The one reader of these fields: the inbound session reads received
 * mail through it, and {@code outbound.Scheduler.submit} the mail Postern makes itself (a TLS report's
 * {@code TLS-Required: No}).
 */
public final class HopCounter extends FilterOutputStream {
    /** Longest field name looked at: longer ones are neither field we want. */
    private static final int MAX_NAME = 16;
    /** Longest Message-ID value kept (RFC 5322's line limit); longer ones are cut there. */
    public static final int MAX_MESSAGE_ID = 998;

    private static final int LINE_START = 0;
    private static final int NAME = 1;
    private static final int REST_OF_LINE = 2;
    private static final int AFTER_CR_AT_START = 3; // a CR at a line's start: an empty line if LF follows
    private static final int CAPTURE = 4; // in the value of a field we keep (Message-ID, TLS-Required)
    private static final int BODY = 5;
    private int state = LINE_START;
    private final byte[] name = new byte[MAX_NAME + 1];
    private int nameLength;
    private int hops;
    /** The Message-ID value as it streams by (unfolded: CR LF dropped), or null before the field. */
    private byte[] id;
    private int idLength;
    /** The first Message-ID field has been read to its end: later ones are ignored. */
    private boolean idDone;
    /** The value of the TLS-Required field being read (unfolded), or null outside one. */
    private StringBuilder tlsRequired;
    /** TLS-Required fields seen whose value is "No", and those with anything else. */
    private int tlsRequiredNo;
    private int tlsRequiredOther;
    /** Longest TLS-Required value looked at: "No" with room for white space; a longer one is not "No". */
    private static final int MAX_TLS_REQUIRED = 64;

    public HopCounter(OutputStream out) { super(out); }

    @Override public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override public void write(byte[] b, int off, int len) throws IOException {
        for (int i = off; i < off + len && state != BODY; i++) step(b[i]);
        out.write(b, off, len);
    }

    private void step(byte c) {
        switch (state) {
            case LINE_START -> {
                if (c == ' ' || c == '\t') { // a folded continuation of the field before
                    state = capturing() ? CAPTURE : REST_OF_LINE;
                    if (state == CAPTURE) keep(c);
                    return;
                }
                endCapture();
                if (c == '\r') state = AFTER_CR_AT_START;
                else if (c == '\n') state = BODY; // a bare LF: the message is refused anyway; stop looking
                else {
                    nameLength = 0;
                    state = NAME;
                    name(c);
                }
            }
            case AFTER_CR_AT_START -> state = c == '\n' ? BODY : c == '\r' ? AFTER_CR_AT_START : REST_OF_LINE;
            case NAME -> {
                if (c == ':') fieldName();
                else if (c == '\n') state = LINE_START;
                else name(c);
            }
            case CAPTURE -> {
                if (c == '\n') state = LINE_START;
                else if (c != '\r') keep(c);
            }
            default -> { // REST_OF_LINE
                if (c == '\n') state = LINE_START;
            }
        }
    }

    private void name(byte c) {
        if (nameLength == name.length) {
            state = REST_OF_LINE;
            return;
        }
        name[nameLength++] = c >= 'A' && c <= 'Z' ? (byte) (c + ('a' - 'A')) : c;
    }

    private void fieldName() {
        int n = nameLength;
        while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t')) n--;
        String field = new String(name, 0, n, StandardCharsets.US_ASCII);
        state = REST_OF_LINE;
        if (field.equals("received")) {
            hops++;
        } else if (field.equals("message-id") && !idDone && id == null) {
            id = new byte[64];
            state = CAPTURE;
        } else if (field.equals("tls-required")) {
            tlsRequired = new StringBuilder();
            state = CAPTURE;
        }
    }

    private boolean capturing() { return tlsRequired != null || id != null && !idDone; }

    private void endCapture() {
        if (tlsRequired != null) {
            // RFC 8689 §3: tls-required = "TLS-Required:" [FWS] "No" CRLF; an ABNF literal matches any case
            if (tlsRequired.toString().strip().equalsIgnoreCase("no")) tlsRequiredNo++;
            else tlsRequiredOther++;
            tlsRequired = null;
            return;
        }
        if (id != null) idDone = true;
    }

    private void keep(byte c) {
        if (tlsRequired != null) {
            if (tlsRequired.length() <= MAX_TLS_REQUIRED) tlsRequired.append((char) (c & 0xFF));
            return;
        }
        if (idLength == MAX_MESSAGE_ID) return;
        if (idLength == id.length) id = Arrays.copyOf(id, Math.min(MAX_MESSAGE_ID, id.length * 2));
        id[idLength++] = c;
    }

    /** {@code Received:} fields seen in the header section so far. */
    public int hops() { return hops; }

    /**
     * The header section has a {@code TLS-Required: No} field (RFC 8689 §3; name and value in any case, white space
     * and folding around the value allowed) and no TLS-Required field with another value: the RFC defines only "No",
     * and a message that contradicts itself gets the default handling. Only for a complete header section (after the
     * end of data): a field cut off by the end of the message counts as read.
     */
    public boolean tlsRequiredNo() {
        int no = tlsRequiredNo;
        int other = tlsRequiredOther;
        if (tlsRequired != null) { // the content ended inside the field (no body): judge it as it stands
            if (tlsRequired.toString().strip().equalsIgnoreCase("no")) no++;
            else other++;
        }
        return no > 0 && other == 0;
    }

    /**
     * The first {@code Message-ID:} field's value, unfolded, trimmed and without its angle brackets (at most
     * {@link #MAX_MESSAGE_ID} bytes of it); null when the header section had none or it was empty.
     */
    public String messageId() {
        if (id == null) return null;
        String v = new String(id, 0, idLength, StandardCharsets.UTF_8).strip();
        if (v.startsWith("<")) {
            int end = v.indexOf('>');
            v = (end > 0 ? v.substring(1, end) : v.substring(1)).strip();
        }
        return v.isEmpty() ? null : v;
    }
}
