package dev.postern.tls;

/**
 * The key-exchange group of a handshake, read from the TLS server's first flight as it crosses the socket in clear;
 * the JDK's JSSE has no API that tells it. Fed the server's bytes in whatever pieces they come ({@link #feed}), it
 * follows the record layer and the handshake messages in them, and stops for good as soon as it knows the group, as
 * soon as the records are encrypted, or at anything it does not expect:
 * <ul>
 *   <li>TLS 1.3: the ServerHello's key_share (RFC 8446 §4.2.8). A HelloRetryRequest (a ServerHello with the special
 *       random) names the group too, but the final ServerHello decides.</li>
 *   <li>TLS 1.2 with an ECDHE suite: the ServerKeyExchange's named_curve (RFC 8422 §5.4), after the Certificate.</li>
 * </ul>
 * Anything else (a resumed TLS 1.2 session, a DHE or RSA suite, an alert, a malformed or oversized message) leaves
 * the group null. Never throws, holds at most one message it reads (a few KiB), and skips the Certificate's bytes
 * without keeping them.
 */
final class ServerFlight {
    private static final int CHANGE_CIPHER_SPEC = 20, HANDSHAKE = 22;
    private static final int SERVER_HELLO = 2, CERTIFICATE = 11, SERVER_KEY_EXCHANGE = 12, CERTIFICATE_STATUS = 22;
    private static final int SUPPORTED_VERSIONS = 43, KEY_SHARE = 51;
    private static final int NAMED_CURVE = 3;
    /** RFC 8446 §5.1: at most 2^14 bytes of plaintext in a record. */
    private static final int MAX_RECORD = 1 << 14;
    /** ServerHello with a post-quantum share is about 1.2 KiB, a ServerKeyExchange well under 1 KiB. */
    private static final int MAX_MESSAGE = 4096;
    /** The whole plaintext flight watched at most (a long certificate chain comes before the ServerKeyExchange). */
    private static final int MAX_WATCHED = 64 * 1024;
    /** RFC 8446 §4.1.3: the random of a HelloRetryRequest, SHA-256 of "HelloRetryRequest". */
    private static final byte[] HRR_RANDOM = java.util.HexFormat.of().parseHex(
            "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c");

    private boolean done;
    private String group;
    private int watched;
    /** After a TLS 1.2 ServerHello: the suite it chose; -1 before. */
    private int tls12Suite = -1;
    private boolean tls13;

    // The record layer: the header being read, then the bytes left of the record's fragment.
    private final byte[] recordHeader = new byte[5];
    private int recordHeaderLength;
    private int recordType;
    private int recordLeft;

    // The handshake layer, across records: the header being read, then the message's body.
    private final byte[] messageHeader = new byte[4];
    private int messageHeaderLength;
    private int messageType;
    private int messageLeft;
    /** The body of a message worth reading (null while skipping one). */
    private byte[] message;
    private int messageLength;

    /** Whether it has stopped watching (it knows the group, or will never know it). */
    boolean done() {
        return done;
    }

    /** The group's name ("x25519"), or null while not (or never) known. */
    String group() {
        return group;
    }

    /** Takes the next {@code length} bytes the server sent; returns {@link #done()}. */
    boolean feed(byte[] bytes, int offset, int length) {
        if (done) return true;
        try {
            if (offset < 0 || length < 0 || length > bytes.length - offset) return stop();
            watched += length;
            if (watched > MAX_WATCHED) return stop();
            while (length > 0 && !done) {
                int n;
                if (recordLeft == 0) {
                    n = fill(recordHeader, recordHeaderLength, bytes, offset, length);
                    recordHeaderLength += n;
                    if (recordHeaderLength == recordHeader.length) record();
                } else {
                    n = Math.min(length, recordLeft);
                    recordLeft -= n;
                    if (recordType == HANDSHAKE) handshake(bytes, offset, n);
                }
                offset += n;
                length -= n;
            }
        } catch (RuntimeException e) { // a bug here must never reach the handshake
            stop();
        }
        return done;
    }

    /** A record header is complete. */
    private void record() {
        recordHeaderLength = 0;
        recordType = recordHeader[0];
        recordLeft = ((recordHeader[3] & 0xff) << 8) | (recordHeader[4] & 0xff);
        if (recordLeft == 0 || recordLeft > MAX_RECORD) {
            stop();
        } else if (recordType == CHANGE_CIPHER_SPEC) {
            // TLS 1.3: a compatibility no-op (RFC 8446 §D.4), skipped. TLS 1.2: what follows is encrypted.
            if (tls12Suite >= 0) stop();
        } else if (recordType != HANDSHAKE) {
            stop(); // an alert, or encrypted application_data
        }
    }

