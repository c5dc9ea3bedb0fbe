package dev.postern.names;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class DomainsTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "example.com, example.com",
            "Example.COM., example.com",
            "bücher.example, xn--bcher-kva.example",
            "BÜCHER.Example, xn--bcher-kva.example",
            "XN--BCHER-KVA.example, xn--bcher-kva.example",
            // IDNA2008 (non-transitional): ß and ς are kept, not mapped as java.net.IDN (IDNA2003) does
            "straße.de, xn--strae-oqa.de",
            "faß.de, xn--fa-hia.de",
            // full-width and ideographic full stops are label separators under UTS #46
            "bücher。example, xn--bcher-kva.example",
            "bücher.example。, xn--bcher-kva.example",
            "BÜCHER．Example., xn--bcher-kva.example",
            "ｅｘａｍｐｌｅ.com, example.com",
            "_dmarc.example.com, _dmarc.example.com",
            "r3---sn-abc.example, r3---sn-abc.example",
            "münchen.xn--bcher-kva.example, xn--mnchen-3ya.xn--bcher-kva.example",
    })
    void normalisesToLookupForm(String in, String expected) throws Exception {
        assertThat(Domains.toAscii(in)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "a..b", ".example.com", "-a.example", "a-.example", "ex ample.com",
            "example.123", "a@b.example", "xn--zz.example", "exa\u0000mple.com", "\u200dexample.com",
            "bücher.example。.", "bücher。。example", "。bücher.example",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"})
    void refusesInvalidNames(String in) {
        assertThatThrownBy(() -> Domains.toAscii(in)).isInstanceOf(InvalidDomainException.class);
        assertThat(Domains.toAsciiOrNull(in)).isNull();
    }

    @Test
    void refusesOverlongNames() {
        String name = ("a".repeat(60) + ".").repeat(5) + "example";
        assertThatThrownBy(() -> Domains.toAscii(name)).hasMessageContaining("too long");
    }

    @Test
    void unicodeFormForDisplay() {
        assertThat(Domains.toUnicode("xn--bcher-kva.example")).isEqualTo("bücher.example");
        assertThat(Domains.toUnicode("example.com")).isEqualTo("example.com");
        assertThat(Domains.toUnicode("xn--zz.example")).isEqualTo("xn--zz.example");
    }

    @Test
    void subdomainTest() {
        assertThat(Domains.isSubdomainOrSame("mx.example.com", "example.com")).isTrue();
        assertThat(Domains.isSubdomainOrSame("example.com", "example.com")).isTrue();
        assertThat(Domains.isSubdomainOrSame("badexample.com", "example.com")).isFalse();
        assertThat(Domains.isSubdomainOrSame("com", "example.com")).isFalse();
    }
}
