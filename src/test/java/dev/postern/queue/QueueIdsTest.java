package dev.postern.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class QueueIdsTest {

    @Test void hundredThousandIdsAreUniqueValidAndSorted() {
        List<String> ids = new ArrayList<>(100_000);
        for (int i = 0; i < 100_000; i++) ids.add(QueueIds.next());

        assertThat(new HashSet<>(ids)).hasSize(ids.size());
        assertThat(ids).allMatch(QueueIds::isValid);
        assertThat(ids).isSorted(); // monotonic, also within one millisecond
    }

    @Test void uniqueAcrossThreads() throws Exception {
        Set<String> ids = ConcurrentHashMap.newKeySet();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 20; t++) {
                pool.submit(() -> {
                    for (int i = 0; i < 5_000; i++) ids.add(QueueIds.next());
                });
            }
        }
        assertThat(ids).hasSize(100_000);
    }

    @Test void timestampIsTheLeadingTenCharacters() {
        long before = System.currentTimeMillis();
        String id = QueueIds.next();
        long after = System.currentTimeMillis();
        long millis = 0;
        for (char c : id.substring(0, 10).toCharArray()) millis = millis * 32 + QueueIds.ALPHABET.indexOf(c);
        assertThat(millis).isBetween(before, after + 1);
        assertThat(id).hasSize(26);
        assertThat(QueueIds.time(id).toEpochMilli()).isEqualTo(millis);
    }

    @Test void timeRefusesWhatIsNotAnId() {
        assertThat(QueueIds.time("7ZZZZZZZZZZZZZZZZZZZZZZZZZ").toEpochMilli()).isEqualTo((1L << 48) - 1);
        for (String bad : new String[] {"8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01arz3ndektsv4rrffq69g5fav",
                "01ARZ3NDEKTSV4RRFFQ69G5FAI", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FÄV", "", null}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> QueueIds.time(bad)).as(String.valueOf(bad))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThat(QueueIds.isValid(bad)).isFalse();
        }
    }

    @Test void laterIdsSortAfterEarlierOnes() throws InterruptedException {
        String a = QueueIds.next();
        Thread.sleep(3);
        String b = QueueIds.next();
        assertThat(a).isLessThan(b);
    }

    @Test void isValidChecksTheShape() {
        assertThat(QueueIds.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAV")).isTrue();
        assertThat(QueueIds.isValid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")).isTrue();
        assertThat(QueueIds.isValid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ")).isFalse(); // beyond 128 bits
        assertThat(QueueIds.isValid("01arz3ndektsv4rrffq69g5fav")).isFalse(); // we only make upper case
        assertThat(QueueIds.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAI")).isFalse(); // I is not Crockford
        assertThat(QueueIds.isValid("01ARZ3NDEKTSV4RRFFQ69G5FA")).isFalse();
        assertThat(QueueIds.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAVV")).isFalse();
        assertThat(QueueIds.isValid("../../../../../../etc/pass")).isFalse();
        assertThat(QueueIds.isValid("")).isFalse();
        assertThat(QueueIds.isValid(null)).isFalse();
    }
}
