package dev.postern.receipts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.jwk.JWK;
import dev.postern.files.DurableFiles;
import dev.postern.testkit.AuditFixtures;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.trace.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Receipts: what they state, ES256 signatures that catch any change, the key kept private and reused. */
class ReceiptsTest {
    @TempDir Path dir;

    private static final Instant ISSUED = Instant.parse("2026-12-02T11:00:00Z");

    private Receipt receipt() {
        return Receipt.of(AuditFixtures.threeRecipients(), ISSUED).orElseThrow();
    }

    @Test void signedReceiptVerifiesAndStatesWhatWasSigned() throws Exception {
        ReceiptKey key = ReceiptKey.loadOrCreate(dir);
        String jws = Receipts.sign(receipt(), key);
        assertThat(jws.split("\\.")).hasSize(3);
        JWSObject parsed = JWSObject.parse(jws);
        assertThat(parsed.getHeader().getAlgorithm().getName()).isEqualTo("ES256");
        assertThat(parsed.getHeader().getKeyID()).isEqualTo(key.kid());
        assertThat(parsed.getHeader().getType().getType()).isEqualTo("postern-receipt+json");
        // the kid is the RFC 7638 thumbprint of the public key, as any JOSE library computes it
        assertThat(JWK.parse(key.jwk().toJSONString()).computeThumbprint().toString()).isEqualTo(key.kid());

        Receipts.Check check = Receipts.verify(jws, key.publicKey());
        assertThat(check).isInstanceOf(Receipts.Valid.class);
        assertThat(((Receipts.Valid) check).receipt()).isEqualTo(receipt());
        assertThat(((Receipts.Valid) check).kid()).isEqualTo(key.kid());
    }

    /**
     * Only delivered recipients are covered, each with its own hop; the deferred one is only in envelopeRecipients.
     * Every field of the hop comes from the trace's records.
     */
    @Test void receiptHoldsEachDeliveredHopWithItsTlsFacts() throws Exception {
        Receipt r = receipt();
        assertThat(r.type()).isEqualTo("postern-delivery-receipt");
        assertThat(r.version()).isEqualTo(1);
        assertThat(r.gateway()).isEqualTo("gw1.example");
        assertThat(r.issuedAt()).isEqualTo(ISSUED);
        assertThat(r.queueId()).isEqualTo("Q1A2B3");
        assertThat(r.messageId()).isEqualTo("abc.123@partner.example");
        assertThat(r.sender()).isEqualTo("a@partner.example");
        assertThat(r.receivedAt()).isEqualTo(AuditFixtures.RECEIVED);
        assertThat(r.envelopeRecipients()).containsExactly("b@bank.example", "c@other.example", "d@slow.example");
        assertThat(r.delivered()).extracting(Receipt.Delivered::recipient)
                .containsExactly("b@bank.example", "c@other.example");

        Receipt.Delivered b = r.delivered().get(0);
        assertThat(b).isEqualTo(new Receipt.Delivered("b@bank.example", AuditFixtures.RECEIVED.plusSeconds(1), 1,
                new Receipt.NextHop("mx1.bank.example", "203.0.113.5", 25, 10),
                new Receipt.Tls("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, "x25519", "VERIFIED",
                        "verified for *.bank.example (issuer CN=Bank Issuing CA,O=Bank)",
                        new Receipt.Certificate("CN=*.bank.example", "CN=Bank Issuing CA,O=Bank",
                                List.of("*.bank.example", "bank.example"), Instant.parse("2026-01-01T00:00:00Z"),
                                Instant.parse("2027-02-01T00:00:00Z"), "b1".repeat(32), "b2".repeat(32))),
                null, new Receipt.Policy("secure", "static", "static entry \"bank.example\"", "enforce", List.of()),
                List.of("250 2.0.0 Ok: queued as 4XyZ")));

        Receipt.Delivered c = r.delivered().get(1);
        assertThat(c.attempt()).isEqualTo(2);
        assertThat(c.nextHop()).isEqualTo(new Receipt.NextHop("mx.other.example", "198.51.100.20", 2525, -1));
        assertThat(c.tls().protocol()).isEqualTo("TLSv1.2");
        assertThat(c.tls().verification()).isEqualTo("FAILED");
        assertThat(c.tls().certificate().sha256()).isEqualTo("c1".repeat(32));
        assertThat(c.policy().mode()).isEqualTo("testing");
        assertThat(c.policy().wouldFail()).hasSize(2);
        assertThat(c.reply()).containsExactly("250-2.0.0 accepted", "250 2.0.0 id 77");

        // The JSON: times as ISO-8601 strings, field names as documented in docs/audit.md.
        var tree = Json.mapper().readTree(Json.mapper().writeValueAsBytes(r));
        assertThat(tree.get("issuedAt").asText()).isEqualTo("2026-12-02T11:00:00Z");
        assertThat(tree.get("delivered").get(0).get("tls").get("certificate").get("spkiSha256").asText())
                .isEqualTo("b2".repeat(32));
        assertThat(tree.get("delivered").get(0).get("nextHop").get("mxPreference").asInt()).isEqualTo(10);
    }

    @Test void clearTextAndLocalDeliveriesSayWhyThereWasNoTls() {
        Receipt r = Receipt.of(AuditFixtures.clearTextAndLocal(), ISSUED).orElseThrow();
        assertThat(r.messageId()).isNull();
        assertThat(r.delivered().get(0).nextHop().host()).isEqualTo("local");
        assertThat(r.delivered().get(0).tls()).isNull();
        assertThat(r.delivered().get(0).noTlsReason()).isEqualTo("local delivery");
        assertThat(r.delivered().get(1).tls()).isNull();
        assertThat(r.delivered().get(1).noTlsReason()).isEqualTo("STARTTLS not offered");
        assertThat(r.delivered().get(1).policy().level()).isEqualTo("may");
    }

