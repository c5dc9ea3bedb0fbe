package dev.postern.mtasts;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 8461 §3.1: exactly one valid v=STSv1 record, or none. */
class StsRecordTest {

    @Test void readsTheId() {
        assertThat(StsRecord.pick(List.of("v=STSv1; id=20160831085700Z;"))).contains(new StsRecord("20160831085700Z"));
        assertThat(StsRecord.pick(List.of("v=STSv1;id=abc"))).contains(new StsRecord("abc"));
        assertThat(StsRecord.pick(List.of("v=STSv1 ;\tid=abc ; ext_1=val.ue"))).contains(new StsRecord("abc"));
        assertThat(StsRecord.pick(List.of("v=spf1 -all", "v=STSv1; id=a1"))).as("other TXT records are not ours")
                .contains(new StsRecord("a1"));
        assertThat(StsRecord.pick(List.of("v=STSv1; id=" + "a".repeat(32)))).isPresent();
    }

    @Test void noneWhenNotExactlyOneValidRecord() {
        assertThat(StsRecord.pick(List.of())).isEmpty();
        assertThat(StsRecord.pick(List.of("v=STSv1; id=a", "v=STSv1; id=b"))).as("two records").isEmpty();
        for (String bad : List.of("v=STSv1;", "v=STSv1; id=", "v=STSv1; id=" + "a".repeat(33), "v=STSv1; id=a-b",
                "v=STSv1; id=a; id=b", "v=STSv10; id=a", "v=STSv1; id=a; =x", "v=STSv1; id=a; x=a=b",
                "v=STSv1; id=a;; x=1", " v=STSv1; id=a", "id=a; v=STSv1")) {
            assertThat(StsRecord.pick(List.of(bad))).as(bad).isEmpty();
        }
    }
}