    /** {@code n} bytes of a handshake record's fragment. */
    private void handshake(byte[] bytes, int offset, int n) {
        while (n > 0 && !done) {
            int take;
            if (messageHeaderLength < messageHeader.length) {
                take = fill(messageHeader, messageHeaderLength, bytes, offset, n);
                messageHeaderLength += take;
                if (messageHeaderLength == messageHeader.length) messageStarts();
            } else {
                take = Math.min(n, messageLeft);
                if (message != null) System.arraycopy(bytes, offset, message, messageLength - messageLeft, take);
                messageLeft -= take;
                if (messageLeft == 0) messageEnds();
            }
            offset += take;
            n -= take;
        }
    }

    /** Copies into {@code header} what it lacks after {@code filled} bytes, from the next {@code n}; how many. */
    private static int fill(byte[] header, int filled, byte[] bytes, int offset, int n) {
        int take = Math.min(n, header.length - filled);
        System.arraycopy(bytes, offset, header, filled, take);
        return take;
    }

    private void messageStarts() {
        messageType = messageHeader[0] & 0xff;
        messageLength = ((messageHeader[1] & 0xff) << 16) | ((messageHeader[2] & 0xff) << 8) | (messageHeader[3] & 0xff);
        messageLeft = messageLength;
        boolean expected = tls12Suite < 0 ? messageType == SERVER_HELLO
                : messageType == CERTIFICATE || messageType == CERTIFICATE_STATUS || messageType == SERVER_KEY_EXCHANGE;
        if (!expected) {
            stop(); // TLS 1.2 CertificateRequest or ServerHelloDone: no ServerKeyExchange comes; or not a flight at all
            return;
        }
        boolean read = messageType == SERVER_HELLO || messageType == SERVER_KEY_EXCHANGE;
        if (read && messageLength > MAX_MESSAGE) {
            stop();
            return;
        }
        message = read ? new byte[messageLength] : null;
        if (messageLeft == 0) messageEnds();
    }

    private void messageEnds() {
        messageHeaderLength = 0;
        byte[] body = message;
        message = null;
        if (body == null) return; // a message skipped
        try {
            if (messageType == SERVER_HELLO) serverHello(new HandshakeReader(body, body.length));
            else serverKeyExchange(new HandshakeReader(body, body.length));
        } catch (HandshakeReader.Malformed e) {
            stop();
        }
    }

    private void serverHello(HandshakeReader r) throws HandshakeReader.Malformed {
        r.u16(); // legacy_version
        boolean retry = r.matches(HRR_RANDOM);
        r.sub(r.u8()); // legacy_session_id_echo
        int suite = r.u16();
        r.u8(); // legacy_compression_method
        int version = 0, selected = -1;
        if (r.remaining() > 0) {
            HandshakeReader extensions = r.sub(r.u16());
            while (extensions.remaining() > 0) {
                int type = extensions.u16();
                HandshakeReader data = extensions.sub(extensions.u16());
                // HelloRetryRequest: selected_group alone; ServerHello: a KeyShareEntry, the group first.
                if (type == SUPPORTED_VERSIONS) version = data.u16();
                else if (type == KEY_SHARE) selected = data.u16();
            }
        }
        if (version == ClientHello.TLS13) {
            tls13 = true;
            if (selected >= 0) group = NamedGroups.name(selected);
            if (!retry) stop(); // the final ServerHello: all that follows is encrypted
        } else if (tls13 || retry) {
            stop(); // a TLS 1.2 hello after a retry request, or a retry request without TLS 1.3: not a real flight
        } else if (ecdhe(suite)) {
            tls12Suite = suite; // the group comes in the ServerKeyExchange
        } else {
            stop(); // no ephemeral ECDH: RSA key transport, or DHE whose prime has no registry name
        }
    }

    private void serverKeyExchange(HandshakeReader r) throws HandshakeReader.Malformed {
        if (r.u8() == NAMED_CURVE) group = NamedGroups.name(r.u16());
        stop();
    }

    /**
     * Whether a TLS 1.2 suite is ECDHE (RFC 8422, 5289, 7905, 7251), so that its ServerKeyExchange names a curve; a
     * suite not listed leaves the group unknown rather than risk reading another key exchange's parameters as one.
     */
    static boolean ecdhe(int suite) {
        return (suite >= 0xc006 && suite <= 0xc00a) || (suite >= 0xc010 && suite <= 0xc014)
                || (suite >= 0xc023 && suite <= 0xc024) || (suite >= 0xc027 && suite <= 0xc028)
                || suite == 0xc02b || suite == 0xc02c || suite == 0xc02f || suite == 0xc030
                || (suite >= 0xc0ac && suite <= 0xc0af) || suite == 0xcca8 || suite == 0xcca9;
    }

    private boolean stop() {
        done = true;
        message = null;
        return true;
    }
}
