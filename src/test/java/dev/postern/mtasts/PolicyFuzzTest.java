package dev.postern.mtasts;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.tlsrpt.RuaRecord;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * Fuzz target: text from a domain's HTTPS server and DNS, read as an MTA-STS policy ({@link Policy#parse}), as an
 * {@code _mta-sts} TXT record ({@link StsRecord#pick}) and as an {@code _smtp._tls} TXT record
 * ({@link RuaRecord#pick}, whose grammar is the same). Invariants: a policy refused is an
 * {@link Policy.InvalidPolicyException} with a one-line reason, nothing else; a policy accepted has a mode, a max_age
 * of 0 to one year, mx patterns (at least one unless the mode is none) in lookup form that normalise to themselves and
 * that each allow a host they name; written back in RFC 8461 form it parses to the same policy. A record is either
 * absent or valid: its id 1 to 32 letters and digits, and written back it is read again the same; a TLS-RPT record has
 * at least one mailto or https target.
 */
class PolicyFuzzTest {

    @FuzzTest
    void policyAndRecords(byte[] input) {
        policy(new String(input, StandardCharsets.UTF_8)); // the body as PolicyFetcher decodes it
        String text = new String(input, StandardCharsets.ISO_8859_1); // a TXT record as DnsResolver gives it
        Optional<StsRecord> sts = StsRecord.pick(List.of(text));
        sts.ifPresent(r -> {
            assertThat(r.id()).matches("[A-Za-z0-9]{1,32}");
            assertThat(StsRecord.pick(List.of("v=STSv1; id=" + r.id() + ";"))).contains(r);
        });
        assertThat(StsRecord.pick(List.of(text, text))).as("two records are none").isEmpty();
        RuaRecord.pick(List.of(text)).ifPresent(r -> assertThat(r.rua()).isNotEmpty().allSatisfy(t -> {
            assertThat(t).isInstanceOfAny(RuaRecord.Mailto.class, RuaRecord.Https.class);
            assertThat(text).contains(t.uri());
        }));
    }

    private static void policy(String text) {
        Policy p;
        try {
            p = Policy.parse(text);
        } catch (Policy.InvalidPolicyException e) {
            assertThat(e.getMessage()).isNotBlank().doesNotContain("\n", "\r");
            return;
        }
        assertThat(p.text()).isEqualTo(text);
        assertThat(p.maxAge()).isBetween(0L, Policy.MAX_AGE_LIMIT);
        if (p.mode() != Policy.Mode.NONE) assertThat(p.mx()).isNotEmpty();
        StringBuilder again = new StringBuilder("version: STSv1\r\nmode: " + p.mode().word() + "\r\n");
        for (String mx : p.mx()) {
            assertThat(mx).matches("(\\*\\.)?[a-z0-9.-]+").doesNotEndWith(".");
            assertThat(Policy.mxPattern(mx)).isEqualTo(mx);
            String host = mx.startsWith("*.") ? "mx" + mx.substring(1) : mx;
            assertThat(p.allows(host)).as("%s allowed by %s", host, mx).isTrue();
            again.append("mx: ").append(mx).append("\r\n");
        }
        again.append("max_age: ").append(p.maxAge()).append("\r\n");
        Policy q;
        try {
            q = Policy.parse(again.toString());
        } catch (Policy.InvalidPolicyException e) {
            throw new AssertionError("written back:\n" + again + e.getMessage(), e);
        }
        assertThat(q.mode()).isEqualTo(p.mode());
        assertThat(q.mx()).isEqualTo(p.mx());
        assertThat(q.maxAge()).isEqualTo(p.maxAge());
    }
}
