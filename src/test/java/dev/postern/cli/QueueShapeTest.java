package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueState;
import dev.postern.queue.Spool;
import dev.postern.trace.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code postern queue summary}'s table (qshape): bucket edges, rows by recipient and by sender domain. */
class QueueShapeTest {
    private static final Instant NOW = Instant.parse("2026-12-03T12:00:00Z");

    @Test void bucketEdgesAreInclusiveUpperBoundsInMinutes() {
        assertThat(QueueShape.bucket(Duration.ZERO)).isZero();
        assertThat(QueueShape.bucket(Duration.ofMinutes(-3))).as("a clock step back counts as new").isZero();
        assertThat(QueueShape.bucket(Duration.ofMinutes(5))).isZero();
        assertThat(QueueShape.bucket(Duration.ofMinutes(5).plusMillis(1))).isEqualTo(1);
        assertThat(QueueShape.bucket(Duration.ofMinutes(10))).isEqualTo(1);
        assertThat(QueueShape.bucket(Duration.ofMinutes(640).plusSeconds(1))).isEqualTo(8);
        assertThat(QueueShape.bucket(Duration.ofMinutes(1280))).isEqualTo(8);
        assertThat(QueueShape.bucket(Duration.ofMinutes(1280).plusMillis(1))).isEqualTo(9);
        assertThat(QueueShape.bucket(Duration.ofDays(30))).isEqualTo(9);
    }

    @Test void rowsByRecipientDomainCountEachMessageOncePerDomainAndOnceInTheTotal() {
        List<Spool.Entry> q = List.of(
                entry("alice@client.test", Duration.ofMinutes(5), "a@xn--bcher-kva.example", "b@xn--bcher-kva.example"),
                entry("alice@client.test", Duration.ofMinutes(5).plusSeconds(1), "a@b.example",
                        "c@xn--bcher-kva.example"),
                entry("", Duration.ofMinutes(1281), "a@b.example"),
                entry("bob@Other.Example", Duration.ofMinutes(2), "z@c.example"));
        QueueShape s = QueueShape.of(q, false, NOW);
        assertThat(s.buckets()).containsExactly("5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+");
        assertThat(s.total()).isEqualTo(new QueueShape.Row("TOTAL", "TOTAL", 4, List.of(2, 1, 0, 0, 0, 0, 0, 0, 0, 1)));
        assertThat(s.rows()).containsExactly(
                new QueueShape.Row("b.example", "b.example", 2, List.of(0, 1, 0, 0, 0, 0, 0, 0, 0, 1)),
                new QueueShape.Row("xn--bcher-kva.example", "bücher.example", 2, List.of(1, 1, 0, 0, 0, 0, 0, 0, 0, 0)),
                new QueueShape.Row("c.example", "c.example", 1, List.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
        assertThat(s.text()).isEqualTo("""
                                    T     5    10    20    40    80   160   320   640  1280 1280+
                         TOTAL      4     2     1     0     0     0     0     0     0     0     1
                     b.example      2     0     1     0     0     0     0     0     0     0     1
                bücher.example      2     1     1     0     0     0     0     0     0     0     0
                     c.example      1     1     0     0     0     0     0     0     0     0     0
                """);

        QueueShape bySender = QueueShape.of(q, true, NOW);
        assertThat(bySender.by()).isEqualTo("sender");
        assertThat(bySender.rows()).extracting(QueueShape.Row::domain, QueueShape.Row::total)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("client.test", 2),
                        org.assertj.core.groups.Tuple.tuple("<>", 1),
                        org.assertj.core.groups.Tuple.tuple("other.example", 1));
    }

    @Test void theJsonHasStableFieldNames() throws Exception {
        JsonNode j = Json.mapper().readTree(Json.pretty(QueueShape.of(List.of(entry("a@b.example",
                Duration.ofMinutes(30), "x@y.example")), false, NOW)));
        assertThat(j.get("by").asText()).isEqualTo("recipient");
        assertThat(j.get("buckets").size()).isEqualTo(10);
        assertThat(j.get("total").get("total").asInt()).isEqualTo(1);
        JsonNode row = j.get("rows").get(0);
        assertThat(row.get("domain").asText()).isEqualTo("y.example");
        assertThat(row.get("display").asText()).isEqualTo("y.example");
        assertThat(row.get("counts").get(3).asInt()).isEqualTo(1); // 30 minutes: the "40" bucket
    }

    private static Spool.Entry entry(String sender, Duration age, String... rcpts) {
        List<Envelope.Recipient> r = java.util.Arrays.stream(rcpts).map(Envelope.Recipient::pending).toList();
        return new Spool.Entry(new Envelope(QueueIds.next(), sender, r, NOW.minus(age), "client", "7BIT", false, 10,
                NOW, false, 1), QueueState.DEFERRED);
    }
}
