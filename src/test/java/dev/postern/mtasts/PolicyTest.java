package dev.postern.mtasts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** RFC 8461 §3.2 policy parsing and §4.1 MX matching. */
class PolicyTest {

    @Test void parsesCrlfAndLfIgnoringUnknownKeys() throws Exception {
        Policy crlf = Policy.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                + "max_age: 86400\r\nfuture_key: whatever\r\n");
        assertThat(crlf.mode()).isEqualTo(Policy.Mode.ENFORCE);
        assertThat(crlf.mx()).containsExactly("mail.example.com", "*.example.net");
        assertThat(crlf.maxAge()).isEqualTo(86400);
        Policy lf = Policy.parse("version: STSv1\nmode: testing\nmx:   MX.Example.COM  \nmax_age: 0");
        assertThat(lf.mode()).isEqualTo(Policy.Mode.TESTING);
        assertThat(lf.mx()).containsExactly("mx.example.com");
        assertThat(Policy.parse("version: STSv1\nmode: none\nmax_age: 31557600\n").mode()).isEqualTo(Policy.Mode.NONE);
    }

    /** Found by PolicyFuzzTest (its input is committed): a bare CR came back in the reason, raw. */
    @Test void refusesControlCharacters() {
        assertThatThrownBy(() -> Policy.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
                + "mx: *.example.\rnet\nmax_age: 86400\r\n")).isInstanceOf(Policy.InvalidPolicyException.class)
                .hasMessage("line 4 holds a control character");
        assertThatThrownBy(() -> Policy.parse("version: STSv1\nmode: enforce\u0000\nmx: a.example\nmax_age: 1\n"))
                .hasMessage("line 2 holds a control character");
    }

    @Test void refusesInvalidPolicies() {
        String[][] bad = {
                {"mode: enforce\nmx: a.example\nmax_age: 1\n", "no version"},
                {"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", "not STSv1"},
                {"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", "mode is not"},
                {"version: STSv1\nmx: a.example\nmax_age: 1\n", "no mode"},
                {"version: STSv1\nmode: enforce\nmx: a.example\n", "no max_age"},
                {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", "max_age"},
                {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", "max_age"},
                {"version: STSv1\nmode: enforce\nmax_age: 60\n", "no mx"},
                {"version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 60\n", "twice"},
                {"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 60\n", "mx a..example"},
                {"<html>not a policy</html>\n", "line 1"},
        };
        for (String[] b : bad) {
            assertThatThrownBy(() -> Policy.parse(b[0])).as(b[0]).isInstanceOf(Policy.InvalidPolicyException.class)
                    .hasMessageContaining(b[1]);
        }
    }

    @Test void wildcardCoversExactlyOneLeftMostLabel() throws Exception {
        Policy p = Policy.parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 60\n");
        assertThat(p.allows("mail.example.com")).isTrue();
        assertThat(p.allows("MAIL.example.com")).isTrue();
        assertThat(p.allows("mx1.example.net")).isTrue();
        assertThat(p.allows("example.net")).isFalse();
        assertThat(p.allows("a.b.example.net")).isFalse();
        assertThat(p.allows("other.example.com")).isFalse();
        assertThat(p.allows("mail.example.com.evil.test")).isFalse();
    }

    @Test void anMxHostNamedLikeAWildcardMatchesNoPattern() throws Exception {
        // An MX target is a host name, never a pattern: "*.example.com" (a label "*" an insecure MX answer may carry)
        // is not "mail.example.com", nor "any one label under example.net".
        Policy p = Policy.parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 60\n");
        assertThat(p.allows("*.example.com")).isFalse();
        assertThat(p.allows("*.example.net")).isFalse();
    }
}
