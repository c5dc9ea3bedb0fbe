package dev.postern.tls;

/**
 * The little of a TLS ClientHello that RFC 7507 needs: the highest version the client offers and whether it sent
 * TLS_FALLBACK_SCSV. Parses the handshake message (type, 24-bit length, body) after the record layer; every length is
 * checked against what is there, and anything unexpected gives null (the caller then leaves the hello to JSSE).
 *
 * @param legacyVersion     ClientHello.legacy_version (0x0303 for TLS 1.2, what TLS 1.3 clients send too)
 * @param highestVersion    the highest of supported_versions (GREASE ignored) when sent, else legacy_version
 * @param fallbackScsv      whether cipher_suites holds TLS_FALLBACK_SCSV (0x5600)
 */
record ClientHello(int legacyVersion, int highestVersion, boolean fallbackScsv) {
    static final int TLS_FALLBACK_SCSV = 0x5600;
    static final int TLS12 = 0x0303;
    static final int TLS13 = 0x0304;
    private static final int CLIENT_HELLO = 1;
    private static final int SUPPORTED_VERSIONS = 43;

    /**
     * The hello in {@code message} (a whole handshake message, header included, possibly reassembled from several
     * records), or null when it is not a well-formed ClientHello.
     */
    static ClientHello parse(byte[] message, int length) {
        try {
            HandshakeReader r = new HandshakeReader(message, Math.min(length, message.length));
            if (r.u8() != CLIENT_HELLO) return null;
            int bodyLength = r.u24();
            HandshakeReader body = r.sub(bodyLength);
            int legacy = body.u16();
            body.skip(32); // random
            body.sub(body.u8()); // legacy_session_id
            HandshakeReader suites = body.sub(body.u16());
            if (suites.remaining() == 0 || suites.remaining() % 2 != 0) return null;
            boolean scsv = false;
            while (suites.remaining() > 0) scsv |= suites.u16() == TLS_FALLBACK_SCSV;
            body.sub(body.u8()); // legacy_compression_methods
            int highest = legacy;
            if (body.remaining() > 0) { // extensions are optional before TLS 1.3
                HandshakeReader extensions = body.sub(body.u16());
                while (extensions.remaining() > 0) {
                    int type = extensions.u16();
                    HandshakeReader data = extensions.sub(extensions.u16());
                    if (type != SUPPORTED_VERSIONS) continue;
                    HandshakeReader versions = data.sub(data.u8());
                    if (versions.remaining() == 0 || versions.remaining() % 2 != 0) return null;
                    highest = 0;
                    while (versions.remaining() > 0) {
                        int v = versions.u16();
                        if ((v & 0x0f0f) != 0x0a0a) highest = Math.max(highest, v); // RFC 8701 GREASE
                    }
                    if (highest == 0) return null;
                }
            }
            return new ClientHello(legacy, highest, scsv);
        } catch (HandshakeReader.Malformed e) {
            return null;
        }
    }

    /**
     * RFC 7507 §3: a hello with TLS_FALLBACK_SCSV from a client whose best version is below the server's best must be
     * refused with inappropriate_fallback.
     */
    boolean inappropriateFallback(int serverHighestVersion) {
        return fallbackScsv && highestVersion < serverHighestVersion;
    }

    /** "TLS 1.2" for 0x0303, and so on; hex for anything else. */
    static String name(int version) {
        return switch (version) {
            case 0x0300 -> "SSL 3.0";
            case 0x0301 -> "TLS 1.0";
            case 0x0302 -> "TLS 1.1";
            case TLS12 -> "TLS 1.2";
            case TLS13 -> "TLS 1.3";
            default -> String.format("0x%04x", version);
        };
    }
}
