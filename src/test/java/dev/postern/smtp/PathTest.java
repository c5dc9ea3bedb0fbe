package dev.postern.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PathTest {

    @Test
    void reverseWithParams() throws AddressException {
        Path p = Path.parseReverse("FROM:<a@b.example> SIZE=1000 body=8BITMIME smtputf8");
        assertThat(p.mailbox()).isEqualTo(new Mailbox("a", "b.example"));
        assertThat(p.isNull()).isFalse();
        assertThat(p.sourceRoute()).isFalse();
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("SIZE", "1000");
        expected.put("BODY", "8BITMIME");
        expected.put("SMTPUTF8", null);
        assertThat(p.params()).containsExactlyEntriesOf(expected);
    }

    @Test
    void prefixIsCaseInsensitiveAndSpaceTolerated() throws AddressException {
        assertThat(Path.parseReverse("from:<a@b>").mailbox()).isEqualTo(new Mailbox("a", "b"));
        assertThat(Path.parseReverse("From: <a@b>").mailbox()).isEqualTo(new Mailbox("a", "b"));
        assertThat(Path.parseForward("to:<a@b>").mailbox()).isEqualTo(new Mailbox("a", "b"));
    }

    @Test
    void nullReversePath() throws AddressException {
        Path p = Path.parseReverse("FROM:<> BODY=7BIT");
        assertThat(p.isNull()).isTrue();
        assertThat(p.mailbox()).isNull();
        assertThat(p.params()).containsExactly(Map.entry("BODY", "7BIT"));
        assertThatThrownBy(() -> Path.parseForward("TO:<>")).hasMessage("null path not allowed here");
    }

    @Test
    void postmaster() throws AddressException {
        assertThat(Path.parseForward("TO:<postMASTER>").mailbox()).isEqualTo(new Mailbox("Postmaster", ""));
        assertThat(Path.parseForward("TO:<Postmaster@Example.com>").mailbox())
                .isEqualTo(new Mailbox("Postmaster", "Example.com"));
        assertThatThrownBy(() -> Path.parseReverse("FROM:<Postmaster>")).hasMessage("missing domain");
        assertThatThrownBy(() -> Path.parseForward("TO:<Postmasterx>")).hasMessage("missing domain");
    }

    /** Paths carry the lookup form of their domain from parsing on: MAIL and RCPT alike, source routes too. */
    @Test
    void internationalisedDomainsCarryTheirLookupForm() throws AddressException {
        Path rcpt = Path.parseForward("TO:<Jörg@BÜCHER.example.> NOTIFY=NEVER");
        assertThat(rcpt.mailbox().domain()).isEqualTo("BÜCHER.example.");
        assertThat(rcpt.mailbox().domainKey()).isEqualTo("xn--bcher-kva.example");
        assertThat(rcpt.mailbox().address()).isEqualTo("Jörg@xn--bcher-kva.example");
        assertThat(Path.parseReverse("FROM:<a@straße.example> SMTPUTF8").mailbox().domainKey())
                .isEqualTo("xn--strae-oqa.example");
        assertThat(Path.parseForward("TO:<@relay.example:u@ｂücher。example>").mailbox().domainKey())
                .isEqualTo("xn--bcher-kva.example");
        assertThatThrownBy(() -> Path.parseForward("TO:<u@xn--zz.example>"))
                .hasMessage("bad domain: not a valid internationalised domain name (punycode)");
        assertThatThrownBy(() -> Path.parseReverse("FROM:<u@xn--zz.example>"))
                .hasMessage("bad domain: not a valid internationalised domain name (punycode)");
    }

    @Test
    void sourceRouteStripped() throws AddressException {
        Path p = Path.parseForward("TO:<@a.example,@[192.0.2.1]:user@c.example> NOTIFY=NEVER");
        assertThat(p.mailbox()).isEqualTo(new Mailbox("user", "c.example"));
        assertThat(p.sourceRoute()).isTrue();
        assertThat(p.params()).containsExactly(Map.entry("NOTIFY", "NEVER"));
        assertThat(Path.parseReverse("FROM:<@[IPv6:::1]:u@d>").sourceRoute()).isTrue();
    }

    @Test
    void quotedLocalPartMayHoldBrackets() throws AddressException {
        Path p = Path.parseForward("TO:<\"a>b c\"@example.com> ORCPT=rfc822;x@y");
        assertThat(p.mailbox().localPart()).isEqualTo("\"a>b c\"");
        assertThat(p.params()).containsExactly(Map.entry("ORCPT", "rfc822;x@y"));
    }

    @Test
    void ipv6AndUtf8() throws AddressException {
        assertThat(Path.parseForward("TO:<x@[IPv6:2001:db8::5]>").mailbox().domain()).isEqualTo("[IPv6:2001:db8::5]");
        Path p = Path.parseReverse("FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8");
        assertThat(p.mailbox().isAscii()).isFalse();
        assertThat(p.params()).containsKey("SMTPUTF8");
    }

    @Test
    void multipleSpacesBetweenParams() throws AddressException {
        Path p = Path.parseReverse("FROM:<a@b>  SIZE=1   RET=HDRS");
        assertThat(p.params()).containsExactly(Map.entry("SIZE", "1"), Map.entry("RET", "HDRS"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "FROM:a@b|path must be in angle brackets",
            "FROM:<a@b|path must be in angle brackets",
            "FROM:|path must be in angle brackets",
            "FROM: a@b|path must be in angle brackets",
            "FROM<a@b>|syntax: expected FROM:<address>",
            "TO:<a@b>|syntax: expected FROM:<address>",
            "FROM:<a@b>SIZE=1|unexpected text after path",
            "FROM:<a@b> SIZE=|malformed parameter",
            "FROM:<a@b> =1|malformed parameter",
            "FROM:<a@b> -X=1|malformed parameter",
            "FROM:<a@b> X_Y=1|malformed parameter",
            "FROM:<a@b> SIZE=1=2|malformed parameter",
            "FROM:<a@b> SIZE=1 size=2|duplicate parameter SIZE",
            "FROM:<@:a@b>|bad source route",
            "FROM:<@a.example a@b>|bad source route",
            "FROM:<@a,b:c@d>|bad source route",
            "FROM:<@a:>|null path not allowed here",
            "FROM:<a@b@c>|bad domain: invalid character '@'",
    })
    void invalidReverse(String argument, String reason) {
        assertThatThrownBy(() -> Path.parseReverse(argument)).isInstanceOf(AddressException.class).hasMessage(reason);
    }

    @Test
    void controlCharacterInParamValue() {
        assertThatThrownBy(() -> Path.parseReverse("FROM:<a@b> ENVID=a\u0001b")).hasMessage("malformed parameter");
    }

    @Test
    void pathLengthLimit() throws AddressException {
        String label = "d".repeat(63);
        String domain = label + "." + label + "." + label + "." + "d".repeat(60); // 252 octets
        // "<" + 1 + "@" + 252 + ">" = 256
        assertThat(Path.parseForward("TO:<a@" + domain + ">").mailbox().domain()).isEqualTo(domain);
        assertThatThrownBy(() -> Path.parseForward("TO:<ab@" + domain + ">")).hasMessage("path too long");
        assertThatThrownBy(() -> Path.parseForward("TO:<" + "x".repeat(65) + "@b>")).hasMessage("local part too long");
    }

    /**
     * A path within 256 octets as written, whose forwarded form (A-labels are longer than their UTF-8) is not, is
     * refused: accepted, it could not be given to the next hop (found by AddressPropertiesTest).
     */
    @Test
    void pathTooLongAsForwardedIsRefused() throws AddressException {
        String label = "a".repeat(17) + "ü";
        String domain = String.join(".", java.util.Collections.nCopies(9, label)) + ".example";
        String written = "TO:<" + "l".repeat(60) + "@" + domain + ">";
        assertThat(Mailbox.octets(written.substring(3))).isEqualTo(250);
        assertThat(Mailbox.parse("l".repeat(60) + "@" + domain).address()).hasSize(302);
        assertThatThrownBy(() -> Path.parseForward(written)).hasMessage("path too long");
        assertThat(Path.parseForward("TO:<l@" + domain + ">").mailbox().address()).hasSize(243);
    }

    @Test
    void paramsAreImmutable() throws AddressException {
        Path p = Path.parseReverse("FROM:<a@b> SIZE=1");
        assertThatThrownBy(() -> p.params().put("X", "y")).isInstanceOf(UnsupportedOperationException.class);
    }
}
