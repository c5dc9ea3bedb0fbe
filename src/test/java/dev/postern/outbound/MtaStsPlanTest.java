package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.Policy;
import dev.postern.mtasts.PolicySource;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How TlsPolicies and TlsPlanner treat an MTA-STS policy: after override and static entry, before the default; the
 * MX filter; REQUIRETLS accepts an enforced policy; what the DANE planner needs to let DANE win.
 */
class MtaStsPlanTest {
    @TempDir java.nio.file.Path data;

    private static CachedPolicy sts(String mode) throws Exception {
        Instant now = Instant.now();
        return new CachedPolicy("b.example", "id1", Policy.parse("version: STSv1\nmode: " + mode
                + "\nmx: *.b.example\nmax_age: 600\n"), now, now.plusSeconds(600), null, null);
    }

    private TlsPolicies policies(Config.TlsLevel defaultLevel, Map<String, Config.TlsPolicy> entries,
                                 CachedPolicy policy) {
        PolicySource source = d -> d.equals("b.example") ? Optional.of(policy) : Optional.empty();
        return new TlsPolicies(new Config.OutboundTls(Config.TlsPolicy.of(defaultLevel), entries),
                new PolicyOverrides(data), source, null);
    }

    @Test void enforceIsVerifyWithTheMxFilterAndCarriesRequireTls() throws Exception {
        TlsPolicies.Resolved r = policies(Config.TlsLevel.DANE, Map.of(), sts("enforce"))
                .resolve("b.example", Instant.now());
        assertThat(r.kind()).isEqualTo(TlsPolicies.SourceKind.MTA_STS);
        assertThat(r.policy().level()).isEqualTo(Config.TlsLevel.VERIFY);
        assertThat(r.policy().mode()).isEqualTo(Config.PolicyMode.ENFORCE);
        assertThat(r.source()).startsWith("mta-sts policy id=id1 mode=enforce (fetched ");
        assertThat(r.beneath().level()).as("the DANE planner's cue: DANE wins for hosts with secure TLSA")
                .isEqualTo(Config.TlsLevel.DANE);
        TlsPlanner planner = new TlsPlanner();
        TlsPlanner.Plan inside = planner.plan(r, "mx1.b.example");
        assertThat(inside.required()).isTrue();
        assertThat(inside.mxMismatch()).isNull();
        assertThat(inside.requireTlsRefusal()).isNull();
        TlsPlanner.Plan outside = planner.plan(r, "mx.elsewhere.example");
        assertThat(outside.mxMismatch()).isEqualTo("MX host mx.elsewhere.example does not match the MTA-STS "
                + "policy's mx *.b.example (id=id1)");
        assertThat(planner.plan(r, "a.mx.b.example").mxMismatch()).as("one label only").isNotNull();
    }

    @Test void testingDeliversAsBeforeAndCannotCarryRequireTls() throws Exception {
        TlsPolicies.Resolved r = policies(Config.TlsLevel.MAY, Map.of(), sts("testing"))
                .resolve("b.example", Instant.now());
        TlsPlanner.Plan plan = new TlsPlanner().plan(r, "mx.elsewhere.example");
        assertThat(plan.required()).isFalse();
        assertThat(plan.testing()).isTrue();
        assertThat(plan.requireTlsRefusal()).contains("testing mode");
        assertThat(plan.withoutTls("no STARTTLS").wouldFail()).containsExactly("no STARTTLS",
                plan.mxMismatch());
    }

    @Test void staticEntriesAndOtherDomainsAreUntouched() throws Exception {
        TlsPolicies p = policies(Config.TlsLevel.MAY, Map.of("b.example",
                Config.TlsPolicy.of(Config.TlsLevel.ENCRYPT)), sts("enforce"));
        assertThat(p.resolve("b.example", Instant.now()).kind()).isEqualTo(TlsPolicies.SourceKind.STATIC);
        TlsPolicies.Resolved other = policies(Config.TlsLevel.MAY, Map.of(), sts("enforce"))
                .resolve("c.example", Instant.now());
        assertThat(other.kind()).isEqualTo(TlsPolicies.SourceKind.DEFAULT);
        assertThat(other.mtaSts()).isEmpty();
        assertThat(other.beneath()).isNull();
        assertThat(new TlsPlanner().plan(other, "mx.c.example").mxMismatch()).isNull();
    }
}
