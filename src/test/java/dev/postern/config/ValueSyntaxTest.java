package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.config.Config.Listener;
import dev.postern.config.Config.Network;
import dev.postern.config.Config.Role;
import dev.postern.config.Config.Route;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ValueSyntaxTest {
    @ParameterizedTest
    @CsvSource({"30s, PT30S", "5m, PT5M", "1h, PT1H", "5d, PT120H", "2w, PT336H", "1h30m, PT1H30M", "250ms, PT0.25S",
            "PT5M, PT5M", "P1D, PT24H"})
    void durations(String text, String iso) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "5", "5M", "5 m", "m", "-5m", "5W", "P", "1.5h", "5m30"})
    void badDurations(String text) {
        assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a duration like 30s, 5m, 1h, 7d, 2w or PT5M, got " + Syntax.quote(text));
    }

    @Test
    void formats() {
        assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
        assertThat(Durations.format(Duration.ofDays(365))).isEqualTo("365d");
        assertThat(Syntax.formatSize(50L << 20)).isEqualTo("50MB");
        assertThat(Syntax.formatSize(1000)).isEqualTo("1000");
        assertThat(Syntax.size("50MB", "x")).isEqualTo(50L << 20);
        assertThat(Syntax.size("3kib", "x")).isEqualTo(3072);
        assertThat(Syntax.size("99999999999GB", "x")).isEqualTo(-1);
        assertThat(Syntax.quote("a\"b\\c\n")).isEqualTo("\"a\\\"b\\\\c\\n\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "mail.example.com", "a-b.c0", "xn--bcher-kva.example", "1mail.example"})
    void hostNames(String name) {
        assertThat(Syntax.isHostName(name)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-a.example", "a-.example", "a..example", "example.com.", "a_b.example",
            "192.0.2.1", "mail.example.123"})
    void notHostNames(String name) {
        assertThat(Syntax.isHostName(name)).isFalse();
    }

    @Test
    void ipLiteralsNeverTouchDns() {
        assertThat(Syntax.ipLiteral("192.0.2.1")).isNotNull();
        assertThat(Syntax.ipLiteral("2001:db8::1")).isNotNull();
        assertThat(Syntax.ipLiteral("127.1")).isNull();
        assertThat(Syntax.ipLiteral("010.0.0.1")).isNull();
        assertThat(Syntax.ipLiteral("256.0.0.1")).isNull();
        assertThat(Syntax.ipLiteral("localhost")).isNull();
    }

    @Test
    void listenerAddresses() throws Exception {
        assertThat(Listener.parseAddress("[::]:25").getAddress()).isEqualTo(InetAddress.getByName("::"));
        assertThat(Listener.parseAddress("127.0.0.1:2525").getPort()).isEqualTo(2525);
        assertThatThrownBy(() -> Listener.parseAddress("25")).hasMessage("expected host:port, got \"25\"");
        assertThatThrownBy(() -> Listener.parseAddress("[127.0.0.1]:25"))
                .hasMessage("expected an IPv6 address inside [ ], got \"[127.0.0.1]:25\"");
        assertThatThrownBy(() -> Listener.parseAddress("0.0.0.0:x"))
                .hasMessage("expected host:port, got \"0.0.0.0:x\"");
        assertThat(Listener.parseRole("SUBMISSIONS")).isEqualTo(Role.SUBMISSIONS);
        assertThatThrownBy(() -> Listener.parseRole("smtp"))
                .hasMessage("expected mx, submission or submissions, got \"smtp\"");
    }

    @Test
    void networks() throws Exception {
        Network n = Network.parse("192.0.2.0/24");
        assertThat(n.contains(InetAddress.getByName("192.0.2.200"))).isTrue();
        assertThat(n.contains(InetAddress.getByName("192.0.3.1"))).isFalse();
        assertThat(n.contains(InetAddress.getByName("::1"))).isFalse();
        assertThat(Network.parse("::1")).isEqualTo(new Network(InetAddress.getByName("::1").getAddress(), 128));
        assertThat(Network.parse("0.0.0.0/0").contains(InetAddress.getByName("203.0.113.9"))).isTrue();
        assertThat(Network.parse("2001:db8:0:1::/64")).hasToString("2001:db8:0:1::/64");
        assertThat(Network.parse("2001:0:0:1:0:0:0:0/128")).hasToString("2001:0:0:1::/128");
        assertThat(Network.parse("::/0")).hasToString("::/0");
        assertThatThrownBy(() -> Network.parse("192.0.2.1/23")).hasMessage(
                "expected a network address with the bits beyond /23 zero, got \"192.0.2.1/23\" "
                        + "(did you mean \"192.0.2.0/23\"?)");
        assertThatThrownBy(() -> Network.parse("::ffff:192.0.2.0/120"))
                .hasMessage("expected an IPv4-mapped network written as IPv4, like 192.0.2.0/24, "
                        + "got \"::ffff:192.0.2.0/120\"");
    }

    @Test
    void routes() {
        assertThat(Route.parse("[192.0.2.10]", 2525)).isEqualTo(new Route("192.0.2.10", 2525, false));
        assertThat(Route.parse("[Relay.Example]:587", 25)).isEqualTo(new Route("relay.example", 587, false));
        assertThat(Route.parse("relay.example", 25)).isEqualTo(new Route("relay.example", 25, true));
        assertThat(Route.parse("relay.example:26", 25)).isEqualTo(new Route("relay.example", 26, true));
        for (String bad : List.of("[192.0.2.10", "[192.0.2.10]25", "[bad_name]", "", "relay.example:", "[]:25")) {
            assertThatThrownBy(() -> Route.parse(bad, 25)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("expected a next hop like");
        }
    }

    @Test
    void dnsServers() throws Exception {
        assertThat(Config.Dns.parseServer("::1").getPort()).isEqualTo(53);
        assertThat(Config.Dns.parseServer("[::1]").getPort()).isEqualTo(53);
        assertThat(Config.Dns.parseServer("[::1]:5353").getAddress()).isEqualTo(InetAddress.getByName("::1"));
        assertThat(Config.Dns.parseServer("192.0.2.1:5353").getPort()).isEqualTo(5353);
        assertThatThrownBy(() -> Config.Dns.parseServer("192.0.2.1:0")).hasMessageContaining("port from 1 to 65535");
    }

    @Test
    void suggestions() {
        List<String> keys = List.of("listeners", "limits", "local_domains", "max_message_size");
        assertThat(Suggestions.closest("lisenters", keys)).contains("listeners");
        assertThat(Suggestions.closest("maxMessageSize", keys)).contains("max_message_size");
        assertThat(Suggestions.closest("limtis", keys)).contains("limits");
        assertThat(Suggestions.closest("colour", keys)).isEmpty();
        assertThat(Suggestions.distance("abcd", "acbd")).isEqualTo(1);
    }
}
