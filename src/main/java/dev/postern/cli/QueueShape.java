package dev.postern.cli;

import dev.postern.names.Domains;
import dev.postern.queue.Envelope;
import dev.postern.queue.Spool;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The queue's shape as Postfix's {@code qshape} shows it: one row per domain, one column per age bucket. A message of
 * age A (since it arrived) counts in the first bucket whose bound in minutes is at least A (5, 10, 20, 40, 80, 160,
 * 320, 640, 1280), else in "1280+"; so a message exactly 5 minutes old is in "5", one a millisecond older in "10".
 * By recipient domain a message counts once in each domain it still has recipients to deliver to, and once in the
 * TOTAL row; by sender domain once, the null sender in the row "&lt;&gt;".
 *
 * @param by      "recipient" or "sender"
 * @param buckets the column headings after T
 * @param total   the TOTAL row: each message once
 * @param rows    the domains, the most messages first, then by name
 */
record QueueShape(String by, List<String> buckets, Row total, List<Row> rows) {

    /** The upper bounds of the buckets, in minutes; past the last comes "1280+". */
    static final int[] BOUNDS = {5, 10, 20, 40, 80, 160, 320, 640, 1280};

    /**
     * One row: {@code domain} in lookup form ("TOTAL", "&lt;&gt;" as they are), {@code display} as a person reads it
     * (Unicode), {@code total} (T), {@code counts} one per bucket.
     */
    record Row(String domain, String display, int total, List<Integer> counts) {}

    static QueueShape of(List<Spool.Entry> entries, boolean bySender, Instant now) {
        List<String> headings = new ArrayList<>();
        for (int b : BOUNDS) headings.add(String.valueOf(b));
        headings.add(BOUNDS[BOUNDS.length - 1] + "+");
        int[] total = new int[BOUNDS.length + 1];
        Map<String, int[]> byDomain = new TreeMap<>();
        for (Spool.Entry e : entries) {
            Envelope env = e.envelope();
            int bucket = bucket(Duration.between(env.received(), now));
            total[bucket]++;
            Set<String> domains = new LinkedHashSet<>();
            if (bySender) {
                domains.add(env.sender().isEmpty() ? "<>" : QueueSelector.domainOf(env.sender()));
            } else {
                for (Envelope.Recipient r : env.pending()) domains.add(QueueSelector.domainOf(r.address()));
            }
            for (String d : domains) byDomain.computeIfAbsent(d, k -> new int[BOUNDS.length + 1])[bucket]++;
        }
        List<Row> rows = new ArrayList<>();
        byDomain.forEach((d, counts) -> rows.add(row(d, d.equals("<>") ? d : Domains.toUnicode(d), counts)));
        rows.sort(Comparator.comparingInt(Row::total).reversed().thenComparing(Row::domain));
        return new QueueShape(bySender ? "sender" : "recipient", headings, row("TOTAL", "TOTAL", total), rows);
    }

    /** The bucket of a message this old: the first bound at least its age; a message from the future is new. */
    static int bucket(Duration age) {
        for (int i = 0; i < BOUNDS.length; i++) {
            if (age.compareTo(Duration.ofMinutes(BOUNDS[i])) <= 0) return i;
        }
        return BOUNDS.length;
    }

    private static Row row(String domain, String display, int[] counts) {
        int sum = 0;
        List<Integer> list = new ArrayList<>();
        for (int c : counts) {
            sum += c;
            list.add(c);
        }
        return new Row(domain, display, sum, list);
    }

    /** The table as qshape prints it: a heading line, TOTAL, then the domains. */
    String text() {
        int width = Math.max(5, rows.stream().mapToInt(r -> r.display().length()).max().orElse(0));
        width = Math.min(width, 60);
        StringBuilder b = new StringBuilder();
        b.append(String.format("%" + width + "s %6s", "", "T"));
        for (String h : buckets) b.append(String.format(" %5s", h));
        b.append('\n');
        for (Row r : concat(total, rows)) {
            String name = r.display().length() > width ? r.display().substring(0, width - 1) + "…" : r.display();
            b.append(String.format("%" + width + "s %6d", name, r.total()));
            for (int c : r.counts()) b.append(String.format(" %5d", c));
            b.append('\n');
        }
        return b.toString();
    }

    private static List<Row> concat(Row first, List<Row> rest) {
        List<Row> all = new ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return all;
    }
}
