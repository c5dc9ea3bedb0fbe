package dev.postern.audit;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The questions about single messages: what {@code postern trace} and {@code postern receipt} ask. */
public interface AuditReader extends AutoCloseable {

    /** The message with this queue id, else the messages with this Message-ID (several gateways, or resent). */
    List<MessageTrace> trace(String queueIdOrMessageId) throws AuditStore.AuditStoreException;

    /** The messages to {@code recipient} (lookup form) received since {@code since}, oldest first. */
    List<MessageTrace> traceRecipient(String recipient, Instant since) throws AuditStore.AuditStoreException;

    /** One message by queue id. */
    default Optional<MessageTrace> message(String queueId) throws AuditStore.AuditStoreException {
        return trace(queueId).stream().filter(t -> t.message().queueId().equals(queueId)).findFirst();
    }

    @Override void close();
}
