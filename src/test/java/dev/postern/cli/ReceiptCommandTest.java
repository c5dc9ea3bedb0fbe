package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.JWK;
import dev.postern.files.DurableFiles;
import dev.postern.receipts.ReceiptKey;
import dev.postern.testkit.AuditFixtures;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern receipt ID / key / verify}, end to end on files (no store needed but for ID). */
class ReceiptCommandTest {
    @TempDir Path dir;

    private Path data() { return dir.resolve("data"); }

    /** A receipt of the three-recipient fixture signed with the key of the gateway whose data directory is given. */
    private Path receipt(Path data, String name) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, ReceiptCommand.signed(Optional.of(AuditFixtures.threeRecipients()), "Q1A2B3",
                ReceiptKey.loadOrCreate(data), Instant.parse("2026-12-02T11:00:00Z")));
        return f;
    }

    private static void oneLine(Cli.Result r, int exit, String line) {
        assertThat(r.exit()).as(r.toString()).isEqualTo(exit);
        assertThat(r.errLines()).as(r.toString()).containsExactly(line);
        assertThat(r.out()).isEmpty();
    }

    @Test void keyPrintsPemAndAJwkWhoseThumbprintIsTheKid() throws Exception {
        Cli.Result r = Cli.run("receipt", "key", "--data", data().toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        List<String> lines = r.outLines();
        String kid = ReceiptKey.loadOrCreate(data()).kid();
        assertThat(lines.getFirst()).isEqualTo("Receipt verification key (ES256, EC P-256), kid " + kid
                + " (RFC 7638 thumbprint)");
        JWK jwk = JWK.parse(lines.getLast());
        assertThat(jwk.computeThumbprint().toString()).isEqualTo(kid).isEqualTo(jwk.getKeyID());
        assertThat(jwk.isPrivate()).isFalse();
        Path pem = dir.resolve("given.pem");
        Files.writeString(pem, String.join("\n", lines.subList(1, lines.size() - 1)) + "\n");
        assertThat(Pem.readPublicKey(pem)).isEqualTo(jwk.toECKey().toECPublicKey());
        assertThat(r.out()).doesNotContain("PRIVATE");
        assertThat(Files.getPosixFilePermissions(data().resolve(ReceiptKey.FILE))).isEqualTo(DurableFiles.PRIVATE_FILE);
        // reused: the same key the second time
        assertThat(Cli.run("receipt", "key", "--data", data().toString()).out()).isEqualTo(r.out());
    }

    @Test void verifyPrintsTheVerifiedFactsWithTheLocalKey() throws Exception {
        Path f = receipt(data(), "r.jws");
        Cli.Result r = Cli.run("receipt", "verify", f.toString(), "--data", data().toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        String kid = ReceiptKey.loadOrCreate(data()).kid();
        assertThat(r.out()).startsWith("Valid receipt, signed by gateway gw1.example with key " + kid
                + " (ES256) at 2026-12-02 11:00:00Z\n"
                + "Message: queue id Q1A2B3, Message-ID <abc.123@partner.example>, from <a@partner.example>, received "
                + "at 2026-12-02 10:31:05Z\n"
                + "Envelope recipients: <b@bank.example>, <c@other.example>, <d@slow.example>\n"
                + "Delivered <b@bank.example> at 2026-12-02 10:31:06Z (attempt 1)\n"
                + "  next hop:     mx1.bank.example [203.0.113.5]:25 (MX 10)\n"
                + "  TLS:          TLS 1.3 TLS_AES_256_GCM_SHA384 (256-bit), x25519\n"
                + "  verification: VERIFIED: verified for *.bank.example (issuer CN=Bank Issuing CA,O=Bank)\n"
                + "  certificate:  CN=*.bank.example, issuer CN=Bank Issuing CA,O=Bank, valid until 2027-02-01 00:00:00Z\n"
                + "    SHA-256:      " + "b1".repeat(32) + "\n"
                + "    SPKI SHA-256: " + "b2".repeat(32) + "\n"
                + "  policy:       secure (static: static entry \"bank.example\"), enforce\n"
                + "  reply:        250 2.0.0 Ok: queued as 4XyZ\n"
                + "Delivered <c@other.example> at 2026-12-02 10:36:06Z (attempt 2)\n");
        assertThat(r.out()).contains("  policy:       verify (static: static entry \".other.example\"), testing; "
                + "enforcing would have failed: chain: self-signed certificate not trusted; min_cipher_bits 256: got 128");
        assertThat(r.out()).doesNotContain("Delivered <d@slow.example>");
    }

    @Test void verifyWithAnotherGatewaysKeyFailsWithExitCode1() throws Exception {
        Path f = receipt(data(), "r.jws");
        String signer = ReceiptKey.loadOrCreate(data()).kid();
        Path other = dir.resolve("other");
        ReceiptKey otherKey = ReceiptKey.loadOrCreate(other);
        Path otherPem = dir.resolve("other.pem");
        Files.writeString(otherPem, otherKey.publicPem());
        String expected = "postern: " + f + ": invalid receipt: signed with key " + signer + ", not with the key "
                + "given (" + otherKey.kid() + ")";
        oneLine(Cli.run("receipt", "verify", f.toString(), "--key", otherPem.toString()), 1, expected);
        oneLine(Cli.run("receipt", "verify", f.toString(), "--data", other.toString()), 1, expected);
    }

    @Test void verifyWithACertificateOfTheKey() throws Exception {
        KeyMaterial material = Certificates.selfSigned(List.of("receipts.gw1.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(30));
        Files.createDirectories(data().resolve("receipts"));
        Pem.writePrivateKey(material.key(), data().resolve(ReceiptKey.FILE));
        Path cert = dir.resolve("cert.pem");
        Pem.write(material, cert, dir.resolve("cert.key"));
        Path f = receipt(data(), "r.jws");
        Cli.Result r = Cli.run("receipt", "verify", f.toString(), "--key", cert.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith("Valid receipt, signed by gateway gw1.example");
    }

    @Test void aChangedReceiptFailsWithExitCode1() throws Exception {
        Path f = receipt(data(), "r.jws");
        String jws = Files.readString(f);
        int i = jws.indexOf('.') + 40;
        Files.writeString(f, jws.substring(0, i) + (jws.charAt(i) == 'x' ? 'y' : 'x') + jws.substring(i + 1));
        oneLine(Cli.run("receipt", "verify", f.toString(), "--data", data().toString()), 1, "postern: " + f
                + ": invalid receipt: the signature does not verify with key " + ReceiptKey.loadOrCreate(data()).kid()
                + ": the receipt was changed after it was signed");
    }

    @Test void badInputIsOneLineWithExitCode2() throws Exception {
        Path garbage = dir.resolve("garbage");
        Files.writeString(garbage, "hello\n");
        ReceiptKey.loadOrCreate(data());
        Cli.Result r = Cli.run("receipt", "verify", garbage.toString(), "--data", data().toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("postern: " + garbage + ": not a receipt (a JWS in compact serialization): ");
        oneLine(Cli.run("receipt", "--data", data().toString()), 2,
                "postern: receipt: expected a queue id (postern receipt ID), \"key\" or \"verify FILE\"");
        Path binary = dir.resolve("binary");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0});
        oneLine(Cli.run("receipt", "verify", binary.toString(), "--data", data().toString()), 2,
                "postern: " + binary + ": not a receipt (it holds non-ASCII bytes)");
        Path missing = dir.resolve("missing");
        oneLine(Cli.run("receipt", "verify", missing.toString(), "--data", data().toString()), 2,
                "postern: " + missing + ": cannot read the receipt (no such file)");
        Path f = receipt(data(), "r.jws");
        oneLine(Cli.run("receipt", "verify", f.toString(), "--key", missing.toString()), 2,
                "postern: --key: " + missing + ": no such file");
        oneLine(Cli.run("receipt", "verify", f.toString(), "--key", garbage.toString()), 2,
                "postern: --key: " + garbage + ": no PUBLIC KEY or CERTIFICATE block found");
        Path empty = dir.resolve("empty-data");
        oneLine(Cli.run("receipt", "verify", f.toString(), "--data", empty.toString()), 2, "postern: no receipt key in "
                + empty.resolve("receipts") + " (this gateway has signed no receipt yet); give the signer's public "
                + "key with --key");
    }

    @Test void receiptOfAMessageNeedsADeliveredRecipient() throws Exception {
        ReceiptKey key = ReceiptKey.loadOrCreate(data());
        assertThatThrownBy(() -> ReceiptCommand.signed(Optional.of(AuditFixtures.bounced()), "Q3", key, Instant.now()))
                .isInstanceOf(CliException.class).hasMessage("postern: no recipient of Q3 was delivered (yet)");
        assertThatThrownBy(() -> ReceiptCommand.signed(Optional.empty(), "Q9", key, Instant.now()))
                .isInstanceOf(CliException.class).hasMessage("postern: no message Q9 on record");
        oneLine(Cli.run("receipt", "Q1A2B3", "--data", data().toString()), 1,
                "postern: no message Q1A2B3 on record");
    }
}
