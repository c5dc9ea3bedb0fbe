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
 * RFC 8689 §4.2.1: only the domain's own policy (or DANE) qualifies a hop for REQUIRETLS. The downgrade memory's floor
 * makes TLS required and a session verified, but it authenticates no MX host name (an unsigned MX answer may be an
 * attacker's, whose certificate is valid for his own host), so it must never qualify a hop by itself.
 */
class RequireTlsPlanTest {
    final TlsPlanner planner = new TlsPlanner();

    @Test void theMemoryFloorDoesNotQualifyAHopForRequireTls() throws Exception {
        TlsPolicies.Resolved testing = new TlsPolicies.Resolved("b.example", new TlsPolicy(TlsLevel.VERIFY,
                Config.PolicyMode.TESTING, "TLSv1.2", List.of(), 0, -1, List.of(), null, List.of(), null, null),
                "mta-sts policy id=two mode=testing", Optional.empty(), TlsPolicies.SourceKind.DEFAULT);
        TlsPlanner.Floor floor = new TlsPlanner.Floor("b.example", Level.VERIFIED, Instant.EPOCH, true);
        TlsPlanner.Plan p = planner.plan(testing, "mx.b.example", null, floor);
        assertThat(p.required()).as("the floor makes TLS required").isTrue();
        assertThat(p.requireTlsRefusal()).isEqualTo("the TLS policy for b.example is verify in testing mode, which "
                + "does not verify the next hop");
        TlsPlanner.Plan may = planner.plan(new TlsPolicies.Resolved("b.example", TlsPolicy.of(TlsLevel.MAY),
                "default", Optional.empty(), TlsPolicies.SourceKind.DEFAULT), "mx.b.example", null, floor);
        assertThat(may.required()).isTrue();
        assertThat(may.requireTlsRefusal()).isNotNull();
        TlsPlanner.Plan verify = planner.plan(new TlsPolicies.Resolved("b.example", TlsPolicy.of(TlsLevel.VERIFY),
                "static", Optional.empty(), TlsPolicies.SourceKind.STATIC), "mx.b.example", null, floor);
        assertThat(verify.requireTlsRefusal()).isNull();
    }
}
