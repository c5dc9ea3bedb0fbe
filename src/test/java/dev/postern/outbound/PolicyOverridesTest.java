package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Override keys match destination domains exactly as static policy keys do; the most specific active one wins. */
class PolicyOverridesTest {
    @TempDir Path data;

    private static final Instant NOW = Instant.now(); // set() drops overrides expired by the wall clock

    private PolicyOverrides.Override override(String key, TlsLevel level, Instant until) {
        return new PolicyOverrides.Override(key, level, until, NOW.minusSeconds(60), "admin", "ticket " + key);
    }

    /** key, destination, whether the key applies; the same table for a static policy entry and for an override. */
    @ParameterizedTest(name = "{0} -> {1}: {2}")
    @CsvSource({
            ".example.com,   mx.example.com,     true",
            ".example.com,   a.b.example.com,    true",
            ".example.com,   MX.Example.COM,     true",
            ".example.com,   example.com,        false",
            ".example.com,   notexample.com,     false",
            ".example.com,   mx.example.com.evil, false",
            "example.com,    example.com,        true",
            "example.com,    mx.example.com,     false",
            "mx.example.com, mx.example.com,     true",
            "mx.example.com, example.com,        false",
            "mx.example.com, a.mx.example.com,   false",
            ".com,           example.com,        true",
    })
    void overridesMatchLikeStaticEntries(String key, String domain, boolean applies) throws IOException {
        new PolicyOverrides(data).set(override(key, TlsLevel.NONE, NOW.plusSeconds(3600)));
        Config.OutboundTls statics = new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                Map.of(key, TlsPolicy.of(TlsLevel.SECURE)));
        // the static table decides whether the key applies; the override must agree
        assertThat(statics.entryFor(domain).isPresent()).as("static entry").isEqualTo(applies);
        assertThat(new PolicyOverrides(data).active(domain, NOW).isPresent()).as("override").isEqualTo(applies);

        TlsPolicies.Resolved r = new TlsPolicies(statics, new PolicyOverrides(data)).resolve(domain, NOW);
        assertThat(r.policy().level()).isEqualTo(applies ? TlsLevel.NONE : TlsLevel.MAY);
        assertThat(r.override().isPresent()).isEqualTo(applies);
    }

    @Test void theMostSpecificActiveKeyWinsAndAnExpiredOneHidesNothing() throws IOException {
        PolicyOverrides o = new PolicyOverrides(data);
        o.set(override(".example.com", TlsLevel.MAY, NOW.plusSeconds(3600)));
        o.set(override(".b.example.com", TlsLevel.ENCRYPT, NOW.plusSeconds(3600)));
        o.set(override("a.b.example.com", TlsLevel.NONE, NOW.minusSeconds(1))); // expired
        assertThat(level(o, "a.b.example.com")).contains(TlsLevel.ENCRYPT);
        assertThat(level(o, "x.b.example.com")).contains(TlsLevel.ENCRYPT);
        assertThat(level(o, "c.example.com")).contains(TlsLevel.MAY);
        assertThat(level(o, "b.example.com")).contains(TlsLevel.MAY);
        assertThat(level(o, "example.com")).isEmpty();
    }

    @Test void aSuffixOverrideIsNamedInTheSource() throws IOException {
        new PolicyOverrides(data).set(override(".example.com", TlsLevel.MAY, NOW.plusSeconds(3600)));
        Config.OutboundTls statics = new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                Map.of("mx.example.com", TlsPolicy.of(TlsLevel.SECURE)));
        TlsPolicies.Resolved r = new TlsPolicies(statics, new PolicyOverrides(data)).resolve("mx.example.com", NOW);
        assertThat(r.policy().level()).isEqualTo(TlsLevel.MAY);
        assertThat(r.source()).startsWith("override \".example.com\" (level may until ")
                .endsWith("over static entry \"mx.example.com\"");
    }

    private static Optional<TlsLevel> level(PolicyOverrides o, String domain) {
        return o.active(domain, NOW).map(PolicyOverrides.Override::level);
    }
}
