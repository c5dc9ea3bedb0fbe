package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 6125 name matching, table-driven: presented identifiers against reference patterns. */
class NameMatcherTest {

    @ParameterizedTest(name = "[{index}] cert {0} vs reference {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            # certificate name       | reference (policy)     | matches
            mx.example.com           | mx.example.com         | true
            mx.example.com           | MX.Example.COM.        | true
            mx.example.com.          | mx.example.com         | true
            mx.example.com           | example.com            | false
            mx.example.com           | mx.example.co          | false
            # a wildcard is the whole left-most label and stands for exactly one label
            *.example.com            | mx.example.com         | true
            *.example.com            | example.com            | false
            *.example.com            | a.b.example.com        | false
            # no partial wildcards, no wildcard elsewhere, none over a single label
            f*.example.com           | foo.example.com        | false
            *oo.example.com          | foo.example.com        | false
            f*o.example.com          | foo.example.com        | false
            mx.*.example.com         | mx.a.example.com       | false
            *.*.example.com          | a.b.example.com        | false
            *.com                    | example.com            | false
            *                        | example                | false
            # dot-nexthop: the domain and every name below it
            example.com              | .example.com           | true
            mx.example.com           | .example.com           | true
            a.b.example.com          | .example.com           | true
            *.example.com            | .example.com           | true
            f*.example.com           | .example.com           | false
            *.com                    | .com                   | false
            badexample.com           | .example.com           | false
            example.com.evil.test    | .example.com           | false
            # one label under a parent
            mx.example.com           | *.example.com          | true
            *.example.com            | *.example.com          | true
            a.b.example.com          | *.example.com          | false
            example.com              | *.example.com          | false
            f*.example.com           | *.example.com          | false
            # IDN: references are compared as A-labels (UTS #46), presented names are A-labels
            xn--bcher-kva.example    | bücher.example         | true
            xn--bcher-kva.example    | BÜCHER.example         | true
            *.xn--bcher-kva.example  | mx.bücher.example      | true
            xn--bcher-kva.example    | .bücher.example        | true
            xn--strae-oqa.example    | straße.example         | true
            strasse.example          | straße.example         | false
            bücher.example           | bücher.example         | false
            # an IP literal reference never matches a DNS name
            192.0.2.1                | 192.0.2.1              | false
            192.0.2.1                | [192.0.2.1]            | false
            """)
    void presentedAgainstReference(String certName, String reference, boolean matches) {
        assertThat(NameMatcher.firstMatch(List.of(certName), List.of(reference))).isEqualTo(matches ? certName : null);
    }

    @ParameterizedTest(name = "[{index}] IP SAN {0} vs reference {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.1    | 192.0.2.1              | true
            192.0.2.1    | [192.0.2.1]            | true
            192.0.2.1    | 192.0.2.10             | false
            2001:db8::1  | 2001:db8:0:0:0:0:0:1   | true
            2001:db8::1  | [2001:db8::1]          | true
            2001:db8::1  | 2001:db8::2            | false
            192.0.2.1    | mx.example.com         | false
            """)
    void ipLiteralsMatchIpAddressSansOnly(String certIp, String reference, boolean matches) {
        var cert = TestPki.cert("host").ip(certIp).dns("mx.example.com.invalid").build().cert();
        List<String> ips = NameMatcher.ipAddresses(cert);
        assertThat(NameMatcher.firstMatch(List.of(), ips, List.of(reference)) != null).isEqualTo(matches);
    }

    @Test void commonNameCountsOnlyWithoutDnsNames() {
        var withSan = TestPki.cert("cn.example.com").dns("san.example.com").build().cert();
        assertThat(NameMatcher.names(withSan)).containsExactly("san.example.com");
        var cnOnly = TestPki.cert("CN.Example.COM").build().cert();
        assertThat(NameMatcher.names(cnOnly)).containsExactly("cn.example.com");
        // an IP address SAN is no DNS name: the CN still counts, but an IP literal reference never looks at it
        var cnAndIp = TestPki.cert("192.0.2.7").ip("192.0.2.8").build().cert();
        assertThat(NameMatcher.names(cnAndIp)).containsExactly("192.0.2.7");
        assertThat(NameMatcher.firstMatch(NameMatcher.names(cnAndIp), NameMatcher.ipAddresses(cnAndIp),
                List.of("192.0.2.7"))).isNull();
        assertThat(NameMatcher.firstMatch(NameMatcher.names(cnAndIp), NameMatcher.ipAddresses(cnAndIp),
                List.of("192.0.2.8"))).isEqualTo("192.0.2.8");
        // a Unicode CN (found in old certificates) is compared as A-labels
        var unicodeCn = TestPki.cert("mx.bücher.example").build().cert();
        assertThat(NameMatcher.names(unicodeCn)).containsExactly("mx.xn--bcher-kva.example");
    }
}
