package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.config.Config;
import dev.postern.outbound.PolicyOverrides;
import dev.postern.tls.Certificates;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.Pem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --json} of {@code policy show}, {@code policy overrides}, {@code cert show} and {@code cert check}: one JSON
 * document on standard output, parsed here with Jackson, with the fields docs/operations.md lists.
 */
class JsonOutputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;

    private static JsonNode parse(Cli.Result r) throws Exception {
        assertThat(r.err()).as(r.toString()).isEmpty();
        JsonNode n = JSON.readTree(r.out());
        assertThat(n.isObject()).as(r.out()).isTrue();
        return n;
    }

    private Path policyConfig() throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, """
                data_dir = "data"
                [outbound_tls."bücher.example"]
                level = "secure"
                min_cipher_bits = 256
                match = [".bücher.example"]
                """);
        return f;
    }

    @Test void policyShowOfAUnicodeDomainWithAnActiveOverride() throws Exception {
        Path f = policyConfig();
        Cli.Result set = Cli.run("policy", "override", "Bücher.example", "--level", "encrypt", "--until", "2h",
                "--reason", "their CA lapsed, ticket 99", "--config", f.toString());
        assertThat(set.exit()).as(set.toString()).isZero();

        Cli.Result r = Cli.run("policy", "show", "BÜCHER.example.", "--json", "--config", f.toString());
        assertThat(r.exit()).isZero();
        JsonNode j = parse(r);
        assertThat(j.get("domain").textValue()).isEqualTo("xn--bcher-kva.example");
        assertThat(j.get("unicode").textValue()).isEqualTo("bücher.example");
        assertThat(j.get("sourceKind").textValue()).isEqualTo("override");
        assertThat(j.get("level").textValue()).isEqualTo("encrypt");
        assertThat(j.get("mode").textValue()).isEqualTo("enforce");
        assertThat(j.get("minProtocol").textValue()).isEqualTo("TLSv1.2");
        assertThat(j.get("minCipherBits").intValue()).isEqualTo(256);
        assertThat(j.get("minKeyBits").isNull()).isTrue();
        assertThat(j.get("match").get(0).textValue()).isEqualTo(".xn--bcher-kva.example");
        assertThat(j.get("mtaSts").isNull()).isTrue();
        JsonNode o = j.get("override");
        assertThat(o.get("domain").textValue()).isEqualTo("xn--bcher-kva.example");
        assertThat(o.get("unicode").textValue()).isEqualTo("bücher.example");
        assertThat(o.get("level").textValue()).isEqualTo("encrypt");
        assertThat(o.get("active").booleanValue()).isTrue();
        assertThat(o.get("reason").textValue()).isEqualTo("their CA lapsed, ticket 99");
        Instant until = Instant.parse(o.get("until").textValue());
        assertThat(until).isBetween(Instant.now().plus(Duration.ofMinutes(119)), Instant.now().plus(Duration.ofHours(2)));
        Instant.parse(o.get("setAt").textValue());

        // the text form says the same, from the same record
        assertThat(Cli.run("policy", "show", "bücher.example", "--config", f.toString()).out())
                .contains("Outbound TLS policy for xn--bcher-kva.example (bücher.example)", "level:           encrypt",
                        "min cipher bits: 256", "ticket 99");

        JsonNode plain = parse(Cli.run("policy", "show", "other.example", "--json", "--config", f.toString()));
        assertThat(plain.get("sourceKind").textValue()).isEqualTo("default");
        assertThat(plain.get("level").textValue()).isEqualTo("dane");
        assertThat(plain.get("unicode").textValue()).isEqualTo("other.example");
        assertThat(plain.get("override").isNull()).isTrue();
    }

    @Test void overridesListsActiveAndExpiredOnes() throws Exception {
        Path f = policyConfig();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        PolicyOverrides overrides = new PolicyOverrides(dir.resolve("data"));
        overrides.set(new PolicyOverrides.Override("xn--bcher-kva.example", Config.TlsLevel.MAY,
                now.plus(Duration.ofDays(1)), now, "bob", "ticket 7"));
        // an override that ran out stays in the file until the next one is set (set() drops the expired ones)
        Path file = dir.resolve("data/policy/overrides");
        Files.writeString(file, Files.readString(file) + String.join("\t", "xn--strae-oqa.example", "dane-only",
                now.minus(Duration.ofHours(1)).toString(), now.minus(Duration.ofDays(1)).toString(), "alice",
                "long over") + "\n");

        Cli.Result r = Cli.run("policy", "overrides", "--json", "--config", f.toString());
        assertThat(r.exit()).isZero();
        JsonNode j = parse(r);
        Instant.parse(j.get("now").textValue());
        List<JsonNode> all = new ArrayList<>();
        j.get("overrides").forEach(all::add);
        assertThat(all).hasSize(2);
        JsonNode active = all.stream().filter(n -> n.get("active").booleanValue()).findFirst().orElseThrow();
        JsonNode expired = all.stream().filter(n -> !n.get("active").booleanValue()).findFirst().orElseThrow();
        assertThat(active.get("domain").textValue()).isEqualTo("xn--bcher-kva.example");
        assertThat(active.get("unicode").textValue()).isEqualTo("bücher.example");
        assertThat(active.get("level").textValue()).isEqualTo("may");
        assertThat(active.get("setBy").textValue()).isEqualTo("bob");
        assertThat(Instant.parse(active.get("until").textValue())).isEqualTo(now.plus(Duration.ofDays(1)));
        assertThat(expired.get("domain").textValue()).isEqualTo("xn--strae-oqa.example");
        assertThat(expired.get("unicode").textValue()).isEqualTo("straße.example");
        assertThat(expired.get("level").textValue()).isEqualTo("dane-only");
        assertThat(Instant.parse(expired.get("until").textValue())).isEqualTo(now.minus(Duration.ofHours(1)));

        // none: an empty list, not the text's "No overrides."
        Path empty = dir.resolve("empty.toml");
        Files.writeString(empty, "data_dir = \"empty-data\"\n");
        assertThat(parse(Cli.run("policy", "overrides", "--json", "--config", empty.toString())).get("overrides")
                .isEmpty()).isTrue();
    }

    @Test void certShowOfAChain() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial leaf = Certificates.issue(ca, List.of("mx.example.test", "192.0.2.1"), KeyType.RSA_2048,
                Instant.now().minus(Duration.ofDays(1)), Duration.ofDays(90));
        Path cert = dir.resolve("chain.pem");
        Pem.write(leaf, cert, dir.resolve("k.pem"));

        Cli.Result r = Cli.run("cert", "show", cert.toString(), "--json");
        assertThat(r.exit()).isZero();
        JsonNode j = parse(r);
        assertThat(j.get("file").textValue()).isEqualTo(cert.toString());
        JsonNode certs = j.get("certificates");
        assertThat(certs.size()).isEqualTo(2);
        JsonNode l = certs.get(0), c = certs.get(1);
        assertThat(l.get("index").intValue()).isEqualTo(1);
        assertThat(l.get("ca").booleanValue()).isFalse();
        assertThat(l.get("selfSigned").booleanValue()).isFalse();
        assertThat(l.get("subject").textValue()).isEqualTo("CN=mx.example.test");
        assertThat(JSON.convertValue(l.get("names"), List.class)).containsExactly("mx.example.test", "IP 192.0.2.1");
        assertThat(l.get("issuer").textValue()).isEqualTo("CN=Postern Test CA");
        assertThat(Instant.parse(l.get("notAfter").textValue()))
                .isEqualTo(leaf.leaf().getNotAfter().toInstant());
        Instant.parse(l.get("notBefore").textValue());
        assertThat(l.get("expiry").textValue()).isEqualTo("expires in 89 days");
        assertThat(l.get("keyType").textValue()).isEqualTo("RSA");
        assertThat(l.get("keyBits").intValue()).isEqualTo(2048);
        assertThat(l.get("key").textValue()).isEqualTo("RSA 2048 bits");
        assertThat(l.get("trusted").booleanValue()).isFalse();
        assertThat(l.get("trustProblem").textValue()).isNotBlank();
        assertThat(l.get("certSha256").textValue())
                .isEqualTo(PeerCheck.inspect(leaf.chain(), Set.of(), Instant.now()).certSha256()).hasSize(64);
        assertThat(c.get("index").intValue()).isEqualTo(2);
        assertThat(c.get("ca").booleanValue()).isTrue();
        assertThat(c.get("selfSigned").booleanValue()).isTrue();
        assertThat(c.get("keyStrength").intValue()).isEqualTo(3072);
        assertThat(c.get("trustProblem").textValue()).isEqualTo("self-signed");
        assertThat(c.get("keySha256").textValue())
                .isEqualTo(PeerCheck.inspect(ca.chain(), Set.of(), Instant.now()).keySha256());
        assertThat(r.out()).doesNotContain("PRIVATE");
    }

    @Test void aFailingCertCheckPrintsItsJsonAndExitsOne() throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority("Postern Test CA", KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial expired = Certificates.issue(ca, List.of("other.example.com"), KeyType.EC_P256,
                Instant.now().minus(Duration.ofDays(10)), Duration.ofDays(7));
        Path cert = dir.resolve("gw.pem"), key = dir.resolve("gw.key");
        Pem.write(expired, cert, key);
        Path config = dir.resolve("gw.toml");
        Files.writeString(config, "hostname = \"gw.example.com\"\ndata_dir = \"data\"\n[tls]\ncertificate = \"gw.pem\""
                + "\nkey = \"gw.key\"\nprovider = \"jdk\"\n");

        Cli.Result r = Cli.run("cert", "check", "--json", "--config", config.toString());
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        JsonNode j = parse(r);
        assertThat(j.get("ok").booleanValue()).isFalse();
        assertThat(j.get("problems").intValue()).isEqualTo(2);
        assertThat(j.get("hostname").textValue()).isEqualTo("gw.example.com");
        Instant.parse(j.get("now").textValue());
        JsonNode pair = j.get("certificates").get(0);
        assertThat(pair.get("certificate").textValue()).isEqualTo(cert.toString());
        assertThat(pair.get("key").textValue()).isEqualTo(key.toString());
        assertThat(pair.get("origin").textValue()).isEqualTo("from [tls]");
        assertThat(pair.get("subject").textValue()).isEqualTo("CN=other.example.com");
        assertThat(Instant.parse(pair.get("notAfter").textValue())).isEqualTo(expired.leaf().getNotAfter().toInstant());
        List<String> problems = new ArrayList<>();
        pair.get("findings").forEach(f -> {
            assertThat(f.get("severity").textValue()).isIn("ok", "warning", "problem");
            if (f.get("severity").textValue().equals("problem")) {
                problems.add(f.get("check").textValue() + ": " + f.get("text").textValue());
            }
        });
        assertThat(problems).hasSize(2);
        assertThat(problems.get(0)).startsWith("expiry: certificate EXPIRED 3 days ago");
        assertThat(problems.get(1)).startsWith("names: names: the certificate does not cover the hostname gw.example.com");

        // the text form: the same findings, the same exit code
        Cli.Result text = Cli.run("cert", "check", "--config", config.toString());
        assertThat(text.exit()).isEqualTo(1);
        assertThat(text.out()).contains("  PROBLEM  certificate EXPIRED 3 days ago", "2 problems");
    }
}
