package dev.postern.alerts;

import dev.postern.audit.AlertRecord;
import dev.postern.audit.RecordCodec;
import dev.postern.logging.Untrusted;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook channel: each state change POSTed as JSON ({@link Payload}) on a virtual thread of its own, so a slow or
 * hanging receiver holds nothing but that thread. Each try is bounded (connect and the whole answer within
 * {@code timeout}); a 5xx answer or no answer is tried again after each of the {@code backoff} delays (by default 5
 * tries over 15 minutes), then logged as failed; a 2xx is done; any other status (4xx: the receiver refuses this
 * request as it is) is logged and not tried again.
 */
final class Webhook implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Webhook.class);

    /** The delays between tries: 1, 2, 4 and 8 minutes, so 5 tries within about 15 minutes. */
    static final List<Duration> BACKOFF = List.of(Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(4),
            Duration.ofMinutes(8));
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** At most this many alerts waiting for the receiver at once; more are logged and not sent. */
    static final int MAX_PENDING = 256;

    /** What the receiver gets: the alert record's fields and the gateway that raised it. */
    record Payload(String gateway, Instant at, String key, AlertRecord.Kind kind, String subject,
                   AlertRecord.State state, String summary, String detail) {
        static Payload of(String gateway, AlertRecord r) {
            return new Payload(gateway, r.at(), r.key(), r.kind(), r.subject(), r.state(), r.summary(), r.detail());
        }
    }

    private final URI uri;
    /** What the logs name: the receiver's scheme, host and port, never its path or query (they often hold its key). */
    private final String origin;
    private final Duration timeout;
    private final List<Duration> backoff;
    private final HttpClient client;
    private final Semaphore pending = new Semaphore(MAX_PENDING);
    private final Set<Thread> senders = ConcurrentHashMap.newKeySet();

    Webhook(URI uri, Duration timeout, List<Duration> backoff) {
        this.uri = uri;
        this.origin = uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
        this.timeout = timeout;
        this.backoff = List.copyOf(backoff);
        this.client = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    URI uri() { return uri; }

    /** Sends {@code payload} in the background; returns at once. */
    void send(Payload payload) {
        if (!pending.tryAcquire()) {
            log.atWarn().addKeyValue("key", Untrusted.clip(payload.key())).addKeyValue("state", payload.state())
                    .addKeyValue("pending", MAX_PENDING).log("alert webhook: too many alerts waiting, not sent");
            return;
        }
        Thread t = Thread.ofVirtual().name("alert-webhook").unstarted(() -> {
            try {
                deliver(payload);
            } finally {
                senders.remove(Thread.currentThread());
                pending.release();
            }
        });
        senders.add(t);
        t.start();
    }

    private void deliver(Payload payload) {
        byte[] body;
        try {
            body = RecordCodec.mapper().writeValueAsBytes(payload);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout)
                .header("Content-Type", "application/json; charset=utf-8")
                .header("User-Agent", "Postern alerts")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        int tries = backoff.size() + 1;
        String last = null;
        for (int i = 1; i <= tries; i++) {
            try {
                int status = post(request);
                if (status / 100 == 2) {
                    log.atInfo().addKeyValue("key", Untrusted.clip(payload.key())).addKeyValue("state", payload.state())
                            .addKeyValue("status", status).addKeyValue("try", i).log("alert webhook delivered");
                    return;
                }
                if (status < 500) {
                    log.atWarn().addKeyValue("key", Untrusted.clip(payload.key())).addKeyValue("state", payload.state())
                            .addKeyValue("status", status).addKeyValue("url", origin)
                            .log("alert webhook refused the alert, not tried again");
                    return;
                }
                last = "HTTP " + status;
            } catch (IOException | TimeoutException | ExecutionException e) {
                Throwable c = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                last = c instanceof TimeoutException ? "no answer within " + timeout.toSeconds() + " s"
                        : Untrusted.clip(c.getClass().getSimpleName() + ": " + c.getMessage());
            } catch (InterruptedException e) {
                log.atWarn().addKeyValue("key", Untrusted.clip(payload.key())).addKeyValue("state", payload.state())
                        .log("alert webhook: stopping, not sent");
                return;
            }
            if (i < tries) {
                Duration wait = backoff.get(i - 1);
                log.atInfo().addKeyValue("key", Untrusted.clip(payload.key())).addKeyValue("try", i).addKeyValue("error", last)
                        .addKeyValue("retry_in", wait.toMillis() + "ms").log("alert webhook failed, will retry");
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException e) {
                    log.atWarn().addKeyValue("key", Untrusted.clip(payload.key())).addKeyValue("state", payload.state())
                            .log("alert webhook: stopping, not sent");
                    return;
                }
            }
        }
        log.atWarn().addKeyValue("key", Untrusted.clip(payload.key())).addKeyValue("state", payload.state()).addKeyValue("tries", tries)
                .addKeyValue("error", last).addKeyValue("url", origin).log("alert webhook failed");
    }

    /** One try: the status, within {@code timeout} for all of it (a receiver that stalls mid-answer included). */
    private int post(HttpRequest request) throws IOException, InterruptedException, TimeoutException,
            ExecutionException {
        var future = client.sendAsync(request, HttpResponse.BodyHandlers.discarding());
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS).statusCode();
        } catch (TimeoutException | InterruptedException e) {
            future.cancel(true);
            throw e;
        }
    }

    /** Stops the tries under way (each logs that its alert was not sent). */
    @Override public void close() {
        for (Thread t : senders) t.interrupt();
        client.shutdownNow();
    }
}
