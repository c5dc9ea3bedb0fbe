package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.ConfigLoader;
import dev.postern.tls.Pem;
import dev.postern.tls.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern import postfix-tls-policy}: a policy file as an administrator keeps it (every level and attribute
 * form, continuation lines, comments, next-hop keys and garbage), converted, appended to a config and loaded by
 * {@link ConfigLoader} and {@code config check}; what was not converted is named on standard error and at the end.
 */
class PostfixTlsPolicyImportTest {
    @TempDir Path dir;
    Path policy;
    Path ca;

    static final String SHA256 = "3D:95:34:51:24:66:33:B9:D2:40:99:C0:C1:6B:D0:29:"
            + "C3:74:F1:9A:D0:19:1F:05:6B:73:0D:05:9A:1F:43:37";
    static final String SHA256_KEY = "a".repeat(64);
    static final String SHA1 = "3D:95:34:51:24:66:33:B9:D2:40:99:C0:C1:6B:D0:29:C3:74:F1:9A";

    @BeforeEach void files() throws Exception {
        ca = dir.resolve("bank-ca.pem");
        Pem.write(TestPki.root("Bank CA").material(), ca, dir.resolve("bank-ca.key"));
        Path pubkey = dir.resolve("anchor-key.pem");
        Files.writeString(pubkey, "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n");
        policy = dir.resolve("tls_policy");
        Files.writeString(policy, """
                # /etc/postfix/tls_policy -- postmap hash:/etc/postfix/tls_policy
                example.com         none
                opportunistic.example   may
                partner.example     encrypt protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1 ciphers=high
                dane.example        dane
                strict-dane.example dane-only
                bank.example        secure match=nexthop:dot-nexthop protocols=>=TLSv1.3 tafile=%s
                insurer.example     secure
                    match=.mail.filtering-vendor.example:mx.insurer.example
                    exclude=aNULL:RC4:AES128
                .insurer.example    verify match=hostname
                hospital.example    verify match=hostname:mx.hospital.example tafile=%s
                lab.example         fingerprint
                    match=%s
                    # a comment inside the entry does not end it
                    match=%s|%s
                oldlab.example      fingerprint match=%s
                weird.example       verify protocols=TLSv1.2 ciphers=medium servername=hostname
                sub.example         secure match=nexthop
                .parent.example     secure match=dot-nexthop
                keyonly.example     verify tafile=%s
                missing.example     verify tafile=/nonexistent/ca.pem
                [mx.relay.example]:587  encrypt
                [192.0.2.1]         may
                relay.example:25    encrypt
                bad_domain..example verify
                nolevel.example
                typo.example        verfy
                example.com         encrypt
                onlytls12.example   encrypt protocols=!TLSv1.3
                  stray=1
                """.formatted(ca, ca, SHA256, SHA256_KEY, SHA1, SHA1, pubkey));
    }

