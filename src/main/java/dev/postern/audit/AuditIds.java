package dev.postern.audit;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Identifiers that link records: a TLS session's id is named by the messages received in it and by the delivery
 * attempts that used it. 16 hex digits of time (milliseconds, so ids sort by creation) then 8 random ones: unique
 * across the gateways that share one store without any coordination.
 */
public final class AuditIds {
    private static final SecureRandom RANDOM = new SecureRandom();

    private AuditIds() { }

    public static String next() {
        byte[] r = new byte[4];
        RANDOM.nextBytes(r);
        return String.format("%012x", System.currentTimeMillis()) + HexFormat.of().formatHex(r);
    }
}
