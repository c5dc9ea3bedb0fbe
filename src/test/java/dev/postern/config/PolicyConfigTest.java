package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TLS policy keys: outbound_tls, listener TLS, partners, relay_clients. */
class PolicyConfigTest {
    @TempDir Path dir;

    private Config load(String toml) throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, toml);
        return ConfigLoader.load(f);
    }

    private List<String> problems(String toml) throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, toml);
        try {
            ConfigLoader.load(f);
        } catch (ConfigException e) {
            return e.problems().stream().map(p -> p.substring(p.indexOf(": ") + 2)).toList();
        }
        throw new AssertionError("expected problems");
    }

    @Test void fullPolicyLoads() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "not checked at load time beyond readability");
        Config c = load("""
                [outbound_tls.default]
                level = "encrypt"
                [outbound_tls."bank.example"]
                level = "secure"
                mode = "testing"
                min_protocol = "TLSv1.3"
                ciphers = ["TLS_AES_256_GCM_SHA384"]
                min_cipher_bits = 256
                min_key_bits = 3072
                match = ["*.Mail.Vendor.example", ".bank.example"]
                ca_file = "ca.pem"
                [outbound_tls.".pinned.example"]
                level = "fingerprint"
                fingerprints = ["sha256:AB:%s"]
                [[listeners]]
                address = "127.0.0.1:2526"
                role = "mx"
                require_tls = true
                client_certificate = "require"
                client_ca_file = "ca.pem"
                min_cipher_bits = 256
                [[partners]]
                name = "partner.example"
                sender_domains = ["partner.example"]
                networks = ["192.0.2.0/24"]
                require_client_certificate = true
                [[relay_clients]]
                fingerprints = ["%s"]
                """.formatted("cd".repeat(31), "ef".repeat(32)));
        assertThat(c.outboundTls().defaultPolicy().level()).isEqualTo(Config.TlsLevel.ENCRYPT);
        Config.TlsPolicy bank = c.outboundTls().entryFor("bank.example").orElseThrow().getValue();
        assertThat(bank.level()).isEqualTo(Config.TlsLevel.SECURE);
        assertThat(bank.mode()).isEqualTo(Config.PolicyMode.TESTING);
        assertThat(bank.minProtocol()).isEqualTo("TLSv1.3");
        assertThat(bank.minCipherBits()).isEqualTo(256);
        assertThat(bank.minKeyBits()).isEqualTo(3072);
        assertThat(bank.match()).containsExactly("*.mail.vendor.example", ".bank.example");
        assertThat(bank.caFile()).isEqualTo(dir.resolve("ca.pem"));
        Config.TlsPolicy pinned = c.outboundTls().entryFor("mx.pinned.example").orElseThrow().getValue();
        assertThat(pinned.fingerprints()).containsExactly("ab" + "cd".repeat(31));
        assertThat(c.outboundTls().entryFor("other.example")).isEmpty();
        Config.Listener l = c.listeners().getFirst();
        assertThat(l.requiresTls()).isTrue();
        assertThat(l.tls().clientCertificate()).isEqualTo(Config.ClientCertificates.REQUIRE);
        assertThat(l.tls().minCipherBits()).isEqualTo(256);
        assertThat(c.inbound().partners().getFirst().requireTls()).isTrue();
        assertThat(c.inbound().partners().getFirst().requireClientCertificate()).isTrue();
        assertThat(c.inbound().relayClients().getFirst().fingerprints()).containsExactly("ef".repeat(32));
    }

    /** Without min_key_bits a policy takes its level's default floor (RSA 2048 / EC 256 from encrypt up); 0 is none. */
    @Test void minKeyBitsDefaultsToTheLevelsFloor() throws Exception {
        Config c = load("""
                [outbound_tls."floor.example"]
                level = "secure"
                [outbound_tls."nofloor.example"]
                level = "secure"
                min_key_bits = 0
                """);
        assertThat(c.outboundTls().entryFor("floor.example").orElseThrow().getValue().minKeyBits())
                .isEqualTo(Config.TlsPolicy.LEVEL_KEY_FLOOR);
        assertThat(c.outboundTls().entryFor("nofloor.example").orElseThrow().getValue().minKeyBits()).isZero();
        assertThat(c.outboundTls().defaultPolicy().minKeyBits()).isEqualTo(Config.TlsPolicy.LEVEL_KEY_FLOOR);
    }

    /** The docs promise IP addresses in match (for a route to [192.0.2.10]); NameMatcher compares them to IP SANs. */
    @Test void matchTakesIpAddresses() throws Exception {
        Config c = load("""
                [outbound_tls."ip.example"]
                level = "verify"
                match = ["192.0.2.10", "[2001:DB8:0:0::1]", "2001:db8::2", "mx.ip.example"]
                """);
        assertThat(c.outboundTls().entryFor("ip.example").orElseThrow().getValue().match())
                .containsExactly("192.0.2.10", "2001:db8::1", "2001:db8::2", "mx.ip.example");
        assertThat(problems("""
                [outbound_tls."ip.example"]
                level = "verify"
                match = ["192.0.2.256", "[mx.ip.example]"]
                """)).containsExactly(
                "outbound_tls.\"ip.example\".match[0]: expected a name pattern like mx.example.com, *.example.com or "
                        + ".example.com, or an IP address, got \"192.0.2.256\"",
                "outbound_tls.\"ip.example\".match[1]: expected a name pattern like mx.example.com, *.example.com or "
                        + ".example.com, or an IP address, got \"[mx.ip.example]\"");
    }

    /** dane: DANE where an MX host has DNSSEC-secure TLSA records, opportunistic (may) everywhere else. */
    @Test void defaultsAreDaneElseOpportunistic() throws Exception {
        Config c = load("");
        assertThat(c.outboundTls().defaultPolicy().level()).isEqualTo(Config.TlsLevel.DANE);
        assertThat(load("[outbound_tls.default]\nmode = \"testing\"\n").outboundTls().defaultPolicy().level())
                .isEqualTo(Config.TlsLevel.DANE);
        assertThat(c.inbound().partners()).isEmpty();
        assertThat(c.listeners().getFirst().tls()).isEqualTo(Config.ListenerTls.DEFAULT);
    }

    @Test void preciseProblems() throws Exception {
        assertThat(problems("""
                [outbound_tls."bank.example"]
                level = "paranoid"
                min_cipher_bits = 512
                ciphers = ["TLS_RSA_WITH_RC4_128_MD5_NOPE"]
                [outbound_tls."pin.example"]
                level = "fingerprint"
                [outbound_tls."verify.example"]
                level = "verify"
                fingerprints = ["%s"]
                [outbound_tls."nolevel.example"]
                mode = "strict"
                [[partners]]
                name = "p"
                [[relay_clients]]
                names = ["x.example"]
                """.formatted("0".repeat(64)))).containsExactly(
                "outbound_tls.\"bank.example\".level: expected none, may, encrypt, fingerprint, verify, secure, dane or dane-only, "
                        + "got \"paranoid\"",
                "outbound_tls.\"bank.example\".ciphers[0]: expected a cipher suite this JDK supports, like "
                        + "TLS_AES_256_GCM_SHA384, got \"TLS_RSA_WITH_RC4_128_MD5_NOPE\"",
                "outbound_tls.\"bank.example\".min_cipher_bits: expected an integer from 0 to 256, got 512",
                "outbound_tls.\"pin.example\".fingerprints: expected at least one fingerprint for level "
                        + "\"fingerprint\", got nothing",
                "outbound_tls.\"verify.example\".fingerprints: expected fingerprints only with level \"fingerprint\", "
                        + "got level \"verify\"",
                "outbound_tls.\"nolevel.example\".level: expected none, may, encrypt, fingerprint, verify, secure, dane or dane-only, "
                        + "got nothing",
                "outbound_tls.\"nolevel.example\".mode: expected enforce or testing, got \"strict\"",
                "partners[0].sender_domains: expected at least one of sender_domains, networks or client_names to "
                        + "recognise this partner by, got none",
                "relay_clients[0].fingerprints: expected fingerprints, or ca_file together with names, got neither");
    }

    @Test void listenerClientCertificateWords() throws Exception {
        assertThat(problems("""
                [[listeners]]
                address = "127.0.0.1:25"
                role = "mx"
                client_certificate = "always"
                require_tls = "yes"
                """)).containsExactly(
                "listeners[0].require_tls: expected true or false, got \"yes\"",
                "listeners[0].client_certificate: expected none, request or require, got \"always\"");
    }

    @Test void unknownPolicyKeyIsCaught() {
        assertThatThrownBy(() -> load("""
                [outbound_tls."bank.example"]
                level = "secure"
                min_cipher_bit = 256
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("min_cipher_bit: unknown key (did you mean \"min_cipher_bits\"?)");
    }
}