    @Test void convertsAndTheOutputLoads() throws Exception {
        Cli.Result r = Cli.run("import", "postfix-tls-policy", policy.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, "hostname = \"gw.a.example\"\ndata_dir = \"" + dir.resolve("data") + "\"\n\n"
                + r.out());
        Map<String, Config.TlsPolicy> p = ConfigLoader.load(config).outboundTls().domains();
        assertThat(p.get("example.com").level()).isEqualTo(TlsLevel.NONE);
        assertThat(p.get("opportunistic.example").level()).isEqualTo(TlsLevel.MAY);
        assertThat(p.get("partner.example").level()).isEqualTo(TlsLevel.ENCRYPT);
        assertThat(p.get("partner.example").minProtocol()).isEqualTo("TLSv1.2");
        assertThat(p.get("dane.example").level()).isEqualTo(TlsLevel.DANE);
        assertThat(p.get("strict-dane.example").level()).isEqualTo(TlsLevel.DANE_ONLY);
        Config.TlsPolicy bank = p.get("bank.example");
        assertThat(bank.level()).isEqualTo(TlsLevel.SECURE);
        assertThat(bank.match()).as("nexthop:dot-nexthop is Postern's default too").isEmpty();
        assertThat(bank.minProtocol()).isEqualTo("TLSv1.3");
        assertThat(bank.caFile()).isEqualTo(ca);
        Config.TlsPolicy insurer = p.get("insurer.example");
        assertThat(insurer.match()).containsExactly(".mail.filtering-vendor.example", "mx.insurer.example");
        assertThat(insurer.minCipherBits()).isEqualTo(256);
        assertThat(p.get(".insurer.example").level()).isEqualTo(TlsLevel.VERIFY);
        assertThat(p.get(".insurer.example").match()).isEmpty();
        assertThat(p.get("hospital.example").match()).containsExactly("mx.hospital.example");
        assertThat(p.get("lab.example").fingerprints()).containsExactly(
                SHA256.replace(":", "").toLowerCase(java.util.Locale.ROOT), SHA256_KEY);
        assertThat(p).doesNotContainKeys("oldlab.example", "nolevel.example", "typo.example");
        assertThat(p.get("weird.example").level()).isEqualTo(TlsLevel.VERIFY);
        assertThat(p.get("sub.example").match()).containsExactly("sub.example");
        assertThat(p.get(".parent.example").match()).isEmpty();
        assertThat(p.get("keyonly.example").caFile()).isNull();
        assertThat(p.get("missing.example").caFile()).isNull();
        assertThat(p.get("onlytls12.example").level()).isEqualTo(TlsLevel.ENCRYPT);
        assertThat(p).hasSize(16);

        Cli.Result check = Cli.run("config", "check", config.toString());
        assertThat(check.exit()).as(check.toString()).isZero();

        // every item not converted: on standard error, and as comments at the end of the output
        String f = policy.toString();
        assertThat(r.errLines()).containsExactly(
                "postern: " + f + ":12: not converted: match=...hostname...: Postern's match list cannot name \"the "
                        + "MX host name\" beside other patterns (only the verify default does): list the MX host "
                        + "names themselves",
                "postern: " + f + ":13: not converted: " + SHA1 + ": a SHA-1 fingerprint: Postern pins SHA-256 only; "
                        + "pin the certificate's SHA-256 (postern cert show FILE, or openssl x509 -noout "
                        + "-fingerprint -sha256)",
                "postern: " + f + ":17: not converted: " + SHA1 + ": a SHA-1 fingerprint: Postern pins SHA-256 only; "
                        + "pin the certificate's SHA-256 (postern cert show FILE, or openssl x509 -noout "
                        + "-fingerprint -sha256)",
                "postern: " + f + ":17: not converted: oldlab.example fingerprint match=" + SHA1 + ": no SHA-256 "
                        + "fingerprint left: level fingerprint needs at least one (postern cert show FILE prints "
                        + "it); the entry is not converted",
                "postern: " + f + ":18: not converted: servername=hostname: no Postern equivalent of the attribute "
                        + "servername",
                "postern: " + f + ":18: not converted: protocols=TLSv1.2: excludes TLSv1.3: Postern sets a minimum "
                        + "protocol only, so TLSv1.3 stays allowed",
                "postern: " + f + ":18: not converted: ciphers=medium: Postern offers no suite below its default "
                        + "AEAD, forward-secret set at enforced levels (under may a failed handshake is retried with "
                        + "the JDK's broader set): a partner that needs a weaker suite fails",
                "postern: " + f + ":20: not converted: match=...dot-nexthop...: dot-nexthop under a \".domain\" key "
                        + "is each subdomain in turn, which a fixed match list cannot say",
                "postern: " + f + ":21: not converted: tafile=" + dir.resolve("anchor-key.pem") + ": holds a bare "
                        + "public key as trust anchor, which ca_file does not take (certificates only)",
                "postern: " + f + ":22: not converted: tafile=/nonexistent/ca.pem: not a readable file on this "
                        + "machine (copy it here, then set ca_file)",
                "postern: " + f + ":23: not converted: [mx.relay.example]:587 encrypt: a next-hop key (a route, not "
                        + "a recipient domain): Postern keys policies by recipient domain; add "
                        + "[outbound_tls.\"DOMAIN\"] for each domain routed there",
                "postern: " + f + ":24: not converted: [192.0.2.1] may: a next-hop key (a route, not a recipient "
                        + "domain): Postern keys policies by recipient domain; add [outbound_tls.\"DOMAIN\"] for "
                        + "each domain routed there",
                "postern: " + f + ":25: not converted: relay.example:25 encrypt: a next-hop key (a route, not a "
                        + "recipient domain): Postern keys policies by recipient domain; add "
                        + "[outbound_tls.\"DOMAIN\"] for each domain routed there",
                "postern: " + f + ":26: not converted: bad_domain..example verify: the key is not a domain (empty "
                        + "label)",
                "postern: " + f + ":27: not converted: nolevel.example: no security level",
                "postern: " + f + ":28: not converted: typo.example verfy: unknown security level \"verfy\" "
                        + "(expected none, may, encrypt, dane, dane-only, fingerprint, verify or secure)",
                "postern: " + f + ":29: not converted: example.com encrypt: the key example.com again; the first "
                        + "entry is kept",
                "postern: " + f + ":30: not converted: stray=1: no Postern equivalent of the attribute stray",
                "postern: " + f + ":30: not converted: protocols=!TLSv1.3: excludes TLSv1.3: Postern sets a minimum "
                        + "protocol only, so TLSv1.3 stays allowed");
        assertThat(r.out()).contains("\n# Not converted (", "# line 23: [mx.relay.example]:587 encrypt: a next-hop key",
                "# match \".mail.filtering-vendor.example\" matches mail.filtering-vendor.example itself as well",
                "# ca_file replaces the system trust store for this destination",
                "# exclude=aNULL:RC4: Postern never offers these suites anyway",
                "# ciphers=high: Postern's suites");
    }

