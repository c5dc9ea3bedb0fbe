package dev.postern.queue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The one JSON shape of queued messages: {@code postern queue list --json} / {@code queue show --json} and the admin
 * API's {@code GET /api/queue} / {@code GET /api/queue/ID} write these records (through the audit's JSON mapping).
 */
public final class QueueJson {
    private QueueJson() {}

    /** {@code queue list --json}. */
    public record ListJson(String dataDir, int count, List<MessageJson> messages) {
        public ListJson {
            messages = List.copyOf(messages);
        }
    }

    /**
     * One message. Field names are stable; times are ISO-8601 UTC; {@code state} is active, deferred or hold;
     * {@code sender} is "" for the null sender; {@code headers} (show only, else null) are the header lines as
     * queued, folded lines as they are. A recipient's {@code lastResult} is why it is still queued (the deferral
     * reason) or how it ended.
     */
    public record MessageJson(String id, String state, String sender, Instant arrived, String client, long size,
                              String bodyType, boolean smtputf8, boolean requireTls, Instant nextAttempt,
                              boolean delayWarned, List<RecipientJson> recipients, List<String> headers) {
        public static MessageJson of(Spool.Entry e, List<String> headers) {
            Envelope env = e.envelope();
            List<RecipientJson> rcpts = env.recipients().stream().map(r -> new RecipientJson(r.address(),
                    r.status().name().toLowerCase(Locale.ROOT), r.attempts(), r.lastResult(), r.lastAttempt()))
                    .toList();
            return new MessageJson(env.id(), e.state().name().toLowerCase(Locale.ROOT), env.sender(), env.received(),
                    env.client(), env.size(), env.bodyType(), env.smtputf8(), env.requireTls(), env.nextAttempt(),
                    env.delayWarned(), rcpts, headers);
        }
    }

    /** {@code status}: pending, delivered or failed; {@code lastResult} "" before any attempt. */
    public record RecipientJson(String address, String status, int attempts, String lastResult, Instant lastAttempt) {}

    /** Every queued message, oldest first, as {@code queue list --json} prints it. */
    public static ListJson list(Spool spool, String dataDir) throws IOException {
        List<MessageJson> messages = new ArrayList<>();
        for (Spool.Entry e : spool.list()) messages.add(MessageJson.of(e, null));
        return new ListJson(dataDir, messages.size(), messages);
    }

    /** The header lines of a queued message's content, as queued. */
    public static List<String> headers(Spool spool, String id) throws IOException {
        List<String> headers = new ArrayList<>();
        try (InputStream in = spool.openContent(id);
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null && !line.isEmpty(); line = r.readLine()) headers.add(line);
        }
        return headers;
    }
}
