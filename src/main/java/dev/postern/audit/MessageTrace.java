package dev.postern.audit;

import java.util.List;
import java.util.Map;

/**
 * Everything the audit knows of one message's way through this gateway, as {@code postern trace} and receipts read it.
 *
 * @param message    how it came in (or was made here)
 * @param inbound    the inbound session it came in, null for messages made here or when that record is missing
 * @param deliveries every delivery attempt of every recipient, oldest first
 * @param sessions   the outbound sessions the deliveries name, by id
 * @param gateway    the name of the gateway that recorded it
 */
public record MessageTrace(MessageRecord message, TlsSessionRecord inbound, List<DeliveryRecord> deliveries,
                           Map<String, TlsSessionRecord> sessions, String gateway) {
    public MessageTrace {
        deliveries = List.copyOf(deliveries);
        sessions = Map.copyOf(sessions);
    }
}
