package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class MailboxTest {

    @Test
    void simple() throws AddressException {
        Mailbox m = Mailbox.parse("John.Smith@Example.COM");
        assertThat(m).isEqualTo(new Mailbox("John.Smith", "Example.COM"));
        assertThat(m.domainKey()).isEqualTo("example.com");
        assertThat(m.toString()).isEqualTo("John.Smith@Example.COM");
        assertThat(m.address()).isEqualTo("John.Smith@example.com");
        assertThat(m.isAscii()).isTrue();
        assertThat(m.hasRoutingTricks()).isFalse();
    }

    @Test
    void quotedLocalPartKeepsQuotesAndEscapes() throws AddressException {
        Mailbox m = Mailbox.parse("\"john doe\"@example.com");
        assertThat(m.localPart()).isEqualTo("\"john doe\"");
        assertThat(m.hasRoutingTricks()).isTrue();
        Mailbox esc = Mailbox.parse("\"a\\\"b\\\\c@d>\"@example.com");
        assertThat(esc.localPart()).isEqualTo("\"a\\\"b\\\\c@d>\"");
        assertThat(esc.domain()).isEqualTo("example.com");
        assertThat(Mailbox.parse("\"\"@example.com").localPart()).isEqualTo("\"\"");
    }

    @ParameterizedTest
    @CsvSource({"user%other@example.com,true", "host!user@example.com,true", "a+tag@example.com,false",
            "o'brien@example.com,false", "{weird}~@example.com,false"})
    void routingTricks(String address, boolean tricky) throws AddressException {
        assertThat(Mailbox.parse(address).hasRoutingTricks()).isEqualTo(tricky);
    }

    @Test
    void utf8() throws AddressException {
        Mailbox m = Mailbox.parse("用户@例子.广告");
        assertThat(m.localPart()).isEqualTo("用户");
        assertThat(m.isAscii()).isFalse();
        assertThat(Mailbox.parse("ascii@bücher.example").isAscii()).isFalse();
        assertThat(Mailbox.parse("jörg@example.com").isAscii()).isFalse();
        assertThat(Mailbox.parse("\"jörg x\"@example.com").localPart()).isEqualTo("\"jörg x\"");
        assertThat(Mailbox.parse("USER@Bücher.EXAMPLE").domainKey()).isEqualTo("xn--bcher-kva.example");
    }

    /**
     * Every spelling of a domain gets one lookup form, at parse time (UTS #46: case, full-width and ideographic full
     * stops, a trailing dot), and IDNA2008 keeps ß: straße is not strasse.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a@bücher.example|xn--bcher-kva.example",
            "a@BÜCHER.Example|xn--bcher-kva.example",
            "a@Bücher.Example.|xn--bcher-kva.example",
            "a@ＢÜcher。example|xn--bcher-kva.example",
            "a@bücher．example｡|xn--bcher-kva.example",
            "a@XN--BCHER-KVA.example|xn--bcher-kva.example",
            "a@example.com.|example.com",
            "a@straße.example|xn--strae-oqa.example",
            "a@strasse.example|strasse.example",
            "a@[IPv6:2001:DB8::1]|[ipv6:2001:db8::1]",
    })
    void domainKeyIsTheLookupForm(String address, String key) throws AddressException {
        Mailbox m = Mailbox.parse(address);
        assertThat(m.domainKey()).isEqualTo(key);
        assertThat(m.domain()).as("as written").isEqualTo(address.substring(2));
        assertThat(m.address()).as("as stored and forwarded").isEqualTo("a@" + key);
        assertThat(m).isEqualTo(new Mailbox("a", address.substring(2)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a@xn--zz.example|bad domain: not a valid internationalised domain name (punycode)",
            "a@\u0301x.example|bad domain: not a valid internationalised domain name (leading combining mark)",
            "a@example.com..|bad domain: empty label",
            "a@bücher。。example|bad domain: empty label",
            "a@☃.example|bad domain: invalid character '☃'",
    })
    void invalidInternationalisedDomains(String address, String reason) {
        assertThatThrownBy(() -> Mailbox.parse(address)).isInstanceOf(AddressException.class).hasMessage(reason);
    }

    @Test
    void uLabelsAreMeasuredAsALabels() {
        // 60 characters, but 66 octets as an A-label
        assertThatThrownBy(() -> Mailbox.parse("a@" + "ü".repeat(60) + ".example"))
                .hasMessage("bad domain: not a valid internationalised domain name (label too long)");
        assertThatThrownBy(() -> new Mailbox("a", "xn--zz.example")).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a@[192.0.2.1]", "a@[255.255.255.255]", "a@[IPv6:2001:db8::1]", "a@[ipv6:::1]",
            "a@[IPv6:2001:db8:0:0:0:0:0:1]", "a@[IPv6:::ffff:192.0.2.1]", "a@[IPv6:1:2:3:4:5:6:192.0.2.1]",
            "a@[IPv6:::]", "a@[IPv6:1::]", "a@[IPv6:1:2:3:4:5:6:7::]", "a@localhost", "a@x-y.example",
            "a@1.example", "a@a.b.c.d.e.f"})
    void validDomains(String address) throws AddressException {
        assertThat(Mailbox.parse(address).domain()).isEqualTo(address.substring(2));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''|empty address",
            "nobody|missing domain",
            "nobody@|missing domain",
            "@example.com|empty local part",
            ".a@example.com|bad local part",
            "a.@example.com|bad local part",
            "a..b@example.com|bad local part",
            "a b@example.com|bad local part",
            "a(b)@example.com|bad local part",
            "\"unclosed@example.com|bad quoted local part",
            "\"a\"b@example.com|bad local part",
            "\"tab\there\"@example.com|bad quoted local part",
            "a@-x.example|bad domain: label starts or ends with a hyphen",
            "a@x-.example|bad domain: label starts or ends with a hyphen",
            "a@x..example|bad domain: empty label",
            "a@.example.com|bad domain: empty label",
            "a@under_score.example|bad domain: invalid character '_'",
            "a@exa mple.com|bad domain: invalid character U+0020",
            "a@b@c|bad domain: invalid character '@'",
            "a@[192.0.2.256]|bad IPv4 address literal",
            "a@[192.0.2]|bad IPv4 address literal",
            "a@[192.0.2.1|bad address literal",
            "a@[]|bad address literal",
            "a@[IPv6:2001:db8:::1]|bad IPv6 address literal",
            "a@[IPv6:1:2:3:4:5:6:7:8:9]|bad IPv6 address literal",
            "a@[IPv6:1:2:3:4:5:6:7]|bad IPv6 address literal",
            "a@[IPv6:12345::1]|bad IPv6 address literal",
            "a@[IPv6:g::1]|bad IPv6 address literal",
            "a@[IPv6:1:2:3:4:5:6:7:1.2.3.4]|bad IPv6 address literal",
            "a@[IPv6:1.2.3.4]|bad IPv6 address literal",
            "a@[x-foo:bar]|unsupported address literal",
            "a\uFFFDb@example.com|bad local part",
    })
    void invalid(String address, String reason) {
        assertThatThrownBy(() -> Mailbox.parse(address)).isInstanceOf(AddressException.class).hasMessage(reason);
    }

    @Test
    void lengthLimits() throws AddressException {
        String local64 = "l".repeat(64);
        assertThat(Mailbox.parse(local64 + "@example.com").localPart()).hasSize(64);
        assertThatThrownBy(() -> Mailbox.parse(local64 + "x@example.com")).hasMessage("local part too long");
        // 22 three-octet characters = 66 octets, though only 22 chars
        assertThatThrownBy(() -> Mailbox.parse("用".repeat(22) + "@example.com")).hasMessage("local part too long");

        String label63 = "d".repeat(63);
        assertThat(Mailbox.parse("a@" + label63 + ".example").domain()).startsWith(label63);
        assertThatThrownBy(() -> Mailbox.parse("a@" + label63 + "d.example")).hasMessage("domain label too long");

        // 253 characters is the longest name DNS can hold (255 octets on the wire)
        String domain253 = (label63 + ".").repeat(3) + "d".repeat(61);
        assertThat(domain253).hasSize(253);
        assertThat(Mailbox.parse("a@" + domain253).domain()).isEqualTo(domain253);
        assertThatThrownBy(() -> Mailbox.parse("a@" + domain253 + "d")).hasMessage("bad domain: domain too long");
        String domain255 = (label63 + ".").repeat(3) + "d".repeat(63);
        assertThatThrownBy(() -> Mailbox.parse("a@" + domain255 + "x")).hasMessage("domain too long");
    }
}
