package dev.postern.testkit;

import dev.postern.audit.CertificateSummary;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.audit.TlsSessionRecord.Verification;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

/** Audit records with every field set, for store, report and CLI tests. Times are whole milliseconds, as stored. */
public final class AuditSamples {
    private AuditSamples() { }

    public static final Instant T0 = Instant.parse("2026-05-01T10:00:00.123Z");

    public static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A leaf certificate summary (with its PEM) for {@code host}, valid until {@code notAfter}. */
    public static CertificateSummary leaf(String host, Instant notAfter) {
        return new CertificateSummary("CN=" + host, List.of(host, "*." + host), "CN=Test CA,O=Example",
                notAfter.minusSeconds(90L * 86400), notAfter, "EC", 256, sha256("cert " + host + notAfter),
                sha256("spki " + host), "-----BEGIN CERTIFICATE-----\nMIIB" + host + "\n-----END CERTIFICATE-----\n");
    }

    /** An intermediate: no PEM kept. */
    public static CertificateSummary intermediate() {
        return new CertificateSummary("CN=Test CA,O=Example", List.of(), "CN=Test Root", T0.minusSeconds(86400),
                T0.plusSeconds(3650L * 86400), "RSA", 4096, sha256("ca"), sha256("ca spki"), null);
    }

    /** An outbound session over TLS 1.3 to {@code host}, verified or not, under {@code level} (enforce). */
    public static TlsSessionRecord out(String id, Instant at, String host, boolean verified, String level) {
        return new TlsSessionRecord(id, at, Direction.OUT, host + ":25", "192.0.2.10", 25, host, null, "TLSv1.3",
                "TLS_AES_256_GCM_SHA384", 256, "x25519", false, host, List.of(leaf(host, T0.plusSeconds(86400 * 60)),
                intermediate()), verified ? Verification.VERIFIED : Verification.FAILED,
                verified ? "verified for " + host : "unable to find valid certification path", "not-asked", null,
                null, new PolicyApplied(level, "static", "static entry \"" + host + "\"", "enforce", List.of()));
    }

    /** An outbound session that stayed in clear text (STARTTLS not offered) under "may". */
    public static TlsSessionRecord outClear(String id, Instant at, String host) {
        return new TlsSessionRecord(id, at, Direction.OUT, host + ":25", "192.0.2.20", 25, host, null, null, null,
                -1, null, false, null, List.of(), Verification.NOT_CHECKED, null, "not-asked", NoTls.NOT_OFFERED,
                "250 no STARTTLS", new PolicyApplied("may", "default", null, "enforce", List.of()));
    }

    /** An inbound session from {@code ehlo}, over TLS 1.2 or in clear text. */
    public static TlsSessionRecord in(String id, Instant at, String ehlo, boolean tls, boolean verified) {
        return new TlsSessionRecord(id, at, Direction.IN, "mx 0.0.0.0:25", "198.51.100.7", 40000, ehlo,
                "rdns." + ehlo, tls ? "TLSv1.2" : null, tls ? "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" : null,
                tls ? 128 : -1, tls ? "secp256r1" : null, false, tls ? "mx.gw.example" : null,
                verified ? List.of(leaf(ehlo, T0.plusSeconds(86400 * 10))) : List.of(),
                verified ? Verification.VERIFIED : Verification.NOT_CHECKED, verified ? "client certificate verified"
                : null, verified ? "verified" : "none", tls ? null : NoTls.NOT_OFFERED, null,
                new PolicyApplied("may", "listener", null, "enforce", List.of()));
    }

    public static MessageRecord message(String queueId, Instant at, String sender, List<String> recipients,
                                        String sessionId) {
        return new MessageRecord(at, queueId, queueId + "@client.example", sender, recipients, 1234, sessionId,
                "198.51.100.7", "client.example", null, null, false, "smtp");
    }

    public static DeliveryRecord delivered(String queueId, Instant at, String recipient, String sessionId) {
        return new DeliveryRecord(at, queueId, recipient, 1, "mx." + domainOf(recipient), 10, "192.0.2.10", 25,
                sessionId, sessionId == null ? "STARTTLS not offered" : null, List.of("250 2.0.0 Ok"),
                DeliveryRecord.Outcome.DELIVERED, "2.0.0", "250 2.0.0 Ok", null, List.of());
    }

    public static DeliveryRecord failed(String queueId, Instant at, String recipient, int attempt,
                                        DeliveryRecord.Outcome outcome, String status, String noTlsReason) {
        return new DeliveryRecord(at, queueId, recipient, attempt, "mx." + domainOf(recipient), 10, "192.0.2.10", 25,
                null, noTlsReason, List.of(), outcome, status, "TLS required by policy", null,
                List.of("mx." + domainOf(recipient) + "[192.0.2.10]:25 " + noTlsReason));
    }

    private static String domainOf(String address) {
        return address.substring(address.lastIndexOf('@') + 1);
    }
}
