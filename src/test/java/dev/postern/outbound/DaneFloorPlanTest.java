package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.peers.Level;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The downgrade memory's floor under a DANE plan: a level dane policy in testing mode requires nothing by itself, but a
 * refusing floor still does; without it a stripped STARTTLS would get the "may" retries (broad suites, clear text).
 */
class DaneFloorPlanTest {
    @Test void aRefusingFloorKeepsTlsRequiredUnderATestingDanePlan() throws Exception {
        TlsPolicies.Resolved testing = new TlsPolicies.Resolved("b.example", new TlsPolicy(TlsLevel.DANE,
                Config.PolicyMode.TESTING, "TLSv1.2", List.of(), 0, -1, List.of(), null, List.of(), null, null),
                "default", Optional.empty(), TlsPolicies.SourceKind.DEFAULT);
        TlsPlanner.Floor floor = new TlsPlanner.Floor("b.example", Level.ENCRYPTED, Instant.EPOCH, true);
        TlsPlanner.Plan p = new TlsPlanner().plan(testing, "mx.b.example", DanePlanTest.secure(DanePlanTest.DANE_EE),
                floor);
        assertThat(p.dane()).isNotNull();
        assertThat(p.testing()).isTrue();
        assertThat(p.required()).as("the floor's requirement survives the DANE plan").isTrue();
        assertThat(p.floor()).isEqualTo(floor);
        assertThat(p.requireTlsRefusal()).as("nor does the floor make the testing DANE plan carry REQUIRETLS")
                .isNotNull();
    }
}
