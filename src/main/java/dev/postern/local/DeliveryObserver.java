package dev.postern.local;

import java.nio.file.Path;

/**
 * Told of each message written into a Maildir here, after it is durable there (the TLS report reader watches its
 * address this way). Must return at once (queue the work) and never throw: the delivery is done and must not wait.
 */
@FunctionalInterface
public interface DeliveryObserver {
    DeliveryObserver NONE = (recipient, sender, client, file) -> { };

    /**
     * @param recipient the envelope recipient delivered to (its domain in lookup form)
     * @param sender    the envelope sender, "" for the null reverse path
     * @param client    who handed the message to us ("helo (ptr [ip])"), or what made it
     * @param file      the delivered file in the Maildir's {@code new/} (a mail client may move it to {@code cur/})
     */
    void delivered(String recipient, String sender, String client, Path file);
}
