package dev.postern.audit;

import dev.postern.audit.TlsReport.Shares;
import dev.postern.audit.TlsSessionRecord.Direction;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * TLS coverage over time: the messages of {@code postern report tls} (same definition, same query: see
 * {@link TlsReports#messagesSql}) counted per time bucket, in and out. The buckets cover the window from
 * {@code since} (a multiple of the bucket length since the epoch, so hours and days start on the hour and at midnight
 * UTC) to {@code until} without a gap, empty ones included; added up they are the report's message totals for the
 * same {@code since}.
 *
 * @param since   the start of the first bucket
 * @param until   when it was made
 * @param bucket  each bucket's length, ISO-8601 ("PT1H", "P1D" is "PT24H")
 * @param buckets oldest first
 */
public record TlsTimeline(Instant since, Instant until, String bucket, List<Bucket> buckets) {
    public TlsTimeline {
        buckets = List.copyOf(buckets);
    }

    /** The messages received ({@code in}) and delivered ({@code out}) from {@code start} for one bucket's length. */
    public record Bucket(Instant start, Shares in, Shares out) { }

    public TlsTimeline(Instant since, Instant until, Duration bucket, List<Bucket> buckets) {
        this(since, until, bucket.toString(), buckets);
    }

    /** Each bucket's length. */
    public Duration bucketLength() {
        return Duration.parse(bucket);
    }

    /** The buckets of one direction added up. */
    public Shares total(Direction direction) {
        Shares sum = Shares.NONE;
        for (Bucket b : buckets) sum = sum.plus(direction == Direction.IN ? b.in : b.out);
        return sum;
    }
}
