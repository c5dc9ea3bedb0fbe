package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [dns]} DNSSEC keys: dnssec, trust_ad (loopback resolvers only), trust_anchor_file. */
class DnsConfigTest {
    private static final String ROOT_DS =
            ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";

    @TempDir Path dir;
    private ConfigFiles files;

    @BeforeEach void files() { files = new ConfigFiles(dir); }

    @Test void validatingFromTheRootIsTheDefault() throws Exception {
        Config.Dns dns = files.load("").dns();
        assertThat(dns).isEqualTo(new Config.Dns(List.of(), Duration.ofSeconds(5), Config.Dnssec.VALIDATE, null));
    }

    @Test void off() throws Exception {
        assertThat(files.load("[dns]\ndnssec = \"off\"\n").dns().dnssec()).isEqualTo(Config.Dnssec.OFF);
    }

    @Test void trustAdWithLoopbackResolvers() throws Exception {
        Config.Dns dns = files.load("""
                [dns]
                servers = ["127.0.0.1:5353", "::1"]
                trust_ad = true
                """).dns();
        assertThat(dns.dnssec()).isEqualTo(Config.Dnssec.TRUST_AD);
        assertThat(dns.trustAnchorFile()).isNull();
    }

    @Test void resolversOnThisHostAreTrustedForTheirAdBitUnlessTheKeysSayOtherwise() throws Exception {
        assertThat(files.load("[dns]\nservers = [\"127.0.0.1:5353\", \"::1\"]\n").dns().dnssec())
                .isEqualTo(Config.Dnssec.TRUST_AD);
        assertThat(files.load("[dns]\nservers = [\"127.0.0.1:5353\"]\ntrust_ad = false\n").dns().dnssec())
                .isEqualTo(Config.Dnssec.VALIDATE);
        assertThat(files.load("[dns]\nservers = [\"127.0.0.1:5353\"]\ndnssec = \"off\"\n").dns().dnssec())
                .isEqualTo(Config.Dnssec.OFF);
        assertThat(files.load("[dns]\nservers = [\"127.0.0.1:5353\", \"192.0.2.53\"]\n").dns().dnssec())
                .as("one resolver across the network: validate here").isEqualTo(Config.Dnssec.VALIDATE);
        java.nio.file.Files.writeString(dir.resolve("root.ds"),
                ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n");
        Config.Dns anchored = files.load("[dns]\nservers = [\"127.0.0.1:5353\"]\ntrust_anchor_file = \"root.ds\"\n")
                .dns();
        assertThat(anchored.dnssec()).as("a trust anchor file means: validate here").isEqualTo(Config.Dnssec.VALIDATE);
    }

    @Test void trustAdRefusedForAResolverAcrossTheNetwork() throws Exception {
        assertThat(files.problems("""
                [dns]
                servers = ["127.0.0.1", "192.0.2.53"]
                trust_ad = true
                """)).containsExactly("postern.toml: dns.trust_ad: expected only loopback servers (127.0.0.1, ::1), "
                + "got 192.0.2.53: an AD bit that crossed the network can be forged");
    }

    @Test void trustAdRefusedWithoutServers() throws Exception {
        assertThat(files.problems("[dns]\ntrust_ad = true\n")).singleElement().asString()
                .startsWith("postern.toml: dns.trust_ad: expected [dns] servers listing the validating resolver on "
                        + "loopback, got none");
    }

    @Test void trustAdMakesNoSenseWithDnssecOff() throws Exception {
        assertThat(files.problems("""
                [dns]
                servers = ["127.0.0.1"]
                dnssec = "off"
                trust_ad = true
                """)).singleElement().asString().startsWith("postern.toml: dns.trust_ad: expected trust_ad only with "
                + "dnssec = \"validate\"");
    }

    @Test void trustAnchorFile() throws Exception {
        Files.writeString(dir.resolve("root.ds"), ROOT_DS);
        Config.Dns dns = files.load("[dns]\ntrust_anchor_file = \"root.ds\"\n").dns();
        assertThat(dns.dnssec()).isEqualTo(Config.Dnssec.VALIDATE);
        assertThat(dns.trustAnchorFile()).isEqualTo(dir.resolve("root.ds"));
    }

    @Test void trustAnchorFileMustExistAndHoldAnchors() throws Exception {
        Files.writeString(dir.resolve("empty.ds"), "; nothing here\n");
        Files.writeString(dir.resolve("garbage.ds"), "this is not a zone file\n");
        Files.writeString(dir.resolve("a-record.ds"), "example.com. IN A 192.0.2.1\n");
        assertThat(files.problems("[dns]\ntrust_anchor_file = \"missing.ds\"\n")).singleElement().asString()
                .startsWith("postern.toml: dns.trust_anchor_file: expected a readable file").contains("file not found");
        assertThat(files.problems("[dns]\ntrust_anchor_file = \"empty.ds\"\n")).singleElement().asString()
                .startsWith("postern.toml: dns.trust_anchor_file: expected DS or DNSKEY records in zone-file form");
        assertThat(files.problems("[dns]\ntrust_anchor_file = \"garbage.ds\"\n")).singleElement().asString()
                .startsWith("postern.toml: dns.trust_anchor_file: expected DS or DNSKEY records in zone-file form, got")
                .contains("garbage.ds");
        assertThat(files.problems("[dns]\ntrust_anchor_file = \"a-record.ds\"\n")).singleElement().asString()
                .contains("got none in");
    }

    @Test void trustAnchorFileOnlyWhenPosternValidates() throws Exception {
        Files.writeString(dir.resolve("root.ds"), ROOT_DS);
        assertThat(files.problems("""
                [dns]
                servers = ["127.0.0.1"]
                trust_ad = true
                trust_anchor_file = "root.ds"
                """)).containsExactly("postern.toml: dns.trust_anchor_file: expected no trust_anchor_file with "
                + "trust_ad = true: the trusted resolver validates with its own trust anchors");
        assertThat(files.problems("[dns]\ndnssec = \"off\"\ntrust_anchor_file = \"root.ds\"\n")).containsExactly(
                "postern.toml: dns.trust_anchor_file: expected no trust_anchor_file with dnssec = \"off\"");
    }

    @Test void dnssecWord() throws Exception {
        assertThat(files.problems("[dns]\ndnssec = \"yes\"\n")).singleElement().asString()
                .startsWith("postern.toml: dns.dnssec: expected \"validate\" or \"off\", got \"yes\"");
        assertThat(files.problems("[dns]\ntrust_ad = \"yes\"\n")).containsExactly(
                "postern.toml: dns.trust_ad: expected true or false, got \"yes\"");
    }
}
