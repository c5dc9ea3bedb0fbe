package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Security;
import dev.postern.dns.TlsaRecord;
import dev.postern.dns.TlsaResult;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What the planner makes of a host's TLSA lookup under the DANE levels, REQUIRETLS included (RFC 8689 §4.2.1). */
class DanePlanTest {
    final TlsPlanner planner = new TlsPlanner();

    static TlsPolicies.Resolved resolved(TlsLevel level) {
        return new TlsPolicies.Resolved("b.example", TlsPolicy.of(level), "default", Optional.empty(),
                TlsPolicies.SourceKind.DEFAULT);
    }

    static TlsaLookup.Found.Secure secure(TlsaRecord... records) {
        return new TlsaLookup.Found.Secure(new TlsaResult("_25._tcp.mx.b.example", "_25._tcp.mx.b.example",
                List.of(records), Security.SECURE), "mx.b.example", "mx.b.example");
    }

    static final TlsaRecord DANE_EE = new TlsaRecord(3, 1, 1, new byte[32]);
    static final TlsaRecord PKIX_EE = new TlsaRecord(1, 1, 1, new byte[32]);

    @Test void secureUsableRecordsRequireTlsAndCarryRequireTls() throws Exception {
        TlsPlanner.Plan p = planner.plan(resolved(TlsLevel.DANE), "mx.b.example", secure(DANE_EE), null);
        assertThat(p.required()).isTrue();
        assertThat(p.attempt()).isTrue();
        assertThat(p.resolved().kind()).isEqualTo(TlsPolicies.SourceKind.DANE);
        assertThat(p.requireTlsRefusal()).isNull();
    }

    @Test void testingModeRecordsWhatDaneWouldRefuse() throws Exception {
        TlsPolicies.Resolved testing = new TlsPolicies.Resolved("b.example", new TlsPolicy(TlsLevel.DANE,
                dev.postern.config.Config.PolicyMode.TESTING, "TLSv1.2", List.of(), 0, -1, List.of(), null, List.of(),
                null, null), "default", Optional.empty(), TlsPolicies.SourceKind.DEFAULT);
        TlsPlanner.Plan p = planner.plan(testing, "mx.b.example", secure(DANE_EE), null);
        assertThat(p.required()).isFalse();
        assertThat(p.testing()).isTrue();
        assertThat(p.withoutTls("mx.b.example: does not offer STARTTLS").wouldFail())
                .containsExactly("mx.b.example: does not offer STARTTLS");
        assertThat(p.requireTlsRefusal()).isNotNull();
    }

    @Test void onlyUnusableRecordsRequireTlsButCannotCarryRequireTls() throws Exception {
        TlsPlanner.Plan p = planner.plan(resolved(TlsLevel.DANE), "mx.b.example", secure(PKIX_EE), null);
        assertThat(p.required()).isTrue();
        assertThat(p.requireTlsRefusal()).isEqualTo("the TLS policy for b.example is dane, which does not verify "
                + "the next hop");
    }

    @Test void withoutSecureRecordsDaneIsMayAndDaneOnlyRefusesTheHost() throws Exception {
        TlsaLookup.Found absent = new TlsaLookup.Found.Absent("the MX answer is not DNSSEC-secure");
        TlsPlanner.Plan p = planner.plan(resolved(TlsLevel.DANE), "mx.b.example", absent, null);
        assertThat(p.required()).isFalse();
        assertThat(p.attempt()).isTrue();
        assertThat(p.dane()).isNull();
        assertThat(p.resolved().source()).isEqualTo("default; DANE not applied: the MX answer is not DNSSEC-secure");
        assertThat(p.requireTlsRefusal()).isNotNull();
        assertThat(TlsPlanner.daneRefusal(resolved(TlsLevel.DANE), absent)).isNull();
        assertThat(TlsPlanner.daneRefusal(resolved(TlsLevel.DANE_ONLY), absent))
                .isEqualTo("no DNSSEC-secure TLSA records (level dane-only): the MX answer is not DNSSEC-secure");
        TlsaLookup.Found failed = new TlsaLookup.Found.Failed("TLSA lookup of _25._tcp.mx.b.example is bogus: x");
        assertThat(TlsPlanner.daneRefusal(resolved(TlsLevel.DANE), failed)).isEqualTo(failed.why());
        assertThat(TlsPlanner.usesDane(resolved(TlsLevel.VERIFY), false)).isFalse();
    }
}
