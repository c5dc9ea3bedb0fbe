package dev.postern.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.audit.AlertRecord;
import dev.postern.audit.RecordCodec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The webhook channel against a real HTTP receiver on loopback: retries, a refusal, a receiver that hangs. */
class WebhookTest {
    static final List<Duration> FAST = List.of(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400),
            Duration.ofMillis(800));

    static Webhook.Payload payload() {
        return Webhook.Payload.of("gw1.example", new AlertRecord(Instant.parse("2026-12-03T08:00:00Z"),
                "enforced-delivery:bank.example", AlertRecord.Kind.ENFORCED_DELIVERY_FAILURE, "bank.example",
                AlertRecord.State.FIRING, "bank.example: delivery under a TLS requirement deferred (4.7.10)",
                "queue id Q1: 451 4.7.10 TLS required by policy"));
    }

    @Test void failuresAreRetriedWithBackoffUntilTheReceiverTakesIt() throws Exception {
        try (Receiver r = new Receiver(n -> n <= 2 ? 503 : 204);
             Webhook hook = new Webhook(r.uri(), Duration.ofSeconds(2), FAST)) {
            hook.send(payload());
            await().atMost(Duration.ofSeconds(10)).until(() -> r.bodies.size() == 3);
            Thread.sleep(1200); // nothing more after the 204
            assertThat(r.bodies).hasSize(3);
            // the delays grow: 100 ms, then 200 ms (with room for scheduling)
            long first = (r.times.get(1) - r.times.get(0)) / 1_000_000;
            long second = (r.times.get(2) - r.times.get(1)) / 1_000_000;
            assertThat(first).isBetween(90L, 2000L);
            assertThat(second).isGreaterThanOrEqualTo(190L);
            JsonNode json = RecordCodec.mapper().readTree(r.bodies.getLast());
            assertThat(json.get("gateway").asText()).isEqualTo("gw1.example");
            assertThat(json.get("key").asText()).isEqualTo("enforced-delivery:bank.example");
            assertThat(json.get("kind").asText()).isEqualTo("ENFORCED_DELIVERY_FAILURE");
            assertThat(json.get("state").asText()).isEqualTo("FIRING");
            assertThat(json.get("at").asText()).isEqualTo("2026-12-03T08:00:00Z");
            assertThat(json.get("summary").asText()).startsWith("bank.example: delivery");
        }
    }

    @Test void aRefusalIsNotRetried() throws Exception {
        try (Receiver r = new Receiver(n -> 400); Webhook hook = new Webhook(r.uri(), Duration.ofSeconds(2), FAST)) {
            hook.send(payload());
            await().atMost(Duration.ofSeconds(5)).until(() -> r.bodies.size() == 1);
            Thread.sleep(1000);
            assertThat(r.bodies).hasSize(1);
        }
    }

    @Test void aReceiverThatNeverAnswersIsTriedUntilTheLastTryThenGivenUp() throws Exception {
        try (Receiver r = new Receiver(n -> 0); Webhook hook = new Webhook(r.uri(), Duration.ofMillis(300),
                List.of(Duration.ofMillis(50), Duration.ofMillis(50)))) {
            long start = System.nanoTime();
            hook.send(payload());
            hook.send(payload());
            // send never waits for the receiver
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(200);
            // each of 2 alerts: 3 tries, each cut after 300 ms
            await().atMost(Duration.ofSeconds(10)).until(() -> r.bodies.size() == 6);
            Thread.sleep(800);
            assertThat(r.bodies).hasSize(6);
        }
    }

    /** A webhook URL is a secret (Slack's, Teams' carry their key in the path or query): logs show its origin only. */
    @Test void theLogNamesTheReceiverWithoutItsPathOrQuery() throws Exception {
        List<String> lines;
        try (Receiver r = new Receiver(n -> n == 1 ? 400 : 503)) {
            java.net.URI secret = java.net.URI.create(r.uri() + "/T0/B0/s3cr3tPath?key=s3cr3tQuery");
            lines = dev.postern.testkit.LogLines.during(Webhook.class, () -> {
                try (Webhook hook = new Webhook(secret, Duration.ofSeconds(2), List.of(Duration.ofMillis(50)))) {
                    hook.send(payload()); // refused: not tried again
                    await().atMost(Duration.ofSeconds(5)).until(() -> r.bodies.size() == 1);
                    hook.send(payload()); // 503 twice: failed
                    await().atMost(Duration.ofSeconds(5)).until(() -> r.bodies.size() == 3);
                    Thread.sleep(300);
                }
            });
        }
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("refused the alert").contains("127.0.0.1"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("alert webhook failed").contains("127.0.0.1"));
        assertThat(lines).noneSatisfy(l -> assertThat(l).containsAnyOf("s3cr3t", "/hook"));
    }
}
