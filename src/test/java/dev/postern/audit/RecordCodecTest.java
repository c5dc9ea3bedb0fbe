package dev.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every record type survives the spill's JSON line unchanged: every field, nulls, nested records, nanoseconds. */
class RecordCodecTest {
    private static final Instant AT = Instant.parse("2026-03-01T12:34:56.123456789Z");

    static TlsSessionRecord session() {
        var leaf = new CertificateSummary("CN=mx1.bank.example", List.of("mx1.bank.example", "192.0.2.5"),
                "CN=Bank CA,O=Bank", AT.minusSeconds(86_400), AT.plusSeconds(86_400 * 90), "EC", 256, "a".repeat(64),
                "b".repeat(64), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        var ca = new CertificateSummary("CN=Bank CA,O=Bank", null, "CN=Root", AT, AT, "RSA", 4096, "c".repeat(64),
                "d".repeat(64), null);
        return new TlsSessionRecord(AuditIds.next(), AT, TlsSessionRecord.Direction.OUT, "mx1.bank.example:25",
                "192.0.2.5", 25, "mx1.bank.example ESMTP", null, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, "x25519",
                false, "mx1.bank.example", List.of(leaf, ca), TlsSessionRecord.Verification.VERIFIED,
                "verified for mx1.bank.example (issuer CN=Bank CA)", "not-asked", null, null,
                new TlsSessionRecord.PolicyApplied("secure", "static", "static entry \"bank.example\"", "testing",
                        List.of("dane: no TLSA records", "ünïcode \"quoted\"\nline")));
    }

    @Test void everyRecordTypeRoundTrips() throws IOException {
        List<AuditRecord> records = List.of(
                session(),
                new TlsSessionRecord("id2", AT, TlsSessionRecord.Direction.IN, "mx 0.0.0.0:25", "2001:db8::7", 40000,
                        "client.example", "ptr.example", null, null, -1, null, false, null, null, null, null, "none",
                        TlsSessionRecord.NoTls.NOT_OFFERED, null, null),
                new MessageRecord(AT, "Q1", null, "", List.of("a@example.com", "b@xn--bcher-kva.example"), 4096,
                        "id2", "192.0.2.7", "client.example", "alice", null, true, "smtp"),
                new DeliveryRecord(AT, "Q1", "a@example.com", 2, "mx1.example", 10, "192.0.2.1", 25, "id1", null,
                        List.of("250 2.0.0 Ok", "250-multi"), DeliveryRecord.Outcome.DELIVERED, "2.0.0", "ok", null,
                        List.of("mx1.example[192.0.2.1]:25 ok")),
                new AdminRecord(AT, "root", AdminRecord.Action.POLICY_OVERRIDE_SET, "bank.example", "until ..."));
        for (AuditRecord r : records) {
            byte[] line = RecordCodec.encode(r);
            assertThat(new String(line, StandardCharsets.UTF_8)).doesNotContain("\n");
            assertThat(RecordCodec.decode(line, line.length)).isEqualTo(r);
        }
    }

    @Test void badLinesAreIoExceptionsNotCrashes() {
        for (String bad : List.of("", "not json", "[]", "{\"type\":\"admin\"}", "{\"type\":\"x\",\"record\":{}}",
                "{\"type\":\"message\",\"record\":{\"recipients\":null}}",
                "{\"type\":\"admin\",\"record\":{\"at\":\"yesterday\"}}", "{\"type\":\"admin\",\"record\":{\"at\":")) {
            byte[] b = bad.getBytes(StandardCharsets.UTF_8);
            assertThatThrownBy(() -> RecordCodec.decode(b, b.length)).as(bad).isInstanceOf(IOException.class);
        }
    }
}