    @Test void noReceiptWithoutADeliveredRecipient() {
        assertThat(Receipt.of(AuditFixtures.bounced(), ISSUED)).isEmpty();
        assertThat(Receipt.of(AuditFixtures.dsn(), ISSUED)).isEmpty();
    }

    @Test void aChangedByteInPayloadOrSignatureFails() throws Exception {
        ReceiptKey key = ReceiptKey.loadOrCreate(dir);
        String jws = Receipts.sign(receipt(), key);
        int payloadStart = jws.indexOf('.') + 1;
        int signatureStart = jws.lastIndexOf('.') + 1;
        // a character in the middle of each part (the last one of the signature may only carry padding bits)
        for (int i : new int[] {payloadStart + 10, (payloadStart + signatureStart) / 2, signatureStart + 20}) {
            String changed = jws.substring(0, i) + (jws.charAt(i) == 'A' ? 'B' : 'A') + jws.substring(i + 1);
            assertThat(Receipts.verify(changed, key.publicKey())).as("changed at %d", i)
                    .isEqualTo(new Receipts.Invalid("the signature does not verify with key " + key.kid()
                            + ": the receipt was changed after it was signed"));
        }
    }

    @Test void anotherKeyFailsNamingBothKeys() throws Exception {
        ReceiptKey signer = ReceiptKey.loadOrCreate(dir.resolve("a"));
        ReceiptKey other = ReceiptKey.loadOrCreate(dir.resolve("b"));
        assertThat(other.kid()).isNotEqualTo(signer.kid());
        assertThat(Receipts.verify(Receipts.sign(receipt(), signer), other.publicKey()))
                .isEqualTo(new Receipts.Invalid("signed with key " + signer.kid() + ", not with the key given ("
                        + other.kid() + ")"));
    }

    @Test void textThatIsNoReceiptIsBadInput() throws Exception {
        ReceiptKey key = ReceiptKey.loadOrCreate(dir);
        assertThatThrownBy(() -> Receipts.verify("hello", key.publicKey())).isInstanceOf(ReceiptException.class)
                .hasMessageStartingWith("not a receipt (a JWS in compact serialization)");
        // a JWS of another kind (typ JWT)
        String jwt = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2ln";
        assertThatThrownBy(() -> Receipts.verify(jwt, key.publicKey())).isInstanceOf(ReceiptException.class)
                .hasMessage("not a Postern receipt: its JWS typ is JWT, expected postern-receipt+json");
    }

    @Test void keyIsMadeOnceWithMode0600AndReused() throws Exception {
        ReceiptKey first = ReceiptKey.loadOrCreate(dir);
        Path file = dir.resolve("receipts/signing-key.pem");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(DurableFiles.PRIVATE_FILE);
        assertThat(Files.getPosixFilePermissions(file.getParent())).isEqualTo(DurableFiles.PRIVATE_DIRECTORY);
        assertThat(Files.readString(file)).startsWith("-----BEGIN PRIVATE KEY-----");
        byte[] before = Files.readAllBytes(file);
        ReceiptKey second = ReceiptKey.loadOrCreate(dir);
        assertThat(second.kid()).isEqualTo(first.kid());
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
        assertThat(ReceiptKey.existingPublicKey(dir)).isEqualTo(first.publicKey());
        // the public forms hold no private part
        assertThat(first.publicPem()).startsWith("-----BEGIN PUBLIC KEY-----").doesNotContain("PRIVATE");
        assertThat(first.jwk().isPrivate()).isFalse();
        assertThat(first.jwk().toJSONString()).doesNotContain("\"d\"");
    }

    @Test void aCertificateOrPublicKeyPemOfTheSigningKeyVerifies() throws Exception {
        // the administrator gave the receipt key a certificate: its key is the gateway's receipt key
        KeyMaterial material = Certificates.selfSigned(List.of("receipts.gw1.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(30));
        Files.createDirectories(dir.resolve("receipts"));
        Pem.writePrivateKey(material.key(), dir.resolve(ReceiptKey.FILE));
        Path cert = dir.resolve("receipt-cert.pem");
        Pem.write(material, cert, dir.resolve("unused.key"));
        Path pub = dir.resolve("receipt-key.pub.pem");
        ReceiptKey key = ReceiptKey.loadOrCreate(dir);
        Files.writeString(pub, key.publicPem());
        String jws = Receipts.sign(receipt(), key);
        for (Path p : List.of(cert, pub)) {
            assertThat(Receipts.verify(jws, ReceiptKey.p256(Pem.readPublicKey(p), p.toString())))
                    .as(p.toString()).isInstanceOf(Receipts.Valid.class);
        }
        // an RSA certificate cannot be a receipt key
        KeyMaterial rsa = Certificates.selfSigned(List.of("x.example"), Certificates.KeyType.RSA_2048, Duration.ofDays(1));
        Path rsaCert = dir.resolve("rsa.pem");
        Pem.write(rsa, rsaCert, dir.resolve("rsa.key"));
        assertThatThrownBy(() -> ReceiptKey.p256(Pem.readPublicKey(rsaCert), rsaCert.toString()))
                .isInstanceOf(ReceiptException.class).hasMessage(rsaCert + ": expected an EC P-256 public key or "
                        + "certificate (receipts are signed with ES256), got RSA");
    }
}
