package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.tls.PeerCheck.ProblemKind;
import dev.postern.tls.PeerCheck.Purpose;
import dev.postern.tls.TestPki.Issued;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Chain checks, table-driven: path building (cross-signed roots, chains out of order, missing intermediates), dates,
 * algorithm constraints, and the intended use (extended key usage, key usage) for servers and clients.
 */
class PeerCheckTest {
    static final Instant NOW = Instant.now();

    // one PKI: root <- intermediate <- leaves
    static final Issued ROOT = TestPki.root("Test Root");
    static final Issued INTER = TestPki.cert("Test Intermediate").issuer(ROOT).ca().build();
    static final Issued LEAF = TestPki.leaf(INTER, "mx.example");
    static final Issued SERVER_ONLY = TestPki.cert("server-only").issuer(INTER).dns("mx.example")
            .usages(KeyPurposeId.id_kp_serverAuth).build();
    static final Issued CLIENT_ONLY = TestPki.cert("client-only").issuer(INTER).dns("mx.example")
            .usages(KeyPurposeId.id_kp_clientAuth).build();
    static final Issued EMAIL_ONLY = TestPki.cert("email-only").issuer(INTER).dns("mx.example")
            .usages(KeyPurposeId.id_kp_emailProtection).build();
    static final Issued NO_EKU = TestPki.cert("no-eku").issuer(INTER).dns("mx.example").usages().build();
    static final Issued ANY_EKU = TestPki.cert("any-eku").issuer(INTER).dns("mx.example")
            .usages(KeyPurposeId.anyExtendedKeyUsage).build();
    static final Issued KEY_AGREEMENT_ONLY = TestPki.cert("key-agreement-only").issuer(INTER).dns("mx.example")
            .keyUsage(KeyUsage.keyAgreement).build();
    static final Issued EXPIRED = TestPki.cert("expired").issuer(INTER).dns("mx.example")
            .valid(NOW.minus(Duration.ofDays(10)), NOW.minus(Duration.ofDays(1))).build();
    static final Issued NOT_YET = TestPki.cert("not-yet").issuer(INTER).dns("mx.example")
            .valid(NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(10))).build();
    static final Issued EXPIRED_INTER = TestPki.cert("Expired Intermediate").issuer(ROOT).ca()
            .valid(NOW.minus(Duration.ofDays(10)), NOW.minus(Duration.ofDays(1))).build();
    static final Issued UNDER_EXPIRED_INTER = TestPki.leaf(EXPIRED_INTER, "mx.example");
    static final Issued SELF_SIGNED = TestPki.cert("mx.example").dns("mx.example").build();
    static final Issued OTHER_ROOT = TestPki.root("Other Root");

    // cross-signing: New Root's key, self-signed and cross-signed by Old Root; the leaf is under New Root
    static final Issued OLD_ROOT = TestPki.root("Old Root");
    static final Issued NEW_ROOT = TestPki.root("New Root");
    static final Issued NEW_ROOT_CROSS = TestPki.cert("New Root").keys(NEW_ROOT.keys()).issuer(OLD_ROOT).ca().build();
    static final Issued NEW_INTER = TestPki.cert("New Intermediate").issuer(NEW_ROOT).ca().build();
    static final Issued NEW_LEAF = TestPki.leaf(NEW_INTER, "mx.example");

    // weak algorithms, under an RSA root
    static final Issued RSA_ROOT = TestPki.cert("RSA Root").ca().keyType(Certificates.KeyType.RSA_2048).build();
    static final Issued SHA1_LEAF = TestPki.cert("sha1").issuer(RSA_ROOT).dns("mx.example").signature("SHA1withRSA")
            .build();
    static final Issued MD5_LEAF = TestPki.cert("md5").issuer(RSA_ROOT).dns("mx.example").signature("MD5withRSA")
            .build();
    static final Issued SHA1_INTER = TestPki.cert("SHA-1 Intermediate").issuer(RSA_ROOT).ca()
            .signature("SHA1withRSA").build();
    static final Issued UNDER_SHA1_INTER = TestPki.leaf(SHA1_INTER, "mx.example");
    static final Issued RSA1024_INTER = TestPki.cert("RSA-1024 Intermediate").issuer(RSA_ROOT).ca()
            .keyType(Certificates.KeyType.RSA_1024).build();
    static final Issued UNDER_RSA1024_INTER = TestPki.leaf(RSA1024_INTER, "mx.example");
    static final Issued SHA1_SIGNED_ROOT = TestPki.cert("SHA-1 Root").ca().keyType(Certificates.KeyType.RSA_2048)
            .signature("SHA1withRSA").build();
    static final Issued UNDER_SHA1_ROOT = TestPki.leaf(SHA1_SIGNED_ROOT, "mx.example");

    /** One row: a chain as the peer sends it, the anchors, the use, and the expected kind (null: trusted). */
    record Row(String name, List<Issued> chain, List<Issued> anchors, Purpose purpose, ProblemKind kind,
               String text) {}

    static Row row(String name, List<Issued> chain, List<Issued> anchors, Purpose purpose, ProblemKind kind,
                   String text) {
        return new Row(name, chain, anchors, purpose, kind, text);
    }

    static final List<Row> ROWS = List.of(
            row("leaf, intermediate, root", List.of(LEAF, INTER, ROOT), List.of(ROOT), Purpose.SERVER, null, null),
            row("leaf, intermediate (root not sent)", List.of(LEAF, INTER), List.of(ROOT), Purpose.SERVER, null,
                    null),
            row("out of order: leaf, root, intermediate", List.of(LEAF, ROOT, INTER), List.of(ROOT), Purpose.SERVER,
                    null, null),
            row("intermediate as anchor", List.of(LEAF), List.of(INTER), Purpose.SERVER, null, null),
            row("missing intermediate", List.of(LEAF), List.of(ROOT), Purpose.SERVER, ProblemKind.INCOMPLETE_CHAIN,
                    "incomplete chain: the issuer CN=Test Intermediate of CN=mx.example was not sent and is not a "
                            + "trust anchor (intermediate certificates are not fetched)"),
            row("missing intermediate, root sent", List.of(LEAF, ROOT), List.of(ROOT), Purpose.SERVER,
                    ProblemKind.INCOMPLETE_CHAIN, "the issuer CN=Test Intermediate of CN=mx.example was not sent"),
            row("untrusted root", List.of(LEAF, INTER, ROOT), List.of(OTHER_ROOT), Purpose.SERVER,
                    ProblemKind.UNTRUSTED, "untrusted chain (issuer CN=Test Intermediate): its root CN=Test Root is "
                            + "not a trust anchor"),
            row("self-signed", List.of(SELF_SIGNED), List.of(ROOT), Purpose.SERVER, ProblemKind.SELF_SIGNED,
                    "self-signed certificate (not trusted)"),
            row("self-signed, and itself a trust anchor (a partner's certificate in ca_file)", List.of(SELF_SIGNED),
                    List.of(SELF_SIGNED), Purpose.SERVER, null, null),
            row("no anchors", List.of(LEAF, INTER), List.of(), Purpose.SERVER, ProblemKind.NO_TRUST_ANCHORS,
                    "no trust anchors configured"),
            // cross-signed chains
            row("cross-signed root sent, store has the old root", List.of(NEW_LEAF, NEW_INTER, NEW_ROOT_CROSS),
                    List.of(OLD_ROOT), Purpose.SERVER, null, null),
            row("cross-signed root sent, store has the new root", List.of(NEW_LEAF, NEW_INTER, NEW_ROOT_CROSS),
                    List.of(NEW_ROOT), Purpose.SERVER, null, null),
            row("cross-signed root sent, store has both", List.of(NEW_LEAF, NEW_INTER, NEW_ROOT_CROSS),
                    List.of(OLD_ROOT, NEW_ROOT), Purpose.SERVER, null, null),
            row("self-signed new root sent, store has only the old root", List.of(NEW_LEAF, NEW_INTER, NEW_ROOT),
                    List.of(OLD_ROOT), Purpose.SERVER, ProblemKind.UNTRUSTED, "its root CN=New Root is not a trust"),
            // dates
            row("expired", List.of(EXPIRED, INTER), List.of(ROOT), Purpose.SERVER, ProblemKind.EXPIRED,
                    "certificate expired on "),
            row("not yet valid", List.of(NOT_YET, INTER), List.of(ROOT), Purpose.SERVER, ProblemKind.NOT_YET_VALID,
                    "certificate not valid before "),
            row("expired intermediate", List.of(UNDER_EXPIRED_INTER, EXPIRED_INTER), List.of(ROOT), Purpose.SERVER,
                    ProblemKind.INVALID_CHAIN, "a certificate in the chain expired: CN=Expired Intermediate"),
            // algorithms
            row("SHA-1 signed leaf", List.of(SHA1_LEAF), List.of(RSA_ROOT), Purpose.SERVER,
                    ProblemKind.WEAK_ALGORITHM, "CN=sha1 is signed with SHA1withRSA"),
            row("SHA-1 signed leaf, no use asked", List.of(SHA1_LEAF), List.of(RSA_ROOT), Purpose.NONE,
                    ProblemKind.WEAK_ALGORITHM, "SHA1withRSA"),
            row("MD5 signed leaf", List.of(MD5_LEAF), List.of(RSA_ROOT), Purpose.SERVER, ProblemKind.WEAK_ALGORITHM,
                    "weak algorithm in the chain (CN=md5)"),
            row("SHA-1 signed intermediate", List.of(UNDER_SHA1_INTER, SHA1_INTER), List.of(RSA_ROOT),
                    Purpose.SERVER, ProblemKind.WEAK_ALGORITHM, "CN=SHA-1 Intermediate is signed with SHA1withRSA"),
            row("RSA-1024 intermediate", List.of(UNDER_RSA1024_INTER, RSA1024_INTER), List.of(RSA_ROOT),
                    Purpose.SERVER, ProblemKind.WEAK_ALGORITHM, "CA CN=RSA-1024 Intermediate has a 1024-bit RSA key"),
            row("SHA-1 self-signature of the anchor itself is not judged", List.of(UNDER_SHA1_ROOT),
                    List.of(SHA1_SIGNED_ROOT), Purpose.SERVER, null, null),
            // intended use
            row("clientAuth-only leaf as a server", List.of(CLIENT_ONLY, INTER), List.of(ROOT), Purpose.SERVER,
                    ProblemKind.WRONG_USAGE, "certificate is not for TLS servers: its extended key usage allows only "
                            + "clientAuth"),
            row("serverAuth-only leaf as a client", List.of(SERVER_ONLY, INTER), List.of(ROOT), Purpose.CLIENT,
                    ProblemKind.WRONG_USAGE, "certificate is not for TLS clients: its extended key usage allows only "
                            + "serverAuth"),
            row("emailProtection-only leaf as a server", List.of(EMAIL_ONLY, INTER), List.of(ROOT), Purpose.SERVER,
                    ProblemKind.WRONG_USAGE, "allows only emailProtection"),
            row("serverAuth-only leaf as a server", List.of(SERVER_ONLY, INTER), List.of(ROOT), Purpose.SERVER,
                    null, null),
            row("clientAuth-only leaf as a client", List.of(CLIENT_ONLY, INTER), List.of(ROOT), Purpose.CLIENT,
                    null, null),
            row("no extended key usage: any use (server)", List.of(NO_EKU, INTER), List.of(ROOT), Purpose.SERVER,
                    null, null),
            row("no extended key usage: any use (client)", List.of(NO_EKU, INTER), List.of(ROOT), Purpose.CLIENT,
                    null, null),
            row("anyExtendedKeyUsage (server)", List.of(ANY_EKU, INTER), List.of(ROOT), Purpose.SERVER, null, null),
            row("anyExtendedKeyUsage (client)", List.of(ANY_EKU, INTER), List.of(ROOT), Purpose.CLIENT, null, null),
            row("key usage keyAgreement only, as a server", List.of(KEY_AGREEMENT_ONLY, INTER), List.of(ROOT),
                    Purpose.SERVER, ProblemKind.WRONG_USAGE, "its key usage lacks digitalSignature"),
            row("key usage keyAgreement only, as a client", List.of(KEY_AGREEMENT_ONLY, INTER), List.of(ROOT),
                    Purpose.CLIENT, ProblemKind.WRONG_USAGE, "its key usage lacks digitalSignature"),
            row("clientAuth-only leaf, no use asked (shown only)", List.of(CLIENT_ONLY, INTER), List.of(ROOT),
                    Purpose.NONE, null, null));

    @TestFactory Stream<DynamicTest> chains() {
        return ROWS.stream().map(r -> DynamicTest.dynamicTest(r.name() + " -> "
                + (r.kind() == null ? "trusted" : r.kind()), () -> {
            PeerCheck.Certificate c = PeerCheck.inspect(chain(r.chain()), anchors(r.anchors()), NOW, r.purpose());
            if (r.kind() == null) {
                assertThat(c.problem()).as(r.name()).isNull();
                assertThat(c.trusted()).isTrue();
            } else {
                assertThat(c.problem()).as(r.name()).isNotNull();
                assertThat(c.problem().kind()).as(c.trustProblem()).isEqualTo(r.kind());
                assertThat(c.trustProblem()).contains(r.text());
            }
        }));
    }

    /** A server's key usage follows the handshake's key exchange, as the JDK's end-entity checks do. */
    @Test void serverKeyUsageFollowsTheKeyExchange() {
        X509Certificate signatureOnly = LEAF.cert(); // digitalSignature only
        assertThat(ChainCheck.usage(signatureOnly, Purpose.SERVER, "UNKNOWN")).isNull();
        assertThat(ChainCheck.usage(signatureOnly, Purpose.SERVER, "ECDHE_RSA")).isNull();
        assertThat(ChainCheck.usage(signatureOnly, Purpose.SERVER, "RSA").text())
                .isEqualTo("certificate is not for TLS servers: its key usage lacks keyEncipherment");
        assertThat(ChainCheck.usage(KEY_AGREEMENT_ONLY.cert(), Purpose.SERVER, "ECDH_ECDSA")).isNull();
        assertThat(ChainCheck.authType("TLS_AES_256_GCM_SHA384")).isEqualTo("UNKNOWN");
        assertThat(ChainCheck.authType("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")).isEqualTo("ECDHE_ECDSA");
        assertThat(ChainCheck.authType("TLS_RSA_WITH_AES_256_CBC_SHA256")).isEqualTo("RSA");
    }

    @Test void factsNameTheLeaf() {
        PeerCheck.Certificate c = PeerCheck.inspect(chain(List.of(LEAF, INTER)), anchors(List.of(ROOT)), NOW,
                Purpose.SERVER);
        assertThat(c.subject()).isEqualTo("CN=mx.example");
        assertThat(c.issuer()).isEqualTo("CN=Test Intermediate");
        assertThat(c.names()).containsExactly("mx.example");
        assertThat(c.keyType()).isEqualTo("EC");
        assertThat(c.keyBits()).isEqualTo(256);
        assertThat(c.keyStrength()).isEqualTo(3072);
    }

    static List<X509Certificate> chain(List<Issued> issued) {
        List<X509Certificate> out = new ArrayList<>();
        for (Issued i : issued) out.add(i.cert());
        return out;
    }

    static Set<TrustAnchor> anchors(List<Issued> issued) {
        return PeerCheck.anchors(chain(issued));
    }
}