    @Test void outputRefusesToOverwriteWithoutForce() throws Exception {
        Path out = dir.resolve("policies.toml");
        Files.writeString(out, "keep me\n");
        Cli.Result refused = Cli.run("import", "postfix-tls-policy", policy.toString(), "--output", out.toString());
        assertThat(refused.exit()).isEqualTo(2);
        assertThat(refused.err().strip()).isEqualTo("postern: --output " + out + ": exists; --force replaces it");
        assertThat(Files.readString(out)).isEqualTo("keep me\n");

        Cli.Result forced = Cli.run("import", "postfix-tls-policy", policy.toString(), "--output", out.toString(),
                "--force");
        assertThat(forced.exit()).as(forced.toString()).isZero();
        assertThat(forced.out()).isEmpty();
        assertThat(forced.errLines().getLast()).isEqualTo("postern: " + out + ": 16 table(s) written, 19 item(s) "
                + "not converted");
        assertThat(Files.readString(out)).contains("[outbound_tls.\"bank.example\"]");
    }

    @Test void unreadableFileIsOneLine() {
        Cli.Result r = Cli.run("import", "postfix-tls-policy", dir.resolve("nope").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("postern: " + dir.resolve("nope") + ": cannot read it (NoSuchFileException");
    }

    @Test void hostileBytesStayInComments() throws Exception {
        Files.write(policy, List.of("evil.example verify match=mx.evil.example\u0000\n[x] none", "\u00ff\u00fe\n")
                .stream().reduce((a, b) -> a + "\n" + b).orElseThrow().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        Cli.Result r = Cli.run("import", "postfix-tls-policy", policy.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, "hostname = \"gw.a.example\"\n" + r.out());
        Cli.Result check = Cli.run("config", "check", config.toString());
        assertThat(check.exit()).as(check + "\n" + r.out()).isZero();
    }
}
