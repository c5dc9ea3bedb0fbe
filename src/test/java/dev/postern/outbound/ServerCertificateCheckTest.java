package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.recipient;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real deliveries to a next hop at [127.0.0.1] whose certificate is wrong in one way each: its intended use, its key
 * size, its chain, or its names against Postfix's defaults (verify: the host name only; an IP-literal next hop: IP
 * address SANs only). Every "deferred" row also shows that nothing of the message was sent.
 */
class ServerCertificateCheckTest {
    @TempDir static Path dir;

    static final String FROM = "alice@a.example";
    static Path caFile;
    static Path newRootFile;
    static Issued root;
    static Issued inter;

    /** One delivery: the peer's certificate, the policy, and what must happen ("delivered" or a deferral text). */
    record Row(String name, KeyMaterial peer, TlsLevel level, int minKeyBits, Path ca, String expected) {}

    static List<Row> rows;

    @BeforeAll static void pki() throws Exception {
        root = TestPki.root("Delivery Root");
        inter = TestPki.cert("Delivery Intermediate").issuer(root).ca().build();
        caFile = dir.resolve("root.pem");
        Pem.write(root.material(), caFile, dir.resolve("root.key"));
        // cross-signing: New Root (in the store of the second policy) cross-signed by Delivery Root
        Issued newRoot = TestPki.root("New Root");
        Issued cross = TestPki.cert("New Root").keys(newRoot.keys()).issuer(root).ca().build();
        Issued newInter = TestPki.cert("New Intermediate").issuer(newRoot).ca().build();
        newRootFile = dir.resolve("new-root.pem");
        Pem.write(newRoot.material(), newRootFile, dir.resolve("new-root.key"));

        Issued clientOnly = TestPki.cert("mx.b.example").issuer(inter).dns("mx.b.example")
                .usages(KeyPurposeId.id_kp_clientAuth).build();
        Issued serverOnly = TestPki.cert("mx.b.example").issuer(inter).dns("mx.b.example")
                .usages(KeyPurposeId.id_kp_serverAuth).build();
        Issued rsa1024 = TestPki.cert("mx.b.example").issuer(inter).dns("mx.b.example").keyType(KeyType.RSA_1024)
                .build();
        Issued domainName = TestPki.cert("b.example").issuer(inter).dns("b.example").build();
        Issued ipSan = TestPki.cert("loopback").issuer(inter).ip("127.0.0.1").build();
        Issued ipAsDnsName = TestPki.cert("127.0.0.1").issuer(inter).dns("127.0.0.1").build();
        Issued crossLeaf = TestPki.leaf(newInter, "mx.b.example");
        rows = List.of(
                new Row("secure, clientAuth-only certificate", clientOnly.material(inter.cert()), TlsLevel.SECURE,
                        TlsPolicy.LEVEL_KEY_FLOOR, caFile,
                        "certificate is not for TLS servers: its extended key usage allows only clientAuth"),
                new Row("secure, serverAuth-only certificate", serverOnly.material(inter.cert()), TlsLevel.SECURE,
                        TlsPolicy.LEVEL_KEY_FLOOR, caFile, "delivered"),
                new Row("secure, RSA-1024 key, default floor", rsa1024.material(inter.cert()), TlsLevel.SECURE,
                        TlsPolicy.LEVEL_KEY_FLOOR, caFile, "server key RSA 1024 bits is below the default floor of "
                        + "level secure (RSA 2048, EC 256 bits; min_key_bits changes it)"),
                new Row("secure, RSA-1024 key, min_key_bits 1024", rsa1024.material(inter.cert()), TlsLevel.SECURE,
                        1024, caFile, "delivered"),
                new Row("encrypt, RSA-1024 key, default floor", rsa1024.material(inter.cert()), TlsLevel.ENCRYPT,
                        TlsPolicy.LEVEL_KEY_FLOOR, caFile, "server key RSA 1024 bits is below the default floor of "
                        + "level encrypt"),
                new Row("may, RSA-1024 key", rsa1024.material(inter.cert()), TlsLevel.MAY, TlsPolicy.LEVEL_KEY_FLOOR,
                        caFile, "delivered"),
                new Row("verify, [127.0.0.1], certificate names the recipient domain only",
                        domainName.material(inter.cert()), TlsLevel.VERIFY, TlsPolicy.LEVEL_KEY_FLOOR, caFile,
                        "certificate name mismatch: b.example does not match 127.0.0.1"),
                new Row("verify, [127.0.0.1], IP address SAN 127.0.0.1", ipSan.material(inter.cert()),
                        TlsLevel.VERIFY, TlsPolicy.LEVEL_KEY_FLOOR, caFile, "delivered"),
                new Row("verify, [127.0.0.1], DNS name \"127.0.0.1\"", ipAsDnsName.material(inter.cert()),
                        TlsLevel.VERIFY, TlsPolicy.LEVEL_KEY_FLOOR, caFile,
                        "certificate name mismatch: 127.0.0.1 does not match 127.0.0.1 (an IP address matches IP address "
                        + "SANs only)"),
                new Row("secure, intermediate not sent", serverOnly.material(), TlsLevel.SECURE,
                        TlsPolicy.LEVEL_KEY_FLOOR, caFile, "incomplete chain: the issuer CN=Delivery Intermediate of "
                        + "CN=mx.b.example was not sent and is not a trust anchor (intermediate certificates are not "
                        + "fetched)"),
                new Row("secure, chain to a cross-signed root, store has the new root",
                        crossLeaf.material(newInter.cert(), cross.cert()), TlsLevel.SECURE, TlsPolicy.LEVEL_KEY_FLOOR,
                        newRootFile, "delivered"),
                new Row("secure, chain to a cross-signed root, store has the old root",
                        crossLeaf.material(newInter.cert(), cross.cert()), TlsLevel.SECURE, TlsPolicy.LEVEL_KEY_FLOOR,
                        caFile, "delivered"));
    }

    @TestFactory Stream<DynamicTest> deliveries() {
        return rows.stream().map(r -> DynamicTest.dynamicTest(r.name() + " -> " + r.expected(), () -> deliver(r)));
    }

    private static void deliver(Row r) throws Exception {
        Path data = dir.resolve("gw-" + Integer.toHexString(r.name().hashCode()));
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().hostname("mx.b.example").pipelining()
                .enhancedStatusCodes().starttls(r.peer()).start()) {
            TlsPolicy policy = new TlsPolicy(r.level(), Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                    r.minKeyBits(), List.of(), r.ca(), List.of(), null, null);
            Config config = Outbound.relayingTo(data, server.port(), "b.example")
                    .withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY), Map.of("b.example", policy)));
            try (Gateway gw = Gateway.start(config)) {
                String id = submit(gw, FROM, List.of("bob@b.example"), body("certificate check", r.name()));
                if (r.expected().equals("delivered")) {
                    eventually().until(() -> !server.delivered().isEmpty());
                    assertThat(server.delivered().getFirst().usedTls()).isTrue();
                    return;
                }
                var env = awaitEnvelope(gw, id, e -> recipient(e, "bob@b.example").attempts() >= 1);
                assertThat(recipient(env, "bob@b.example").lastResult())
                        .startsWith("451 4.7.10 TLS required by policy for b.example (static entry \"b.example\"): ")
                        .contains(r.expected());
                assertThat(server.transactions()).as("nothing of the message was sent")
                        .noneMatch(t -> t.mailFrom() != null);
            }
        }
    }
}
